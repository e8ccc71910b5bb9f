//! What each answer to "was this you?" does. One method per way in: a
//! link's token ([`Service::answer_alert`], the answer page's POST) and an
//! alert id ([`Service::answer_alert_id`], an admin or webmail answering
//! for the user). Both take the answer in the store first — once, even
//! racing — and only then act, so a second use changes nothing.
//!
//! - **Yes, it was me**: the alert closes and the login's place, network,
//!   device and client are confirmed in the profile
//!   ([`Service::confirm_alert_login`]), so the next login from there is
//!   quiet.
//! - **No, it wasn't me**: every web session and authorization code of the
//!   account is revoked and a new password is required at the next login
//!   (one account write), pending second steps are forgotten, the login's
//!   /24 or /64 is blocked for the account ([`super::blocks`]), and a
//!   critical `login_disowned` alert for the admins points at the answered
//!   one.
//! - **The location is wrong**: the address, where the data placed it and
//!   the user's comment (one clean line, bounded) join the admins' queue
//!   ([`super::queue`]).
//!
//! Every answer, and every refused one, is a [`DomainEvent`].

use std::net::IpAddr;

use ipnet::IpNet;
use warden_core::{
    Alert, AlertKind, AlertState, Answer, CorrectionState, Grade, QueuedCorrection,
    SecurityEventKind as Kind, SourceBlock,
};
use warden_store::{AccountWrite, Backend};

use super::links::LinkError;
use crate::credentials::{event, Actor};
use crate::error::ServiceError;
use crate::events::DomainEvent;
use crate::Service;

/// The longest comment a user may give with "the location is wrong"
/// (characters; longer ones are cut).
pub const MAX_COMMENT_CHARS: usize = 500;

/// Why an answer was not taken. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The link is malformed, forged or expired.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The link is genuine but its alert is gone (pruned).
    #[error("no alert {0}")]
    NotFound(i64),
    /// The alert was answered already.
    #[error("alert {id} was answered already ({answer})")]
    AlreadyAnswered { id: i64, answer: Answer },
    /// The alert is not about one user's successful login (an attack's
    /// failures, a summary, a "not me" alert itself).
    #[error("alert {0} is not about a login of one user and takes no answer")]
    NotAnswerable(i64),
    /// The store or another part of the service failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl AnswerError {
    /// A short stable name (events, metrics, API codes).
    pub fn code(&self) -> &'static str {
        match self {
            AnswerError::Link(LinkError::Malformed) => "link_malformed",
            AnswerError::Link(LinkError::BadSignature) => "link_forged",
            AnswerError::Link(LinkError::Expired) => "link_expired",
            AnswerError::NotFound(_) => "alert_not_found",
            AnswerError::AlreadyAnswered { .. } => "already_answered",
            AnswerError::NotAnswerable(_) => "not_answerable",
            AnswerError::Service(_) => "service_error",
        }
    }
}

impl From<warden_store::StoreError> for AnswerError {
    fn from(e: warden_store::StoreError) -> Self {
        AnswerError::Service(e.into())
    }
}

/// What an answer did.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The alert as it is now (closed, with the answer).
    pub alert: Alert,
    pub answer: Answer,
    /// "Not me": the critical alert raised for the admins.
    pub disowned_alert: Option<i64>,
    /// "Not me": the network blocked for the account (`None` when it was
    /// blocked already or the account's blocks are full).
    pub blocked: Option<IpNet>,
    /// "Not me": the account's web sessions and codes were revoked and a
    /// new password is required (false when Warden keeps no account for
    /// the user: the mail server owns the password).
    pub account_cut_off: bool,
    /// "The location is wrong": the queued complaint.
    pub queued_correction: Option<i64>,
}

/// Whether an alert takes a "was this you?" answer: one user's successful
/// login from a known address (an unusual place, impossible travel, a new
/// device, a risky network), or a correct password login protection held
/// back (its "yes" is how a mail client that cannot prompt gets in). Never
/// an attack's failures: "yes, it was me" on a brute-force alert would
/// teach the attacker's address as trusted.
pub fn answerable(a: &Alert) -> bool {
    a.user.is_some()
        && a.ip.is_some()
        && ((a.succeeded
            && matches!(
                a.kind,
                AlertKind::UnusualLocation
                    | AlertKind::ImpossibleTravel
                    | AlertKind::NewDevice
                    | AlertKind::RiskyLogin
                    // About the risky login a sensitive operation followed.
                    | AlertKind::SuspiciousForwarding
                    | AlertKind::SuspiciousOperation
            ))
            || a.kind == AlertKind::SignInHeld)
}

impl<S: Backend> Service<S> {
    /// The alert a link opens, for the answer page (changes nothing). A
    /// forged or expired link, a gone alert, one answered already or one
    /// that takes no answer is an error naming which.
    pub async fn alert_for_link(
        &self,
        token: &str,
        ip: Option<IpAddr>,
    ) -> Result<Alert, AnswerError> {
        let opened = self.open_link(token, ip).await;
        if let Err(e) = &opened {
            self.events
                .publish(DomainEvent::AnswerRefused { why: e.code(), ip });
        }
        opened
    }

    async fn open_link(&self, token: &str, _ip: Option<IpAddr>) -> Result<Alert, AnswerError> {
        let id = self.answers.open(token, self.now())?;
        let alert = self
            .store
            .alert(id)
            .await?
            .ok_or(AnswerError::NotFound(id))?;
        if let Some(answer) = alert.answer {
            return Err(AnswerError::AlreadyAnswered { id, answer });
        }
        if !answerable(&alert) {
            return Err(AnswerError::NotAnswerable(id));
        }
        Ok(alert)
    }

    /// The user's answer through a link's token (the answer page's POST),
    /// from `ip`. `comment`: where the user says they were, for "the
    /// location is wrong" (ignored otherwise).
    pub async fn answer_alert(
        &self,
        token: &str,
        choice: Answer,
        comment: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Result<Answered, AnswerError> {
        let id = match self.answers.open(token, self.now()) {
            Ok(id) => id,
            Err(e) => {
                let e = AnswerError::from(e);
                self.events
                    .publish(DomainEvent::AnswerRefused { why: e.code(), ip });
                return Err(e);
            }
        };
        self.answer_alert_id(id, choice, comment, Actor::User, ip)
            .await
    }

    /// Answers alert `id` as `actor` (the user through a link, or an admin
    /// or webmail for them), from `ip`.
    pub async fn answer_alert_id(
        &self,
        id: i64,
        choice: Answer,
        comment: Option<&str>,
        actor: Actor,
        ip: Option<IpAddr>,
    ) -> Result<Answered, AnswerError> {
        let result = self.take_answer(id, choice, comment, actor, ip).await;
        if let Err(e) = &result {
            self.events
                .publish(DomainEvent::AnswerRefused { why: e.code(), ip });
        }
        result
    }

    async fn take_answer(
        &self,
        id: i64,
        choice: Answer,
        comment: Option<&str>,
        actor: Actor,
        ip: Option<IpAddr>,
    ) -> Result<Answered, AnswerError> {
        let alert = self
            .store
            .alert(id)
            .await?
            .ok_or(AnswerError::NotFound(id))?;
        if let Some(answer) = alert.answer {
            return Err(AnswerError::AlreadyAnswered { id, answer });
        }
        if !answerable(&alert) {
            return Err(AnswerError::NotAnswerable(id));
        }
        let now = self.now();
        // Once: a racing second answer loses here and changes nothing.
        if !self.store.answer_alert(id, choice, now, ip).await? {
            let answer = self
                .store
                .alert(id)
                .await?
                .and_then(|a| a.answer)
                .unwrap_or(choice);
            return Err(AnswerError::AlreadyAnswered { id, answer });
        }
        let mut answered = Answered {
            alert: Alert {
                state: AlertState::Closed,
                answer: Some(choice),
                answered_at: Some(now),
                answered_ip: ip,
                ..alert.clone()
            },
            answer: choice,
            disowned_alert: None,
            blocked: None,
            account_cut_off: false,
            queued_correction: None,
        };
        match choice {
            Answer::ItWasMe => self.confirm_alert_login(&alert).await?,
            Answer::NotMe => self.disown(&alert, actor, ip, &mut answered).await?,
            Answer::WrongLocation => {
                answered.queued_correction = self.complain(&alert, comment).await?;
            }
        }
        let user = alert.user.as_deref().unwrap_or_default();
        self.publish_durable(DomainEvent::AlertAnswered {
            alert_id: id,
            user,
            answer: choice,
            actor,
            ip,
            at: now,
            disowned_alert: answered.disowned_alert,
            blocked: answered.blocked,
            queued_correction: answered.queued_correction,
        })
        .await?;
        Ok(answered)
    }

    /// "No, it wasn't me".
    async fn disown(
        &self,
        alert: &Alert,
        actor: Actor,
        ip: Option<IpAddr>,
        out: &mut Answered,
    ) -> Result<(), AnswerError> {
        let user = alert.user.clone().unwrap_or_default();
        let now = self.now();
        if let Some(mut a) = self.store.account(&user).await? {
            let live = self.live_codes(&user, now).await?;
            a.must_change_password = true;
            a.updated_at = now;
            let why = format!("\"no, it wasn't me\" to alert {}", alert.id);
            let mut events = vec![event(ip, now, &user, Kind::SessionsRevoked, actor, &why)];
            if live > 0 {
                events.push(event(
                    ip,
                    now,
                    &user,
                    Kind::AppPasswordsRevokedAll,
                    actor,
                    &why,
                ));
            }
            self.commit(AccountWrite {
                account: Some(a),
                revoke_app_passwords_at: Some(now),
                revoke_sessions_at: Some(now),
                events,
                ..AccountWrite::default()
            })
            .await?;
            self.short.forget_tickets(&user).await;
            out.account_cut_off = true;
        }
        if let Some(login_ip) = alert.ip {
            // The place and network stay unconfirmed for good: no rule of
            // the profile learns them on its own.
            let info = self.intel.lookup(login_ip);
            {
                let mut engine = self.engine.lock();
                if engine.disown(&user, &info) > 0 {
                    self.snapshots.changed(&user);
                }
            }
            let block = SourceBlock {
                user: user.clone(),
                network: SourceBlock::network_of(login_ip),
                alert_id: Some(alert.id),
                created_at: now,
            };
            if self.add_source_block(&block).await? {
                out.blocked = Some(block.network);
            }
        }
        let critical = Alert {
            id: 0,
            kind: AlertKind::LoginDisowned,
            grade: Grade::Critical,
            state: AlertState::Open,
            created_at: now,
            dedupe_key: format!("login_disowned|{}", alert.id),
            notify_user: false,
            notify_admins: true,
            answer: None,
            answered_at: None,
            answered_ip: None,
            note: format!(
                "{user} answered \"no, it wasn't me\" to alert {} ({}); sessions and codes revoked, password reset required{}",
                alert.id,
                alert.kind,
                out.blocked
                    .map(|n| format!(", {n} blocked for the account"))
                    .unwrap_or_default()
            ),
            ..alert.clone()
        };
        out.disowned_alert = Some(self.store.insert_alert(&critical).await?);
        Ok(())
    }

    /// "The location is wrong": queues the address with the user's words.
    async fn complain(
        &self,
        alert: &Alert,
        comment: Option<&str>,
    ) -> Result<Option<i64>, AnswerError> {
        let Some(ip) = alert.ip else {
            return Ok(None);
        };
        let comment = warden_core::text::one_line(comment.unwrap_or_default(), MAX_COMMENT_CHARS)
            .trim()
            .to_string();
        let c = QueuedCorrection {
            id: 0,
            alert_id: Some(alert.id),
            user: alert.user.clone().unwrap_or_default(),
            ip,
            country: alert.country,
            region: alert.region.clone(),
            city: alert.city.clone(),
            comment,
            state: CorrectionState::Pending,
            created_at: self.now(),
            decided_at: None,
            decided_by: None,
        };
        Ok(Some(self.store.queue_correction(&c).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::Timestamp;

    fn alert(kind: AlertKind, succeeded: bool) -> Alert {
        Alert {
            id: 1,
            kind,
            grade: Grade::Warning,
            state: AlertState::Open,
            user: Some("kim".into()),
            created_at: Timestamp(0),
            ts: Timestamp(0),
            last_ts: Timestamp(0),
            count: 1,
            dedupe_key: String::new(),
            notify_user: true,
            notify_admins: true,
            ip: Some("203.0.113.9".parse().unwrap()),
            country: None,
            region: None,
            city: None,
            asn: None,
            isp: None,
            device: None,
            client: None,
            protocol: None,
            decision: None,
            succeeded,
            reasons: Vec::new(),
            event_id: None,
            answer: None,
            answered_at: None,
            answered_ip: None,
            note: String::new(),
        }
    }

    #[test]
    fn only_a_users_successful_login_takes_an_answer() {
        for k in [
            AlertKind::UnusualLocation,
            AlertKind::ImpossibleTravel,
            AlertKind::NewDevice,
            AlertKind::RiskyLogin,
            AlertKind::SuspiciousForwarding,
            AlertKind::SuspiciousOperation,
        ] {
            assert!(answerable(&alert(k, true)), "{k}");
            assert!(!answerable(&alert(k, false)), "{k} failed");
        }
        for k in [
            AlertKind::BruteForce,
            AlertKind::PasswordSpraying,
            AlertKind::CredentialStuffing,
            AlertKind::AccountUnderAttack,
            AlertKind::LoginDisowned,
            AlertKind::Summary,
            AlertKind::LoginsSpread,
            AlertKind::SendingBurst,
        ] {
            assert!(!answerable(&alert(k, true)), "{k}");
        }
        // A held sign-in failed by design (the password was right).
        assert!(answerable(&alert(AlertKind::SignInHeld, false)));
        let mut no_ip = alert(AlertKind::UnusualLocation, true);
        no_ip.ip = None;
        assert!(!answerable(&no_ip));
        let mut no_user = alert(AlertKind::UnusualLocation, true);
        no_user.user = None;
        assert!(!answerable(&no_user));
    }
}
