//! One-click actions on an incident. Each runs through the same service
//! call as the API's own route for it (no second copy of the logic),
//! completes the incident's playbook step of that action, and is published
//! durably as [`IncidentEvent::ActionTaken`] (in the audit log before the
//! call returns):
//!
//! - `lock_account`: [`Service::set_status`] (locked; web sessions end).
//! - `logout_everywhere`: [`Service::logout_everywhere`] with the
//!   authorization codes.
//! - `force_password_reset`: [`Service::force_password_change`] — the next
//!   login must set a new password; web sessions end.
//! - `require_two_factor`: the user's own access policy gets
//!   `login_protection = new_city_or_device` ([`Service::set_policy`]):
//!   every login from a new city or device needs TOTP or an emailed code
//!   (web) and is refused for a mail client until confirmed. Warden's TOTP
//!   *requirement* is per organisation (`Org::two_factor`); there is no
//!   per-account one, so this is the per-account second factor Warden has.
//! - `block_source`: a per-account block of an address or range (the
//!   "not me" block, `answers::blocks`), default the /24 or /64 of the
//!   incident's first address; the global blocklist is left to the org
//!   policy.
//! - `revoke_token`: an authorization code by id, or every live one.
//!   These are the only tokens Warden issues; IM bot tokens live in the IM
//!   system — their creation (`token_created` operations) is listed by
//!   `mark_for_revert` for the IM system to revoke.
//! - `mark_for_revert`: the forwarding and inbox rules, security-contact
//!   changes, 2FA removals, codes and tokens reported since the first risky
//!   login, stored as marked, and posted to the `incidents.revert_webhook`
//!   channel (signed like alert webhooks) for the mail system to put back.
//! - `notify`: an `incident_notice` alert through the outbox to the user
//!   and to `incidents.business_owners`.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::json;
use warden_core::incident::{ActionKind, AffectedKind};
use warden_core::scoped::{PolicyMode, PolicyRules, Scope};
use warden_core::{
    AccountStatus, Alert, AlertKind, AlertState, Grade, Operation, OperationKind, ProtectionLevel,
    SecurityEventKind as Kind, SourceBlock, Timestamp,
};
use warden_store::{AccountWrite, Backend, IncidentRecord, OperationQuery, StepDone};

use super::admin::bounded;
use super::events::IncidentEvent;
use crate::alerts::admin::ActedBy;
use crate::credentials::{event, Actor};
use crate::error::shown;
use crate::events::DomainEvent;
use crate::policies::admin::{ChangedBy, PolicyInput};
use crate::{Service, ServiceError};

/// The most operations one `mark_for_revert` lists.
pub const MAX_REVERT_LIST: u32 = 500;
/// The longest message of a `notify`.
pub const MAX_MESSAGE: usize = 1000;
/// The widest range `block_source` takes: /16 (IPv4), /32 (IPv6).
pub const MIN_PREFIX_V4: u8 = 16;
pub const MIN_PREFIX_V6: u8 = 32;

/// What an action needs besides the incident.
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    /// The account to act on; default the incident's user.
    pub user: Option<String>,
    /// `block_source`: the address or range; default the incident's first
    /// address.
    pub network: Option<String>,
    /// `revoke_token`: the code's id; default every live code.
    pub code_id: Option<i64>,
    /// `notify`: the text; default a standard notice.
    pub message: Option<String>,
}

impl ActionInput {
    /// Bounds every field whatever the action, so input an action would
    /// ignore is refused like input it reads (and changes nothing).
    fn check(&self) -> Result<(), ServiceError> {
        if self.network.as_deref().is_some_and(|n| n.len() > 64) {
            return Err(ServiceError::invalid("network: at most 64 characters"));
        }
        if self
            .message
            .as_deref()
            .is_some_and(|m| m.chars().count() > 1000)
        {
            return Err(ServiceError::invalid("message: at most 1000 characters"));
        }
        if self.code_id.is_some_and(|c| c < 1) {
            return Err(ServiceError::invalid("code_id: a positive id"));
        }
        Ok(())
    }
}

/// What an action did.
#[derive(Debug, Clone)]
pub struct ActionOutcome {
    pub action: ActionKind,
    pub user: String,
    /// In words ("account locked", "3 sessions signed out, 2 codes revoked").
    pub result: String,
    /// The playbook step it completed, if one was open.
    pub step: Option<String>,
    /// `mark_for_revert`: the operations listed.
    pub operations: Vec<Operation>,
    /// `mark_for_revert`: whether the mail system was told (a webhook is
    /// configured and accepted it).
    pub webhook_sent: bool,
    /// `notify`: the notice's alert.
    pub alert_id: Option<i64>,
    pub incident: IncidentRecord,
}

/// Operations an attacker leaves behind that the mail system can put back.
fn revertible(kind: OperationKind) -> bool {
    matches!(
        kind,
        OperationKind::ForwardingRule
            | OperationKind::InboxRule
            | OperationKind::SecurityContactChanged
            | OperationKind::TwoFactorDisabled
            | OperationKind::AuthCodeCreated
            | OperationKind::TokenCreated
    )
}

impl<S: Backend> Service<S> {
    /// The next login of `user` must set a new password; the account's web
    /// sessions end. `NotFound` without an account.
    pub async fn force_password_change(
        &self,
        user: &str,
        why: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), ServiceError> {
        let mut a = self.account(user).await?;
        let now = self.now();
        a.must_change_password = true;
        a.updated_at = now;
        self.commit(AccountWrite {
            account: Some(a),
            revoke_sessions_at: Some(now),
            events: vec![
                event(
                    ip,
                    now,
                    user,
                    Kind::AccountUpdated,
                    Actor::Admin,
                    format!("password change required: {why}"),
                ),
                event(ip, now, user, Kind::SessionsRevoked, Actor::Admin, why),
            ],
            ..AccountWrite::default()
        })
        .await?;
        self.short.forget_tickets(user).await;
        Ok(())
    }

    /// Runs one-click `action` on incident `id` (see the module
    /// documentation for what each does).
    pub async fn incident_action(
        &self,
        id: i64,
        action: ActionKind,
        input: &ActionInput,
        by: ActedBy<'_>,
    ) -> Result<ActionOutcome, ServiceError> {
        input.check()?;
        let rec = self.live_incident(id).await?;
        let user = match input.user.as_deref() {
            Some(u) => super::admin::user_name("user", u)?.to_string(),
            None => rec
                .incident
                .user
                .as_deref()
                .map(str::to_string)
                .or_else(|| {
                    rec.affected
                        .iter()
                        .find(|a| a.kind == AffectedKind::User)
                        .map(|a| a.value.clone())
                })
                .ok_or_else(|| {
                    ServiceError::invalid("user: the incident names no user; give one")
                })?,
        };
        let why = format!("incident {id}");
        let mut out = ActionOutcome {
            action,
            user: user.clone(),
            result: String::new(),
            step: None,
            operations: Vec::new(),
            webhook_sent: false,
            alert_id: None,
            incident: rec.clone(),
        };
        out.result = match action {
            ActionKind::LockAccount => {
                self.set_status(
                    &user,
                    AccountStatus::Locked,
                    Some(why.clone()),
                    Kind::AccountLocked,
                    by.ip,
                )
                .await?;
                "account locked; its web sessions ended".into()
            }
            ActionKind::LogoutEverywhere => {
                let done = self
                    .logout_everywhere(&user, true, Actor::Admin, by.ip)
                    .await?;
                format!(
                    "{} device sessions signed out, {} authorization codes revoked",
                    done.sessions, done.app_passwords
                )
            }
            ActionKind::ForcePasswordReset => {
                self.force_password_change(&user, &why, by.ip).await?;
                "the next login must set a new password; web sessions ended".into()
            }
            ActionKind::RequireTwoFactor => self.require_second_factor(&user, id, by).await?,
            ActionKind::BlockSource => self.block_for_incident(&rec, &user, input, by).await?,
            ActionKind::RevokeToken => {
                self.revoke_for_incident(&user, input.code_id, &why, by)
                    .await?
            }
            ActionKind::MarkForRevert => self.mark_for_revert(&rec, &user, by, &mut out).await?,
            ActionKind::Notify => {
                let message = input
                    .message
                    .as_deref()
                    .map(|m| bounded("message", m, MAX_MESSAGE, true))
                    .transpose()?;
                let alert_id = self.notify_incident(&rec, &user, message).await?;
                out.alert_id = Some(alert_id);
                format!(
                    "notice {alert_id} queued to the user and {} business owners",
                    self.incidents.business_owners.len()
                )
            }
        };
        let now = self.now();
        if let Some(step) = rec
            .steps
            .iter()
            .find(|s| s.done_at.is_none() && s.kind.action() == Some(action))
        {
            let done = StepDone {
                at: now,
                by: warden_core::text::one_line(by.actor, 64),
                note: None,
                result: Some(out.result.clone()),
            };
            if self.store.complete_step(id, &step.step, &done).await? {
                out.step = Some(step.step.clone());
            }
        }
        self.publish_durable(DomainEvent::Incident(IncidentEvent::ActionTaken {
            id,
            action,
            user: Some(&user),
            step: out.step.as_deref(),
            result: &out.result,
            actor: by.actor,
            ip: by.ip,
            at: now,
        }))
        .await?;
        out.incident = self.incident(id).await?;
        Ok(out)
    }

    async fn require_second_factor(
        &self,
        user: &str,
        id: i64,
        by: ActedBy<'_>,
    ) -> Result<String, ServiceError> {
        let current = match self.policy(Scope::User, user).await {
            Ok(p) if !p.removed => Some(p),
            Ok(_) | Err(ServiceError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let input = match current {
            Some(p) if p.mode != PolicyMode::Enforce => {
                return Err(ServiceError::refused(
                    "policy_not_enforced",
                    format!(
                        "{}'s own policy is {}: set login_protection in it by hand, or enforce it first",
                        shown(user),
                        p.mode
                    ),
                ))
            }
            Some(p) => PolicyInput {
                name: p.name.clone(),
                mode: PolicyMode::Enforce,
                rules: PolicyRules {
                    login_protection: Some(ProtectionLevel::NewCityOrDevice),
                    ..p.rules.clone()
                },
                comment: Some(format!("incident {id}: second factor required")),
            },
            None => PolicyInput {
                name: format!("incident-{id}"),
                mode: PolicyMode::Enforce,
                rules: PolicyRules {
                    login_protection: Some(ProtectionLevel::NewCityOrDevice),
                    ..PolicyRules::default()
                },
                comment: Some(format!("incident {id}: second factor required")),
            },
        };
        let v = self
            .set_policy(
                Scope::User,
                user,
                &input,
                ChangedBy {
                    actor: by.actor,
                    ip: by.ip,
                },
            )
            .await?;
        Ok(format!(
            "login protection new_city_or_device in the user's policy (version {})",
            v.version
        ))
    }

    async fn block_for_incident(
        &self,
        rec: &IncidentRecord,
        user: &str,
        input: &ActionInput,
        by: ActedBy<'_>,
    ) -> Result<String, ServiceError> {
        let network: IpNet = match input.network.as_deref() {
            Some(n) => {
                if n.len() > 64 {
                    return Err(ServiceError::invalid("network: an address or CIDR range"));
                }
                let net = warden_core::scoped::parse_network(n)
                    .map_err(|e| ServiceError::invalid(format!("network: {e}")))?;
                let min = if net.addr().is_ipv4() {
                    MIN_PREFIX_V4
                } else {
                    MIN_PREFIX_V6
                };
                if net.prefix_len() < min {
                    return Err(ServiceError::invalid(format!(
                        "network: {net} is wider than /{min}; block it in the organisation's policy instead"
                    )));
                }
                net
            }
            None => {
                let first = rec
                    .affected
                    .iter()
                    .filter(|a| a.kind == AffectedKind::Address)
                    .find_map(|a| a.value.parse::<IpAddr>().ok())
                    .ok_or_else(|| {
                        ServiceError::invalid(
                            "network: the incident lists no address; give the address or range",
                        )
                    })?;
                SourceBlock::network_of(first)
            }
        };
        let added = self
            .add_source_block(&SourceBlock {
                user: user.into(),
                network,
                alert_id: None,
                created_at: self.now(),
            })
            .await?;
        if !added && self.blocks.find(user, network.addr()).is_none() {
            return Err(ServiceError::refused(
                "too_many_blocks",
                format!("{} holds the most blocks an account keeps", shown(user)),
            ));
        }
        self.store
            .add_affected(
                rec.incident.id,
                &warden_core::incident::Affected {
                    kind: AffectedKind::Address,
                    value: network.to_string(),
                    added_at: self.now(),
                    added_by: warden_core::text::one_line(by.actor, 64),
                },
            )
            .await?;
        Ok(if added {
            format!("{network} blocked for the account")
        } else {
            format!("{network} was blocked for the account already")
        })
    }

    async fn revoke_for_incident(
        &self,
        user: &str,
        code: Option<i64>,
        why: &str,
        by: ActedBy<'_>,
    ) -> Result<String, ServiceError> {
        self.account(user).await?;
        let now = self.now();
        match code {
            Some(code) => {
                let ev = event(
                    by.ip,
                    now,
                    user,
                    Kind::AppPasswordRevoked,
                    Actor::Admin,
                    format!("code {code} ({why})"),
                );
                if !self.store.revoke_app_password(user, code, now, &ev).await? {
                    return Err(ServiceError::NotFound(format!(
                        "no live authorization code {code} for {}",
                        shown(user)
                    )));
                }
                Ok(format!("authorization code {code} revoked"))
            }
            None => {
                let live = self.live_codes(user, now).await?;
                self.commit(AccountWrite {
                    revoke_app_passwords_at: Some(now),
                    events: vec![event(
                        by.ip,
                        now,
                        user,
                        Kind::AppPasswordsRevokedAll,
                        Actor::Admin,
                        format!("{live} codes ({why})"),
                    )],
                    ..AccountWrite::default()
                })
                .await?;
                Ok(format!("{live} authorization codes revoked"))
            }
        }
    }

    async fn mark_for_revert(
        &self,
        rec: &IncidentRecord,
        user: &str,
        by: ActedBy<'_>,
        out: &mut ActionOutcome,
    ) -> Result<String, ServiceError> {
        let i = &rec.incident;
        let since = i.first_risky_at.unwrap_or(Timestamp(
            i.opened_at.secs() - self.incidents.lookback_secs as i64,
        ));
        let ops: Vec<Operation> = self
            .store
            .list_operations(&OperationQuery {
                user: Some(user.to_string()),
                since: Some(since),
                limit: MAX_REVERT_LIST,
                ..OperationQuery::default()
            })
            .await?
            .into_iter()
            .filter(|o| revertible(o.kind))
            .collect();
        let now = self.now();
        let ids: Vec<i64> = ops.iter().map(|o| o.id).collect();
        let new = self
            .store
            .mark_reverts(i.id, &ids, now, &warden_core::text::one_line(by.actor, 64))
            .await?;
        let told = match self.incidents.revert_webhook.as_deref() {
            Some(name) if !ops.is_empty() => {
                let channel = self.notify.channel(name).ok_or_else(|| {
                    ServiceError::Internal(format!(
                        "incidents.revert_webhook names no channel {name:?}"
                    ))
                })?;
                let body = json!({
                    "id": format!("incident-{}-revert-{}", i.id, now.secs()),
                    "type": "incident.revert",
                    "incident_id": i.id,
                    "grade": i.grade.as_str(),
                    "user": user,
                    "since": since.secs(),
                    "operations": ops.iter().map(|o| json!({
                        "id": o.id,
                        "kind": o.kind.as_str(),
                        "ts": o.ts.secs(),
                        "source": o.source,
                        "report_id": o.report_id,
                        "target": o.target,
                        "external": o.external,
                    })).collect::<Vec<_>>(),
                });
                let body = serde_json::to_vec(&body).expect("JSON of plain values");
                crate::notify::channels::post_webhook(
                    channel,
                    &format!("incident-{}-revert-{}", i.id, now.secs()),
                    body,
                    now.secs() * 1000,
                )
                .await
                .map_err(|e| {
                    ServiceError::Unavailable(format!(
                        "the revert webhook {name:?}: {e}; the {} operations stay marked, run the action again",
                        ops.len()
                    ))
                })?;
                true
            }
            _ => false,
        };
        out.webhook_sent = told;
        let result = format!(
            "{} changes since {} marked for revert ({new} new){}",
            ops.len(),
            crate::notify::view::local_time(since, self.utc_offset()),
            if told {
                "; the mail system was told"
            } else if ops.is_empty() {
                ""
            } else {
                "; no revert webhook configured: revert them in the mail system by hand"
            }
        );
        out.operations = ops;
        Ok(result)
    }

    /// The `incident_notice` alert of incident `rec` about `user`.
    async fn notify_incident(
        &self,
        rec: &IncidentRecord,
        user: &str,
        message: Option<String>,
    ) -> Result<i64, ServiceError> {
        let now = self.now();
        let i = &rec.incident;
        let note = message.unwrap_or_else(|| {
            format!(
                "Security incident {} ({}, {}) concerning your account is being handled: sign-ins may be blocked, devices signed out and the password reset. Change passwords you reused elsewhere and contact the security team if something looks wrong.",
                i.id,
                i.grade.as_str().to_uppercase(),
                i.grade.describe()
            )
        });
        let alert = Alert {
            id: 0,
            kind: AlertKind::IncidentNotice,
            grade: Grade::Critical,
            state: AlertState::Open,
            user: Some(user.into()),
            created_at: now,
            ts: now,
            last_ts: now,
            count: 1,
            dedupe_key: format!("incident_notice|{}|{}", i.id, now.secs()),
            notify_user: true,
            notify_admins: false,
            ip: None,
            country: None,
            region: None,
            city: None,
            asn: None,
            isp: None,
            device: None,
            client: None,
            protocol: None,
            decision: None,
            succeeded: true,
            reasons: Vec::new(),
            event_id: None,
            answer: None,
            answered_at: None,
            answered_ip: None,
            note: warden_core::text::one_line(&note, warden_store::MAX_ALERT_NOTE_CHARS),
        };
        let id = self.store.insert_alert(&alert).await?;
        let alert = Alert { id, ..alert };
        self.events
            .publish(DomainEvent::AlertRaised { alert: &alert });
        Ok(id)
    }
}
