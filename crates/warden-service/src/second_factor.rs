//! Second-factor codes: every path that checks a TOTP or recovery code —
//! the web login's second step, confirming an enrolment, switching TOTP off,
//! new recovery codes — goes through [`Service::check_code`], which
//! throttles and locks per account ([`crate::code_throttle`]) and records
//! every wrong code as a security event (`two_factor_code_failed`, then
//! `two_factor_codes_locked`). A recovery code is a hashed one-time code: it
//! is checked without opening the sealed TOTP secret, so it still works when
//! that secret cannot be opened.

use std::net::IpAddr;

use warden_auth::codes;
use warden_core::{SecurityEventKind as Kind, Timestamp, TotpEnrolment};
use warden_store::{AccountWrite, Backend};

use crate::code_throttle::CODE_FAILURES;
use crate::credentials::{event, Actor};
use crate::error::ServiceError;
use crate::events::DomainEvent;
use crate::Service;

/// What a code is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// A login's second step: a current TOTP code or an unused recovery
    /// code (marked used).
    Login,
    /// Confirming a pending enrolment with its first TOTP code (the caller
    /// records the step with the confirmation).
    Confirm,
    /// A change to the account's 2FA (switching it off, new recovery
    /// codes): a current TOTP code.
    Manage,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Login => "login",
            CodePurpose::Confirm => "enrolment confirmation",
            CodePurpose::Manage => "2FA change",
        }
    }
}

/// The answer to a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Accepted; for a TOTP code, its time step.
    Passed { step: Option<u64> },
    /// Wrong, replayed or already used (counted and recorded).
    Wrong,
    /// No enrolment fits the purpose (no confirmed TOTP for a login or a
    /// change, no pending one for a confirmation): nothing was checked.
    NotEnrolled,
}

impl<S: Backend> Service<S> {
    /// The TOTP generator of an enrolment (its secret unsealed).
    pub fn totp_of(&self, enrolment: &TotpEnrolment) -> Result<warden_auth::Totp, ServiceError> {
        let bytes = warden_auth::open(
            &self.credentials.key,
            &enrolment.sealed_secret,
            enrolment.user.as_bytes(),
        )
        .map_err(|e| {
            ServiceError::Internal(format!(
                "TOTP secret of {} cannot be opened: {e}",
                enrolment.user
            ))
        })?;
        warden_auth::TotpSecret::from_bytes(&bytes)
            .map(warden_auth::Totp::new)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Checks a second-factor code of `user` for `purpose` at `now`, under
    /// the per-account throttle: while the account's codes are locked every
    /// code is refused unchecked with [`ServiceError::Throttled`]; a wrong
    /// code is counted and stored as a security event.
    pub async fn check_code(
        &self,
        user: &str,
        code: &str,
        purpose: CodePurpose,
        ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<CodeCheck, ServiceError> {
        if let Some(until) = self.short.code_locked(user, now).await {
            self.events.publish(DomainEvent::CodeThrottled { user, ip });
            return Err(throttled(now, until));
        }
        let enrolment = self.store.totp(user).await?.filter(|t| match purpose {
            CodePurpose::Confirm => t.confirmed_at.is_none(),
            _ => t.confirmed_at.is_some(),
        });
        let Some(enrolment) = enrolment else {
            return Ok(CodeCheck::NotEnrolled);
        };
        // A recovery code needs no TOTP secret: a secret that cannot be
        // opened (a lost key) must not take the way back in with it.
        let totp = match self.totp_of(&enrolment) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(user, error = %e, "checking only recovery codes");
                None
            }
        };
        let last = match purpose {
            CodePurpose::Confirm => None,
            _ => enrolment.last_step,
        };
        let mut passed = None;
        if let Some(step) = totp.and_then(|t| t.verify(code, now, last)) {
            let fresh = match purpose {
                CodePurpose::Confirm => true,
                _ => self.store.use_totp_step(user, step).await?,
            };
            if fresh {
                passed = Some(CodeCheck::Passed { step: Some(step) });
            }
        } else if purpose == CodePurpose::Login {
            if let Some(recovery) = codes::normalize_recovery_code(code) {
                let ev = event(
                    ip,
                    now,
                    user,
                    Kind::RecoveryCodeUsed,
                    Actor::User,
                    "recovery code used to log in",
                );
                let digest = codes::recovery_digest(&recovery);
                if self
                    .store
                    .use_recovery_code(user, &digest, now, &ev)
                    .await?
                {
                    self.publish_durable(DomainEvent::AccountChanged { event: &ev })
                        .await?;
                    passed = Some(CodeCheck::Passed { step: None });
                }
            }
        }
        if let Some(p) = passed {
            self.short.code_passed(user).await;
            return Ok(p);
        }
        let failure = self.short.code_failed(user, now).await;
        let mut events = vec![event(
            ip,
            now,
            user,
            Kind::TwoFactorCodeFailed,
            Actor::User,
            match failure.locked_until {
                None => format!(
                    "wrong code for {} ({} of {CODE_FAILURES})",
                    purpose.as_str(),
                    failure.failures
                ),
                Some(_) => format!(
                    "wrong code for {} ({CODE_FAILURES} of {CODE_FAILURES})",
                    purpose.as_str()
                ),
            },
        )];
        if let Some(until) = failure.locked_until {
            events.push(event(
                ip,
                now,
                user,
                Kind::TwoFactorCodesLocked,
                Actor::System,
                format!(
                    "{CODE_FAILURES} wrong codes: codes refused for {} minutes",
                    (until.secs() - now.secs() + 59) / 60
                ),
            ));
        }
        self.commit(AccountWrite {
            events,
            ..AccountWrite::default()
        })
        .await?;
        Ok(CodeCheck::Wrong)
    }
}

/// The refusal of a code while the account's codes are locked.
fn throttled(now: Timestamp, until: Timestamp) -> ServiceError {
    let secs = (until.secs() - now.secs()).max(1) as u64;
    ServiceError::Throttled {
        message: format!(
            "too many wrong codes: this account's codes are refused for {} more minutes",
            secs.div_ceil(60)
        ),
        retry_after_secs: secs,
    }
}
