//! What admins do with alerts (the API and CLI call these): list with
//! filters, read one, acknowledge, close with a note, ask for a resend.
//! Each action is published as [`DomainEvent::AlertActed`] with who did it,
//! when and from where.

use std::net::IpAddr;

use warden_core::text::one_line;
use warden_core::Alert;
use warden_store::{AlertAction, AlertQuery, Backend, MAX_ALERTS_LIMIT, MAX_ALERT_NOTE_CHARS};

use crate::events::{AlertAdminAction, DomainEvent};
use crate::{Service, ServiceError};

/// Who acted and from where.
#[derive(Debug, Clone, Copy)]
pub struct ActedBy<'a> {
    pub actor: &'a str,
    pub ip: Option<IpAddr>,
}

impl<S: Backend> Service<S> {
    /// Alerts matching `query`, newest first. A limit of 0 or above
    /// [`MAX_ALERTS_LIMIT`] is refused.
    pub async fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<Alert>, ServiceError> {
        if query.limit == 0 || query.limit > MAX_ALERTS_LIMIT {
            return Err(ServiceError::invalid(format!(
                "limit must be within 1..={MAX_ALERTS_LIMIT}, got {}",
                query.limit
            )));
        }
        if let (Some(s), Some(u)) = (query.since, query.until) {
            if s >= u {
                return Err(ServiceError::invalid("since must be before until"));
            }
        }
        Ok(self.store.list_alerts(query).await?)
    }

    /// One alert.
    pub async fn alert(&self, id: i64) -> Result<Alert, ServiceError> {
        self.store
            .alert(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no alert {id}")))
    }

    /// Acknowledges (an open alert) or closes (one not closed) alert `id`,
    /// adding `note` (cleaned to one line of at most
    /// [`MAX_ALERT_NOTE_CHARS`]) to it. An alert not in a state the action
    /// applies to is refused (`alert_state`) and nothing changes.
    pub async fn act_on_alert(
        &self,
        id: i64,
        action: AlertAction,
        note: &str,
        by: ActedBy<'_>,
    ) -> Result<Alert, ServiceError> {
        if note.chars().count() > MAX_ALERT_NOTE_CHARS {
            return Err(ServiceError::invalid(format!(
                "note is longer than {MAX_ALERT_NOTE_CHARS} characters"
            )));
        }
        let now = self.now();
        let note = one_line(note, MAX_ALERT_NOTE_CHARS);
        let note = if note.is_empty() {
            String::new()
        } else {
            format!("{}: {note}", one_line(by.actor, 64))
        };
        if !self.store.act_on_alert(id, action, &note).await? {
            let a = self.alert(id).await?;
            return Err(ServiceError::Refused {
                code: "alert_state",
                message: format!(
                    "alert {id} is {}: only an open alert can be acknowledged, and a closed one cannot be closed again",
                    a.state
                ),
            });
        }
        self.publish_durable(DomainEvent::AlertActed {
            id,
            action: match action {
                AlertAction::Acknowledge => AlertAdminAction::Acknowledge,
                AlertAction::Close => AlertAdminAction::Close,
            },
            actor: by.actor,
            at: now,
            ip: by.ip,
        })
        .await?;
        self.alert(id).await
    }

    /// Asks the delivery side to send alert `id` again
    /// ([`warden_store::AlertStore::request_resend`]).
    pub async fn resend_alert(&self, id: i64, by: ActedBy<'_>) -> Result<Alert, ServiceError> {
        let now = self.now();
        if !self.store.request_resend(id, now).await? {
            return Err(ServiceError::NotFound(format!("no alert {id}")));
        }
        self.publish_durable(DomainEvent::AlertActed {
            id,
            action: AlertAdminAction::Resend,
            actor: by.actor,
            at: now,
            ip: by.ip,
        })
        .await?;
        self.alert(id).await
    }
}
