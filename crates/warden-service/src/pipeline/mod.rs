//! The login pipeline: the steps every entry point shares.
//!
//! - [`Service::attempt`] validates and normalises the wire fields;
//! - [`Service::assess`] looks the address up and scores the attempt
//!   (the engine's lock is held for the lookup only);
//! - [`Service::record`] feeds the outcome to the engine and waits until the
//!   history row is committed, then publishes [`DomainEvent::LoginRecorded`]
//!   (the profile's snapshot follows with the next flush, see
//!   [`crate::snapshots`]).
//!
//! The entries built on them: [`evaluate`] (evaluate and report), [`verify`]
//! (credential checks for mail clients, and the web/IM login), and [`mail`]
//! (Dovecot's policy checks and reports, the Postfix policy).

pub mod evaluate;
pub mod mail;
pub mod verify;

use std::net::IpAddr;
use std::time::Instant;

use warden_core::answered::refuse_blocked;
use warden_core::counters::{PasswordFingerprint, Signals};
use warden_core::policy::Attacks;
use warden_core::verify::{Detail, Verdict};
use warden_core::{
    AccountStatus, Assessment, Decision, IpInfo, LoginAttempt, Outcome, Protocol, Timestamp, Trust,
    VerifyReason,
};
use warden_store::{Backend, LoginEvent};

use crate::error::{shown, ServiceError};
use crate::events::{DomainEvent, EntryPoint};
use crate::Service;

/// Attempts may be stamped at most this far in the future (clock skew).
pub const MAX_FUTURE_SECS: i64 = 300;

/// Attempts may be stamped at most this far in the past: a year (366 days).
/// Older logins teach nothing — at the default 60-day half-life a login's
/// weight falls below `forget_below` (0.1) after 200 days, and history is
/// kept 180 days by default — while a time far back (the year 0, which
/// reads as 1970 in a profile) corrupts the profile's hours, sessions and
/// counters' windows.
pub const MAX_PAST_SECS: i64 = 366 * 86_400;

/// The fingerprint of a wrong password as a mail server gives it (Dovecot's
/// `pwhash`: hex, usually 3 or 4 digits): the number itself when it fits,
/// else a hash of the text. `None` for an empty one.
pub fn password_fingerprint(text: &str) -> Option<PasswordFingerprint> {
    let h = text.trim();
    if h.is_empty() {
        return None;
    }
    if h.len() <= 16 {
        if let Ok(v) = u64::from_str_radix(h, 16) {
            return Some(v);
        }
    }
    Some(warden_core::hash::stable_hash(&[h.as_bytes()]))
}

/// The refusal for an account an admin locked or disabled.
pub(crate) fn account_refusal(status: AccountStatus) -> Option<Verdict> {
    let reason = match status {
        AccountStatus::Active => return None,
        AccountStatus::Locked => VerifyReason::AccountLocked,
        AccountStatus::Disabled => VerifyReason::AccountDisabled,
    };
    Some(Verdict {
        reason: Some(reason),
        detail: Detail::default(),
    })
}

/// How every entry point treats a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSettings {
    /// Tarpit for a client repeating a wrong password already refused from
    /// its address: this many seconds per repeat...
    pub tarpit_secs: u32,
    /// ...up to this many (0: no tarpit).
    pub tarpit_max_secs: u32,
}

impl Default for LoginSettings {
    fn default() -> Self {
        LoginSettings {
            tarpit_secs: 2,
            tarpit_max_secs: 15,
        }
    }
}

/// The wire fields of a login attempt, as an adapter read them.
#[derive(Debug, Clone, Copy)]
pub struct AttemptFields<'a> {
    pub user: &'a str,
    pub ip: &'a str,
    pub protocol: Protocol,
    /// When it happened; `None`: now.
    pub ts: Option<Timestamp>,
    pub device: Option<&'a str>,
    /// A browser user agent or an IMAP `ID` list.
    pub user_agent: Option<&'a str>,
}

/// What is known of an attempt before its outcome.
#[derive(Debug, Clone)]
pub struct Assessed {
    pub info: IpInfo,
    pub assessment: Assessment,
    /// The organisation's UTC offset, for times in texts.
    pub utc_offset: i32,
    /// The assessment without the user's profile, when it differs in
    /// what it may refuse (see [`Assessed::before_password`]).
    pub anonymous: Option<Assessment>,
}

impl Assessed {
    /// What may be refused before the password is known: the assessment
    /// as if the user had no history ([`Engine::evaluate_anonymous`]), so
    /// the answer to an unauthenticated client is the same for a user who
    /// exists and one who does not. A profile only adds risk, so the
    /// anonymous assessment is needed only when the full one denies.
    ///
    /// [`Engine::evaluate_anonymous`]: warden_core::Engine::evaluate_anonymous
    pub fn before_password(&self) -> &Assessment {
        self.anonymous.as_ref().unwrap_or(&self.assessment)
    }
}

/// What an attempt teaches the engine and how the history keeps it.
#[derive(Debug, Clone, Copy)]
pub struct Recording {
    /// Fed to the engine (a success teaches the profile); `None` teaches
    /// nothing.
    pub counted: Option<Outcome>,
    /// The outcome the history shows.
    pub history: Outcome,
    /// Why Warden refused the login, when it did.
    pub refusal: Option<VerifyReason>,
    /// The wrong password's fingerprint, so repeats of one stale password
    /// count once.
    pub fingerprint: Option<PasswordFingerprint>,
    /// The user and the admin should be told (a success with an alert).
    pub alert: bool,
    /// A second factor was asked for and passed (a web login's TOTP or
    /// emailed code): the success is the user's own and teaches the
    /// profile whatever its assessment (see [`warden_core::Trust`]).
    pub challenge_passed: bool,
}

impl Recording {
    /// An outcome as the mail server reported it.
    pub fn reported(outcome: Outcome) -> Self {
        Recording {
            counted: Some(outcome),
            history: outcome,
            refusal: None,
            fingerprint: None,
            alert: false,
            challenge_passed: false,
        }
    }

    /// Warden refused the login for `reason`.
    pub fn refused(reason: VerifyReason, account_known: bool) -> Self {
        Recording {
            counted: reason.counted_as(account_known),
            history: Outcome::Failure(reason.history_reason(account_known)),
            refusal: Some(reason),
            fingerprint: None,
            alert: false,
            challenge_passed: false,
        }
    }
}

impl<S: Backend> Service<S> {
    /// Validates the wire fields of an attempt into a core attempt.
    pub fn attempt(&self, f: AttemptFields<'_>) -> Result<LoginAttempt, ServiceError> {
        let ip: IpAddr = f.ip.trim().parse().map_err(|_| {
            ServiceError::invalid(format!(
                "ip: {} is not an IPv4 or IPv6 address",
                shown(f.ip)
            ))
        })?;
        let now = self.now();
        let ts = f.ts.unwrap_or(now);
        if ts.since(now) > MAX_FUTURE_SECS {
            return Err(ServiceError::invalid(format!(
                "ts: {} is more than {MAX_FUTURE_SECS} s in the future",
                ts.secs()
            )));
        }
        if now.since(ts) > MAX_PAST_SECS {
            return Err(ServiceError::invalid(format!(
                "ts: {} is more than {} days in the past (accepted: the last {} days up to {MAX_FUTURE_SECS} s ahead)",
                ts.secs(),
                MAX_PAST_SECS / 86_400,
                MAX_PAST_SECS / 86_400,
            )));
        }
        LoginAttempt::new(ts, f.user, ip, f.protocol, f.device, f.user_agent)
            .map_err(|e| ServiceError::invalid(e.to_string()))
    }

    /// The attack thresholds of the policy.
    pub fn attacks(&self) -> Attacks {
        self.engine.lock().policy().attacks
    }

    /// Looks the address up, reads the attack counters and scores the
    /// attempt. Changes nothing.
    pub async fn assess(&self, attempt: &LoginAttempt) -> Assessed {
        self.assess_with_signals(attempt).await.0
    }

    /// [`Service::assess`], with what the attack counters said.
    pub async fn assess_with_signals(&self, attempt: &LoginAttempt) -> (Assessed, Signals) {
        let info = self.intel.lookup(attempt.ip);
        let attacks = self.attacks();
        let signals = self
            .short
            .signals(&attempt.user, attempt.ip, attempt.ts, &attacks)
            .await;
        let blocked = self.blocked_source(attempt).await;
        let by_policy = self.policy_refusal(attempt, &info).await;
        let engine = self.engine.lock();
        let mut assessment = engine.evaluate_with(attempt, &info, &signals);
        let mut anonymous = (assessment.decision == Decision::Deny
            && engine.profile(&attempt.user).is_some())
        .then(|| engine.evaluate_anonymous(attempt, &info, &signals));
        if let Some(net) = blocked {
            // A source the user disowned: refused for this account before
            // anything else, at every entry point.
            refuse_blocked(&mut assessment, net);
            if let Some(a) = anonymous.as_mut() {
                refuse_blocked(a, net);
            }
        } else if let Some(r) = by_policy {
            // An enforced access policy of the user's organisation, group
            // or own: refused the same way, with the policy's text.
            if let Some(a) = anonymous.as_mut() {
                warden_core::scoped::refuse_by_policy(a, r.clone());
            }
            warden_core::scoped::refuse_by_policy(&mut assessment, r);
        }
        let assessed = Assessed {
            info,
            assessment,
            utc_offset: engine.policy().learning.utc_offset_minutes,
            anonymous,
        };
        (assessed, signals)
    }

    /// The network of the attempt's address that its user disowned, if any.
    /// A store failure while loading the blocks is logged and read as no
    /// block (the login's recording needs the store and fails anyway).
    async fn blocked_source(&self, attempt: &LoginAttempt) -> Option<ipnet::IpNet> {
        match self.source_block(&attempt.user, attempt.ip).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "the disowned sources could not be loaded");
                None
            }
        }
    }

    /// The first step of every entry: scores the attempt and publishes the
    /// decision. Returns when it started, for the recording's timing.
    pub(crate) async fn score(
        &self,
        entry: EntryPoint,
        attempt: &LoginAttempt,
    ) -> (Assessed, Instant) {
        let started = Instant::now();
        let assessed = self.assess(attempt).await;
        self.events.publish(DomainEvent::LoginDecided {
            entry,
            attempt,
            assessment: &assessed.assessment,
            elapsed: started.elapsed(),
        });
        (assessed, started)
    }

    /// [`Service::record`] of an attempt with what its assessment found.
    pub(crate) async fn record_assessed(
        &self,
        entry: EntryPoint,
        attempt: &LoginAttempt,
        assessed: &Assessed,
        r: Recording,
        started: Instant,
    ) -> Result<(), ServiceError> {
        self.record(
            entry,
            attempt,
            &assessed.info,
            &assessed.assessment,
            r,
            started,
        )
        .await
    }

    /// Records the attempt as `r` says, waits until the history row is
    /// committed, then publishes it. A changed profile is marked for the
    /// next snapshot flush ([`Service::flush_profiles`]).
    ///
    /// A success teaches the profile only when trusted
    /// ([`Trust::of`]): one challenged, denied or alerted on with no
    /// challenge passed is kept as an unconfirmed observation. The history
    /// row keeps the decision and the alert, from which start-up applies
    /// the same rule; what it cannot show (a passed challenge that made an
    /// untrusted assessment trusted) is written to the user's snapshot
    /// before this returns.
    pub async fn record(
        &self,
        entry: EntryPoint,
        attempt: &LoginAttempt,
        info: &IpInfo,
        assessment: &Assessment,
        r: Recording,
        started: Instant,
    ) -> Result<(), ServiceError> {
        let trust = Trust::of(assessment, r.challenge_passed);
        let durable_now = r.counted.is_some_and(Outcome::is_success)
            && trust.is_trusted()
            && !Trust::of(assessment, false).is_trusted();
        let (ack, attacks) = {
            let mut engine = self.engine.lock();
            if let Some(outcome) = r.counted {
                if engine.learn_as(attempt, info, outcome, trust).is_some() {
                    self.engine.refresh(&engine);
                    // Its snapshot follows with the next flush; the event
                    // below is what start-up learns from after a crash.
                    self.snapshots.changed(&attempt.user);
                }
            }
            let mut event = LoginEvent::of(attempt, info, assessment, r.history);
            event.auth_reason = r.refusal;
            // Queued under the engine lock so events reach the database in
            // the order they were learned, and snapshots (see
            // `snapshots`) never overtake them.
            let ack = self.writer.submit(vec![event], Vec::new());
            (ack, engine.policy().attacks)
        };
        let ack = ack?;
        if let Some(outcome) = r.counted {
            self.short
                .count_outcome(
                    &attempt.user,
                    attempt.ip,
                    outcome,
                    r.fingerprint,
                    attempt.ts,
                    &attacks,
                )
                .await;
            if outcome.is_success() && attempt.protocol == warden_core::Protocol::Smtp {
                // What lets the Postfix policy count this sender's mail.
                self.short
                    .note_sender_login(&attempt.user, attempt.ip, attempt.ts)
                    .await;
            }
        }
        ack.await?;
        if durable_now {
            self.write_profile(&attempt.user).await?;
        }
        self.publish_durable(DomainEvent::LoginRecorded {
            entry,
            attempt,
            ip: info,
            assessment,
            outcome: r.history,
            refusal: r.refusal,
            alert: r.alert,
            elapsed: started.elapsed(),
        })
        .await?;
        Ok(())
    }
}
