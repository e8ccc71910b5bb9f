//! Sign-ins login protection refused, as their user sees them: a mail
//! client that cannot prompt for a code is refused with
//! `verification_required`; the user, signed in to webmail, lists those
//! refusals and confirms one. The confirmation teaches the profile that
//! login's place, network, device and client as trusted
//! ([`Service::confirm_login`]), so that client logs in from there from
//! then on. (The alert's "yes, it was me" does the same through
//! `answers`.)

use std::net::IpAddr;

use warden_core::{Outcome, SecurityEventKind as Kind, VerifyReason};
use warden_store::{AccountWrite, Backend, HistoryQuery, LoginEvent};

use crate::confirm::LoginToConfirm;
use crate::credentials::{event, Actor};
use crate::error::ServiceError;
use crate::Service;

/// How far back refused sign-ins are offered for confirmation.
pub const REFUSED_DAYS: i64 = 7;
/// The newest history rows read for them.
pub const HISTORY_SCAN: u32 = 500;
/// The most refused sign-ins listed (one per address, protocol and client).
pub const REFUSED_MAX: usize = 20;

/// Whether `e` is a sign-in login protection refused.
fn refused_for_verification(e: &LoginEvent) -> bool {
    matches!(e.outcome, Outcome::Failure(_))
        && e.auth_reason == Some(VerifyReason::VerificationRequired)
}

impl<S: Backend> Service<S> {
    /// `user`'s sign-ins refused with `verification_required` in the last
    /// [`REFUSED_DAYS`] days, newest first, one per address, protocol,
    /// device and client (the newest), at most [`REFUSED_MAX`]; a client
    /// that has logged in from that address since is no longer listed.
    pub async fn refused_sign_ins(&self, user: &str) -> Result<Vec<LoginEvent>, ServiceError> {
        let since = self.now().secs() - REFUSED_DAYS * 86_400;
        let rows = self
            .store
            .history(user, HistoryQuery::latest(HISTORY_SCAN))
            .await?;
        let mut out: Vec<LoginEvent> = Vec::new();
        // Clients that logged in since (newest first): their refusals are over.
        let mut since_in: Vec<LoginEvent> = Vec::new();
        for e in rows {
            if e.ts.secs() < since {
                break;
            }
            let same = |o: &LoginEvent| {
                o.ip == e.ip
                    && o.protocol == e.protocol
                    && o.device == e.device
                    && o.user_agent == e.user_agent
            };
            if e.outcome.is_success() {
                if !since_in.iter().any(same) && since_in.len() < HISTORY_SCAN as usize {
                    since_in.push(e);
                }
                continue;
            }
            if !refused_for_verification(&e) || since_in.iter().any(same) {
                continue;
            }
            if !out.iter().any(same) {
                out.push(e);
                if out.len() == REFUSED_MAX {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Confirms `user`'s refused sign-in `id` (any sign-in refused with
    /// `verification_required` in the last [`REFUSED_DAYS`] days, among
    /// the newest [`HISTORY_SCAN`] rows) as their own, by `actor` (the user,
    /// or an admin for them) from `ip`: the
    /// profile learns it as trusted (durable before this returns) and a
    /// `sign_in_confirmed` event is stored. `NotFound` for any other id.
    pub async fn confirm_sign_in(
        &self,
        user: &str,
        id: i64,
        actor: Actor,
        ip: Option<IpAddr>,
    ) -> Result<LoginEvent, ServiceError> {
        let since = self.now().secs() - REFUSED_DAYS * 86_400;
        let e = self
            .store
            .history(user, HistoryQuery::latest(HISTORY_SCAN))
            .await?
            .into_iter()
            .find(|e| e.id == Some(id) && e.ts.secs() >= since && refused_for_verification(e))
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "no refused sign-in {id} of this user in the last {REFUSED_DAYS} days"
                ))
            })?;
        self.confirm_login(&LoginToConfirm {
            user,
            ip: e.ip,
            protocol: e.protocol,
            ts: e.ts,
            device: e.device.as_deref(),
            user_agent: e.user_agent.as_deref(),
        })
        .await?;
        let country = e.country.map(|c| c.as_str().to_string());
        let place = [e.city.as_deref(), country.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        self.commit(AccountWrite {
            events: vec![event(
                ip,
                self.now(),
                user,
                Kind::SignInConfirmed,
                actor,
                warden_core::text::one_line(
                    &format!(
                        "{} from {} ({}) at {}",
                        e.protocol.as_str(),
                        if place.is_empty() {
                            "an unknown place"
                        } else {
                            &place
                        },
                        e.ip,
                        warden_core::reason::local_time(e.ts, 0)
                    ),
                    200,
                ),
            )],
            ..AccountWrite::default()
        })
        .await?;
        Ok(e)
    }
}
