//! Which policy refused a user's logins, for `warden diagnose`: the
//! history keeps that a login was an access denial, not which rule; the
//! user's current effective policy is checked again against each refused
//! login (its address, the place the history recorded, protocol and time)
//! and the refusals are grouped by their text.

use warden_core::scoped::{check, PolicyRefusal};
use warden_core::{Lang, ReasonCode, Timestamp, VerifyReason};
use warden_store::{Backend, LoginEvent};

use crate::Service;

/// Refusals of one policy rule among a user's logins.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyExplained {
    pub refusal: PolicyRefusal,
    /// The refusal's text, English and Chinese.
    pub text: (String, String),
    pub count: u32,
    pub first: Timestamp,
    pub last: Timestamp,
}

impl<S: Backend> Service<S> {
    /// The access denials among `events` that `user`'s current policies
    /// explain, grouped by rule and text, most recent first.
    pub fn explain_policy_refusals(
        &self,
        user: &str,
        events: &[LoginEvent],
    ) -> Vec<PolicyExplained> {
        let policy = self.account_policy(user);
        if policy.access.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<PolicyExplained> = Vec::new();
        for e in events {
            let denied = e.auth_reason == Some(VerifyReason::AccessDenied)
                || (e.auth_reason.is_none()
                    && !e.outcome.is_success()
                    && e.reasons.contains(&ReasonCode::AccessDenied));
            if !denied {
                continue;
            }
            let info = self.recorded_place(e);
            let Some(r) = check(&policy, &info, e.protocol, None, e.ts)
                .into_iter()
                .find(|r| r.enforced())
            else {
                continue;
            };
            let text = (r.text(Lang::En), r.text(Lang::Zh));
            match out.iter_mut().find(|x| x.text == text) {
                Some(x) => {
                    x.count += 1;
                    x.first = x.first.min(e.ts);
                    x.last = x.last.max(e.ts);
                }
                None => out.push(PolicyExplained {
                    refusal: r,
                    text,
                    count: 1,
                    first: e.ts,
                    last: e.ts,
                }),
            }
        }
        out.sort_by_key(|x| std::cmp::Reverse(x.last));
        out
    }
}
