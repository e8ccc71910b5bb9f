//! Verification before a login or an operation counts: the one-time codes
//! of login protection and the step-up that sensitive operations need.
//!
//! - **Login protection** (`warden_core::protection_trigger` decides when):
//!   a protected web/IM login is verified by TOTP when the account has it,
//!   else by a six-digit code emailed to the account's security email
//!   ([`mail`]; single use, [`book::CODE_TTL_SECS`], [`book::CODE_ATTEMPTS`]
//!   wrong tries, under the account's code throttle); a mail client that
//!   cannot prompt is refused with `verification_required` and the user
//!   confirms the sign-in once ([`signins`]).
//! - **Operation protection**: changing the password, turning 2FA on,
//!   changing the security email or phone and creating authorization codes
//!   need a step-up of the web session at most
//!   `AccountPolicy::step_up_minutes` old ([`Service::require_step_up`]).
//!   The step-up is the strongest method the account has
//!   ([`StepUpMethod`]): TOTP, else an emailed code, else the password
//!   typed again — the last only proves the person at the keyboard knows
//!   the password, which still stops a stolen session token; an account
//!   with TOTP or a security email cannot fall back to it. A login whose
//!   second factor (TOTP or emailed code) passed is a step-up of its new
//!   session; so is a password-only login of an account with neither.
//!
//! Every step is a security event with actor, time and address
//! (`verification_code_sent`, `verification_code_failed`,
//! `sign_in_confirmed`, `step_up_passed`, `step_up_refused`), published as
//! `DomainEvent::AccountChanged`.

pub mod book;
pub mod mail;
pub mod signins;

use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use warden_auth::codes;
use warden_core::{Account, SecurityEventKind as Kind, Timestamp};
use warden_store::{AccountWrite, Backend};

use crate::code_throttle::CODE_FAILURES;
use crate::credentials::{event, Actor};
use crate::error::ServiceError;
use crate::events::DomainEvent;
use crate::second_factor::CodeCheck;
use crate::Service;

pub use book::{CodeAnswer, CodePurpose, StepUp};

/// How verification codes and step-ups work, and what they keep between
/// requests (in memory, bounded: [`book`]).
#[derive(Clone, Default)]
pub struct StepUpSettings {
    /// The email channel verification codes go out on; `None`:
    /// `notify.user_email_channel`. Without an email channel, protected
    /// web logins without TOTP are refused like mail clients.
    pub email_channel: Option<String>,
    state: Arc<State>,
}

impl std::fmt::Debug for StepUpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUpSettings")
            .field("email_channel", &self.email_channel)
            .field("codes", &self.state.codes.lock().len())
            .field("step_ups", &self.state.step_ups.lock().len())
            .finish()
    }
}

#[derive(Default)]
struct State {
    codes: Mutex<book::CodeBook>,
    step_ups: Mutex<book::StepUps>,
}

impl StepUpSettings {
    /// Drops expired codes and old step-ups (the upkeep task calls it).
    pub fn expire(&self, now: Timestamp) {
        self.state.codes.lock().expire(now);
        self.state.step_ups.lock().expire(now);
    }

    /// Whether an emailed code of `purpose` waits for the token digest `key`.
    pub fn code_waiting(&self, key: &[u8; 32], purpose: CodePurpose, now: Timestamp) -> bool {
        self.state.codes.lock().waiting(key, purpose, now)
    }
}

/// How an account steps up: the strongest method it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepUpMethod {
    /// The password typed again (no TOTP, no reachable security email).
    Password,
    /// A code emailed to the security email.
    Email,
    /// A current TOTP code (a recovery code is for logging in only).
    Totp,
}

impl StepUpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            StepUpMethod::Password => "password",
            StepUpMethod::Email => "email",
            StepUpMethod::Totp => "totp",
        }
    }
}

/// A step-up begun: how to answer it.
#[derive(Debug, Clone)]
pub struct StepUpStarted {
    pub method: StepUpMethod,
    /// Where the code went (masked), for `email`.
    pub sent_to: Option<String>,
    /// Until when the code works, for `email`.
    pub code_expires: Option<Timestamp>,
}

/// A step-up passed.
#[derive(Debug, Clone, Copy)]
pub struct SteppedUp {
    pub method: StepUpMethod,
    pub at: Timestamp,
    /// Sensitive operations need no other step-up until then (`at` plus
    /// the account's `step_up_minutes`).
    pub fresh_until: Timestamp,
}

/// `a***@example.com`: enough for the user to recognise, not to learn.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// A random six-digit code.
pub(crate) fn six_digits() -> String {
    use rand::Rng;
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

impl<S: Backend> Service<S> {
    /// The email channel verification codes go out on, when one is set up.
    pub(crate) fn code_channel(&self) -> Option<&crate::notify::Channel> {
        let name = self
            .stepup
            .email_channel
            .as_deref()
            .or(self.notify.user_email_channel.as_deref())?;
        self.notify.channel(name).filter(|c| c.smtp.is_some())
    }

    /// The account's security email, when a code can reach it.
    pub(crate) fn code_address<'a>(&self, account: &'a Account) -> Option<&'a str> {
        self.code_channel()?;
        account.email.as_deref().filter(|e| e.contains('@'))
    }

    /// The step-up `account` is asked for: the strongest it has.
    pub async fn step_up_method(&self, account: &Account) -> Result<StepUpMethod, ServiceError> {
        let totp = self
            .store
            .totp(&account.user)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some());
        Ok(if totp {
            StepUpMethod::Totp
        } else if self.code_address(account).is_some() {
            StepUpMethod::Email
        } else {
            StepUpMethod::Password
        })
    }

    /// Remembers that the session `token` of `user` stepped up now.
    pub(crate) fn note_step_up(
        &self,
        token: &str,
        user: &str,
        method: StepUpMethod,
        at: Timestamp,
    ) {
        self.stepup.state.step_ups.lock().note(
            codes::token_digest(token),
            user,
            StepUp { at, method },
        );
    }

    /// Emails a new code for the token digest `key` to `account`'s security
    /// email: a security event, then the mail (the SMTP relay's refusal is
    /// [`ServiceError::Unavailable`]). At most
    /// [`book::SENDS_PER_WINDOW`] per account per window (else
    /// [`ServiceError::Throttled`]).
    pub(crate) async fn send_code(
        &self,
        account: &Account,
        key: [u8; 32],
        purpose: CodePurpose,
        about: mail::CodeContext<'_>,
    ) -> Result<String, ServiceError> {
        let now = about.at;
        let (Some(channel), Some(to)) = (self.code_channel(), self.code_address(account)) else {
            return Err(ServiceError::Internal(
                "no email channel or security email for a code".into(),
            ));
        };
        if !self.stepup.state.codes.lock().may_send(&account.user, now) {
            return Err(ServiceError::Throttled {
                message: format!(
                    "{} codes were emailed to this account in the last {} minutes; wait before asking another",
                    book::SENDS_PER_WINDOW,
                    book::SEND_WINDOW_SECS / 60
                ),
                retry_after_secs: book::SEND_WINDOW_SECS as u64,
            });
        }
        let code = six_digits();
        let lang = account.lang.unwrap_or(self.notify.default_lang);
        let message = mail::message(to, &code, purpose, lang, &about);
        mail::send(channel, &message, now).await.map_err(|e| {
            ServiceError::Unavailable(format!("the verification code could not be emailed: {e}"))
        })?;
        self.stepup
            .state
            .codes
            .lock()
            .hold(key, &account.user, purpose, &code, now);
        let masked = mask_email(to);
        self.commit(AccountWrite {
            events: vec![event(
                about.ip,
                now,
                &account.user,
                Kind::VerificationCodeSent,
                Actor::System,
                format!("{} code emailed to {masked}", purpose.as_str()),
            )],
            ..AccountWrite::default()
        })
        .await?;
        Ok(masked)
    }

    /// Checks an emailed code under the account's code throttle: while its
    /// codes are locked every code is refused unchecked
    /// ([`ServiceError::Throttled`]); a wrong one counts toward the lock
    /// and is a `verification_code_failed` event.
    pub(crate) async fn check_emailed_code(
        &self,
        user: &str,
        key: &[u8; 32],
        purpose: CodePurpose,
        code: &str,
        ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<bool, ServiceError> {
        if let Some(until) = self.short.code_locked(user, now).await {
            self.events.publish(DomainEvent::CodeThrottled { user, ip });
            let secs = (until.secs() - now.secs()).max(1) as u64;
            return Err(ServiceError::Throttled {
                message: format!(
                    "too many wrong codes: this account's codes are refused for {} more minutes",
                    secs.div_ceil(60)
                ),
                retry_after_secs: secs,
            });
        }
        let answer = self
            .stepup
            .state
            .codes
            .lock()
            .answer(key, user, purpose, code, now);
        if answer == CodeAnswer::Passed {
            self.short.code_passed(user).await;
            return Ok(true);
        }
        self.code_failure(
            user,
            purpose.as_str(),
            ip,
            now,
            match answer {
                CodeAnswer::Wrong { left } => format!(
                    "wrong emailed {} code ({left} tries left)",
                    purpose.as_str()
                ),
                _ => format!(
                    "no live emailed {} code (expired, used or void)",
                    purpose.as_str()
                ),
            },
        )
        .await?;
        Ok(false)
    }

    /// A wrong code or password for a verification: counted under the
    /// account's code throttle and stored as a security event (with the
    /// lock, when this one locked the account's codes).
    async fn code_failure(
        &self,
        user: &str,
        what: &str,
        ip: Option<IpAddr>,
        now: Timestamp,
        detail: String,
    ) -> Result<(), ServiceError> {
        let failure = self.short.code_failed(user, now).await;
        let mut events = vec![event(
            ip,
            now,
            user,
            Kind::VerificationCodeFailed,
            Actor::User,
            format!(
                "{detail} ({} of {CODE_FAILURES})",
                failure.failures.min(CODE_FAILURES)
            ),
        )];
        if let Some(until) = failure.locked_until {
            events.push(event(
                ip,
                now,
                user,
                Kind::TwoFactorCodesLocked,
                Actor::System,
                format!(
                    "{CODE_FAILURES} wrong codes ({what}): codes refused for {} minutes",
                    (until.secs() - now.secs() + 59) / 60
                ),
            ));
        }
        self.commit(AccountWrite {
            events,
            ..AccountWrite::default()
        })
        .await
    }

    /// The live session of `token`, or [`ServiceError::Forbidden`]
    /// (`session_required`).
    async fn session_of(
        &self,
        token: Option<&str>,
    ) -> Result<warden_core::WebSession, ServiceError> {
        let missing = || ServiceError::Forbidden {
            code: "session_required",
            message: "a live web session is required: send its token in X-Warden-Session".into(),
        };
        match token {
            None => Err(missing()),
            Some(t) => self.live_session(t).await?.ok_or_else(missing),
        }
    }

    /// Begins a step-up of the session `token`: says how to answer it, and
    /// for `email` sends the code.
    pub async fn start_step_up(
        &self,
        token: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Result<StepUpStarted, ServiceError> {
        let session = self.session_of(token).await?;
        let account = self.account(&session.user).await?;
        let method = self.step_up_method(&account).await?;
        let now = self.now();
        if method != StepUpMethod::Email {
            return Ok(StepUpStarted {
                method,
                sent_to: None,
                code_expires: None,
            });
        }
        let key = codes::token_digest(token.unwrap_or_default());
        let utc_offset = self.engine.lock().policy().learning.utc_offset_minutes;
        let sent_to = self
            .send_code(
                &account,
                key,
                CodePurpose::StepUp,
                mail::CodeContext {
                    user: &account.user,
                    ip,
                    place: None,
                    at: now,
                    utc_offset,
                },
            )
            .await?;
        Ok(StepUpStarted {
            method,
            sent_to: Some(sent_to),
            code_expires: Some(now.plus_secs(book::CODE_TTL_SECS)),
        })
    }

    /// Answers a step-up of the session `token` with `secret` (a current
    /// TOTP code, the emailed code, or the password, by the account's
    /// method). Wrong: [`ServiceError::Refused`] (`invalid_code`,
    /// `wrong_password`), counted under the account's code throttle.
    pub async fn step_up(
        &self,
        token: Option<&str>,
        secret: String,
        ip: Option<IpAddr>,
    ) -> Result<SteppedUp, ServiceError> {
        let session = self.session_of(token).await?;
        let token = token.unwrap_or_default();
        let account = self.account(&session.user).await?;
        let user = account.user.to_string();
        let method = self.step_up_method(&account).await?;
        let now = self.now();
        let passed = match method {
            StepUpMethod::Totp => matches!(
                self.check_code(
                    &user,
                    &secret,
                    crate::second_factor::CodePurpose::Manage,
                    ip,
                    now
                )
                .await?,
                CodeCheck::Passed { .. }
            ),
            StepUpMethod::Email => {
                self.check_emailed_code(
                    &user,
                    &codes::token_digest(token),
                    CodePurpose::StepUp,
                    &secret,
                    ip,
                    now,
                )
                .await?
            }
            StepUpMethod::Password => {
                if let Some(until) = self.short.code_locked(&user, now).await {
                    let secs = (until.secs() - now.secs()).max(1) as u64;
                    return Err(ServiceError::Throttled {
                        message: format!(
                            "too many wrong codes: this account's codes are refused for {} more minutes",
                            secs.div_ceil(60)
                        ),
                        retry_after_secs: secs,
                    });
                }
                let ok = self
                    .credentials
                    .verify(account.password_hash.clone(), secret)
                    .await?;
                if ok {
                    self.short.code_passed(&user).await;
                } else {
                    self.code_failure(
                        &user,
                        "step-up password",
                        ip,
                        now,
                        "wrong password for a step-up".into(),
                    )
                    .await?;
                }
                ok
            }
        };
        if !passed {
            return Err(match method {
                StepUpMethod::Password => {
                    ServiceError::refused("wrong_password", "the password is wrong")
                }
                StepUpMethod::Email => ServiceError::refused(
                    "invalid_code",
                    "the code is wrong, expired or used up; ask for a new one",
                ),
                StepUpMethod::Totp => {
                    ServiceError::refused("invalid_code", "the code is wrong or was already used")
                }
            });
        }
        self.note_step_up(token, &user, method, now);
        let minutes = self.account_policy(&user).step_up_minutes;
        self.commit(AccountWrite {
            events: vec![event(
                ip,
                now,
                &user,
                Kind::StepUpPassed,
                Actor::User,
                format!("by {}", method.as_str()),
            )],
            ..AccountWrite::default()
        })
        .await?;
        Ok(SteppedUp {
            method,
            at: now,
            fresh_until: now.plus_secs(i64::from(minutes) * 60),
        })
    }

    /// Operation protection: `operation` on `user`'s account goes on only
    /// if the account's policy needs no step-up (`step_up_minutes` 0) or
    /// the session `token` (of that user) stepped up at most that many
    /// minutes ago. Otherwise [`ServiceError::Forbidden`]
    /// (`step_up_required`), stored as a `step_up_refused` event; nothing
    /// else changes.
    pub async fn require_step_up(
        &self,
        user: &str,
        token: Option<&str>,
        operation: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), ServiceError> {
        let minutes = self.account_policy(user).step_up_minutes;
        if minutes == 0 {
            return Ok(());
        }
        let now = self.now();
        let session = match token {
            Some(t) => self.live_session(t).await?.filter(|s| &*s.user == user),
            None => None,
        };
        let last = session.as_ref().and_then(|_| {
            self.stepup
                .state
                .step_ups
                .lock()
                .last(&codes::token_digest(token.unwrap_or_default()), user)
        });
        let fresh = last.is_some_and(|s| now.secs() - s.at.secs() <= i64::from(minutes) * 60);
        if fresh {
            return Ok(());
        }
        let why = match (session.is_some(), last) {
            (false, _) => "no live session of this user in X-Warden-Session".to_string(),
            (true, None) => "the session has not stepped up".to_string(),
            (true, Some(s)) => format!(
                "the session's last step-up is {} minutes old",
                (now.secs() - s.at.secs()) / 60
            ),
        };
        self.commit(AccountWrite {
            events: vec![event(
                ip,
                now,
                user,
                Kind::StepUpRefused,
                Actor::User,
                format!("{operation}: {why}"),
            )],
            ..AccountWrite::default()
        })
        .await?;
        Err(ServiceError::Forbidden {
            code: "step_up_required",
            message: format!(
                "{operation} needs a fresh verification (step-up within the last {minutes} minutes): {why}; verify with POST /v1/auth/step-up/start and POST /v1/auth/step-up, then send the session in X-Warden-Session"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_masked_and_codes_are_six_digits() {
        assert_eq!(mask_email("ann.lee@example.com"), "a***@example.com");
        assert_eq!(mask_email("nobody"), "***");
        for _ in 0..100 {
            let c = six_digits();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn methods_rank_totp_over_email_over_password() {
        assert!(StepUpMethod::Totp > StepUpMethod::Email);
        assert!(StepUpMethod::Email > StepUpMethod::Password);
    }
}
