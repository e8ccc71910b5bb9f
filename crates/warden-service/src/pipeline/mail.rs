//! Mail servers' own integration points: Dovecot's auth policy (a check
//! before the password, one after it, and a report) and the Postfix policy
//! (mail submitted by an authenticated account).
//!
//! Dovecot asks twice per login with the same attributes; the two checks
//! are told apart by the session key the adapter derives. Each phase checks
//! what fits it:
//!
//! - **before** the password: what needs no password (`verify::precheck`:
//!   plaintext when TLS is required, access rules, a lockout, a risk
//!   denial that does not rest on the user's profile — the answer must not
//!   tell a client who exists), and a *tarpit* for a client repeating a
//!   wrong password that already failed from its address (by Dovecot's
//!   `pwhash`);
//! - **after** it (only someone who knew the password sees this): the same
//!   refusals with the user's profile (a risk denial), a locked or disabled
//!   account, and with login protection on, a login the engine challenges.
//!
//! When Warden also verifies the password (`passdb=warden`, mode A), the
//! credential check ([`Service::verify`]) has judged and recorded the login:
//! the after-check lets it through and a report is recorded only when this
//! policy refused the login before the password (the credential check never
//! ran then).

use std::net::IpAddr;
use std::time::Instant;

use warden_core::counters::PasswordFingerprint;
use warden_core::hash::stable_hash;
use warden_core::sending::RateCheck;
use warden_core::verify::{named_place, precheck, Detail};
use warden_core::{
    AccountStatus, FailureReason, LoginAttempt, Name, Outcome, Protocol, Verdict, VerifyReason,
};
use warden_store::Backend;

use super::{account_refusal, Recording};
use crate::error::ServiceError;
use crate::events::{DomainEvent, EntryPoint, MailCheckResult, SendingVerdict};
use crate::shortlived::MailSession;
use crate::Service;

/// One `allow` check of Dovecot's policy.
#[derive(Debug, Clone)]
pub struct MailCheck {
    /// Ties a login's checks and report together.
    pub key: String,
    pub attempt: LoginAttempt,
    /// Dovecot's `pwhash` as a fingerprint.
    pub fingerprint: Option<PasswordFingerprint>,
    pub tls: bool,
    /// Warden verifies the password too (mode A).
    pub warden_verifies: bool,
}

/// Which of the two checks it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailPhase {
    BeforePassword,
    AfterPassword,
}

/// What to tell Dovecot.
#[derive(Debug, Clone, PartialEq)]
pub enum MailAnswer {
    Go,
    /// Hold the client back this many seconds, then go on.
    Tarpit(u32),
    Refuse(Verdict),
}

/// The answer to one check.
#[derive(Debug, Clone)]
pub struct MailChecked {
    pub phase: MailPhase,
    pub answer: MailAnswer,
    pub utc_offset: i32,
}

/// Dovecot's report of how a login ended.
#[derive(Debug, Clone)]
pub struct MailReport {
    pub key: String,
    pub attempt: LoginAttempt,
    pub fingerprint: Option<PasswordFingerprint>,
    pub success: bool,
    /// The policy (Warden) refused the login.
    pub policy_rejected: bool,
    /// Warden verifies the password too (mode A).
    pub warden_verifies: bool,
}

/// One request of Postfix's policy delegation, from an authenticated sender.
#[derive(Debug, Clone, Copy)]
pub struct SendCheck<'a> {
    /// `sasl_username`.
    pub user: &'a str,
    /// `client_address`, when it is one.
    pub ip: Option<IpAddr>,
    /// At the RCPT stage (one more recipient).
    pub recipient: bool,
    /// Postfix's `instance` (one per mail transaction) and `recipient`,
    /// when given: a recipient is counted once per transaction, however
    /// often Postfix asks about it.
    pub transaction: Option<(&'a str, &'a str)>,
}

/// What to do with the mail.
#[derive(Debug, Clone, PartialEq)]
pub enum SendAction {
    /// Not Warden's business, or nothing against it.
    Dunno,
    /// The account is locked or disabled. The admin's note on why is not
    /// here: it is for admins, never for whoever asks this port.
    AccountRefused { user: Name, status: AccountStatus },
    /// The risk engine refuses this address for the account.
    RiskRefused {
        user: Name,
        ip: IpAddr,
        reason: VerifyReason,
    },
    /// Far above the account's usual sending rate.
    RateDeferred {
        user: Name,
        recent: u32,
        usual: f64,
        window_minutes: i64,
    },
    /// Warden could not decide (its storage failed).
    Undecided { user: Name },
}

/// The login protection refusal, naming the place when the engine knows it.
fn verification_required(protocol: Protocol, a: &warden_core::Assessment) -> Verdict {
    Verdict {
        reason: Some(VerifyReason::VerificationRequired),
        detail: Detail {
            protocol: Some(protocol),
            place: named_place(a),
            ..Detail::default()
        },
    }
}

impl<S: Backend> Service<S> {
    /// The account's status, `None` without an account. A store failure is
    /// logged and read as no account: the other checks still apply, where
    /// an error would make Dovecot let the login through unchecked.
    async fn account_status(&self, user: &str) -> Option<AccountStatus> {
        match self.store.account(user).await {
            Ok(a) => a.map(|a| a.status),
            Err(e) => {
                tracing::error!(user, error = %e, "dovecot policy: cannot read the account; checking without it");
                None
            }
        }
    }

    /// The device check after Dovecot verified the password itself
    /// ([`Service::device_gate`], the credential's age unknown); a store
    /// failure lets the login through, as Dovecot would.
    async fn mail_device_gate(
        &self,
        attempt: &warden_core::LoginAttempt,
        info: &warden_core::IpInfo,
    ) -> Option<warden_core::Verdict> {
        match self.device_gate(attempt, info, None).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(user = %attempt.user, error = %e, "dovecot policy: cannot check the device; checking without it");
                None
            }
        }
    }

    /// One `allow` check of Dovecot's auth policy.
    pub async fn mail_check(&self, c: MailCheck) -> Result<MailChecked, ServiceError> {
        let started = Instant::now();
        let MailCheck {
            key,
            attempt,
            fingerprint,
            tls,
            warden_verifies,
        } = c;
        let now = attempt.ts;
        let (assessed, signals) = self.assess_with_signals(&attempt).await;
        let repeat = match fingerprint {
            Some(f) => {
                let attacks = self.attacks();
                self.short
                    .is_repeat(&attempt.user, attempt.ip, f, now, &attacks)
                    .await
            }
            None => false,
        };
        let repeats = signals.repeated_failures;
        let protocol = attempt.protocol;
        let require_tls =
            self.credentials.settings.require_tls || self.policy_requires_tls(&attempt, tls);
        // Before the password, refuse only on what does not rest on the
        // user's profile: Dovecot words the refusal to the client.
        let early = precheck(
            protocol,
            tls,
            require_tls,
            attempt.ip,
            assessed.before_password(),
        );
        let super::Assessed {
            info,
            assessment,
            utc_offset,
            ..
        } = assessed;
        let phase = if self.short.mail_session_open(&key, now).await {
            MailPhase::AfterPassword
        } else {
            MailPhase::BeforePassword
        };
        if phase == MailPhase::BeforePassword {
            self.events.publish(DomainEvent::LoginDecided {
                entry: EntryPoint::DovecotPolicy,
                attempt: &attempt,
                assessment: &assessment,
                elapsed: started.elapsed(),
            });
        }
        let refusal = match phase {
            // The credential check judged it with the same rules.
            MailPhase::AfterPassword if warden_verifies => None,
            MailPhase::AfterPassword => {
                let refusal = match precheck(protocol, tls, require_tls, attempt.ip, &assessment) {
                    Some(v) => Some(v),
                    None => match self.account_status(&attempt.user).await {
                        Some(status) if status != AccountStatus::Active => account_refusal(status),
                        _ => warden_core::protection_trigger(
                            self.account_policy(&attempt.user).login_protection,
                            &assessment,
                        )
                        .map(|_| verification_required(protocol, &assessment)),
                    },
                };
                match refusal {
                    Some(v) => Some(v),
                    None => self.mail_device_gate(&attempt, &info).await,
                }
            }
            MailPhase::BeforePassword => early,
        };
        let answer = match refusal {
            Some(v) => MailAnswer::Refuse(v),
            None if phase == MailPhase::BeforePassword && repeat => {
                let s = &self.settings;
                let secs = s
                    .tarpit_secs
                    .saturating_mul(repeats.saturating_add(1))
                    .min(s.tarpit_max_secs);
                if secs > 0 {
                    MailAnswer::Tarpit(secs)
                } else {
                    MailAnswer::Go
                }
            }
            None => MailAnswer::Go,
        };
        let refused = match &answer {
            MailAnswer::Refuse(v) => v.reason,
            _ => None,
        };
        let result = match (&answer, phase) {
            (MailAnswer::Refuse(_), _) => MailCheckResult::Reject,
            (MailAnswer::Tarpit(_), _) => MailCheckResult::Tarpit,
            (MailAnswer::Go, MailPhase::BeforePassword) => MailCheckResult::Allow,
            (MailAnswer::Go, MailPhase::AfterPassword) => MailCheckResult::AllowAfterAuth,
        };
        self.events.publish(DomainEvent::MailChecked {
            attempt: &attempt,
            result,
            refusal: refused,
        });
        match phase {
            MailPhase::BeforePassword => {
                self.short
                    .open_mail_session(
                        key,
                        MailSession {
                            created: now,
                            attempt,
                            info,
                            assessment,
                            refused,
                        },
                    )
                    .await
            }
            MailPhase::AfterPassword => {
                if let Some(r) = refused {
                    self.short.note_mail_refusal(&key, r).await;
                }
            }
        }
        Ok(MailChecked {
            phase,
            answer,
            utc_offset,
        })
    }

    /// Dovecot's report: records the outcome with the `pwhash` fingerprint,
    /// so the same wrong password again from the same address (a phone with
    /// a stale password) counts once toward lockout and spraying, while
    /// different wrong passwords (guesses) count each.
    pub async fn mail_report(&self, r: MailReport) -> Result<(), ServiceError> {
        let started = Instant::now();
        let session = self.short.take_mail_session(&r.key, r.attempt.ts).await;
        if r.warden_verifies && !r.policy_rejected {
            // The credential check recorded it.
            self.events.publish(DomainEvent::ReportLeftToVerify {
                attempt: &r.attempt,
            });
            return Ok(());
        }
        let (attempt, info, assessment, refused) = match session {
            Some(s) => (s.attempt, s.info, s.assessment, s.refused),
            None => {
                let a = self.assess(&r.attempt).await;
                (r.attempt, a.info, a.assessment, None)
            }
        };
        let success = r.success && !r.policy_rejected;
        let rec = if r.policy_rejected {
            match refused {
                Some(reason) => Recording::refused(reason, true),
                None => Recording::reported(Outcome::Failure(FailureReason::Blocked)),
            }
        } else if success {
            Recording {
                alert: assessment.alert,
                ..Recording::reported(Outcome::Success)
            }
        } else {
            Recording {
                fingerprint: r.fingerprint,
                ..Recording::reported(Outcome::Failure(FailureReason::WrongPassword))
            }
        };
        self.record(
            EntryPoint::DovecotPolicy,
            &attempt,
            &info,
            &assessment,
            rec,
            started,
        )
        .await
    }

    /// Dovecot's report of a failed login under a name no account can have
    /// (over-long, control characters): nothing to record in a history,
    /// but the attempt still counts as a failure from `ip` toward spraying
    /// and waves, under a stand-in for the name (its hash), so hostile
    /// names are no way past the counters.
    pub async fn count_unnamed_failure(&self, name: &str, ip: IpAddr) {
        let stand_in = format!("#invalid-{:016x}", stable_hash(&[name.as_bytes()]));
        let attacks = self.attacks();
        self.short
            .count_outcome(
                &stand_in,
                warden_core::normalize_ip(ip),
                Outcome::Failure(FailureReason::WrongPassword),
                None,
                self.now(),
                &attacks,
            )
            .await;
    }

    /// The Postfix policy's decision for mail from an authenticated sender.
    pub async fn send_check(&self, c: SendCheck<'_>) -> SendAction {
        let Ok(user) = warden_core::normalize_user(c.user) else {
            return SendAction::Dunno;
        };
        let now = self.now();
        let action = match self.store.account(&user).await {
            Err(e) => {
                tracing::error!(user = %user, error = %e, "postfix policy: cannot read the account");
                SendAction::Undecided { user }
            }
            Ok(Some(a)) if a.status != AccountStatus::Active => SendAction::AccountRefused {
                user,
                status: a.status,
            },
            Ok(_) => self.send_risk(user, c, now).await,
        };
        let verdict = match &action {
            SendAction::Dunno => None,
            SendAction::AccountRefused { .. } => Some(SendingVerdict::AccountRefused),
            SendAction::RiskRefused { .. } => Some(SendingVerdict::RiskRefused),
            SendAction::RateDeferred { .. } => Some(SendingVerdict::RateDeferred),
            SendAction::Undecided { .. } => Some(SendingVerdict::Undecided),
        };
        if let Some(verdict) = verdict {
            self.events.publish(DomainEvent::SendingHeld {
                user: c.user,
                ip: c.ip,
                verdict,
            });
        }
        action
    }

    async fn send_risk(
        &self,
        user: Name,
        c: SendCheck<'_>,
        now: warden_core::Timestamp,
    ) -> SendAction {
        if let Some(ip) = c.ip {
            if let Ok(attempt) = LoginAttempt::new(now, &user, ip, Protocol::Smtp, None, None) {
                let assessment = self.assess(&attempt).await.assessment;
                if let Some(v) = precheck(Protocol::Smtp, true, false, ip, &assessment) {
                    return SendAction::RiskRefused {
                        user,
                        ip: attempt.ip,
                        reason: v.reason.unwrap_or(VerifyReason::DenyRisk),
                    };
                }
            }
        }
        if c.recipient {
            let l = &self.rates;
            // Postfix's requests carry no credential: a recipient counts
            // against the account only when Warden saw the account's SMTP
            // login from that address (`ShortLived::count_recipient`).
            let once = c
                .transaction
                .map(|(instance, rcpt)| stable_hash(&[instance.as_bytes(), rcpt.as_bytes()]));
            if let RateCheck::Deferred { recent, usual, .. } =
                self.short.count_recipient(&user, c.ip, once, now, l).await
            {
                return SendAction::RateDeferred {
                    user,
                    recent,
                    usual,
                    window_minutes: l.window_secs / 60,
                };
            }
        }
        SendAction::Dunno
    }
}
