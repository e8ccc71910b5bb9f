//! The outbox: alerts become `deliveries` rows (the fan-out) and the worker
//! sends the due rows.
//!
//! Fan-out reads the alerts after the store's delivery mark, in id order,
//! and writes one row per (alert, audience, channel, recipient) together
//! with the new mark in one transaction: an alert committed is fanned out
//! once, even if the process dies at any point (the rows and the mark
//! commit together or not at all).
//!
//! Recipients: the user is told at the account's security email over
//! `user_email_channel` (and by SMS at its phone over `user_sms_channel`);
//! with no account or no email, the login name itself when it is an email
//! address and `login_name_fallback` is on (mail systems: the login name is
//! the mailbox), otherwise the user is not reachable and only the admins
//! hear of it (counted in `warden_notify_unreachable_users_total`). Admins
//! get one row per route whose minimum grade the alert reaches: one per
//! address for email and SMS, one per robot or webhook.
//!
//! The worker sends each due row, marks it `sent` right after the channel
//! accepted it, and otherwise records the error and the next try: the
//! wait doubles from `retry.base` up to `retry.max`, times a random factor
//! in [0.5, 1] (jitter), and after `retry.max_attempts` tries the row is
//! `failed`.

use std::time::Duration;

use warden_core::{
    Alert, AlertKind, AlertState, Answer, Audience, ChannelKind, Country, Decision, Delivery,
    DeliveryState, Grade, Lang, Protocol, ReasonCode, Timestamp,
};
use warden_store::{Backend, FailedTry, StoreError, StoredTemplate};

use super::channels::{self, Message, SendError};
use super::templates::{self, TemplateError};
use super::view::{AlertView, Links};
use crate::events::{DomainEvent, NotifyAction};
use crate::{Service, ServiceError};

/// Alerts one fan-out round reads.
const FAN_OUT_BATCH: u32 = 200;
/// Deliveries one worker round sends.
const SEND_BATCH: u32 = 100;

/// What can go wrong in the outbox and the admin actions on it.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("no channel is named {0:?}")]
    UnknownChannel(String),
    #[error("{0}")]
    Invalid(String),
    /// Done, but its audit record could not be kept: not acknowledged.
    #[error("{0}")]
    Unavailable(String),
}

impl From<ServiceError> for NotifyError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(e) => NotifyError::Store(e),
            other => NotifyError::Unavailable(other.to_string()),
        }
    }
}

/// The wait before try `attempts + 1` after `attempts` failed tries;
/// `jitter` in [0, 1] picks where in [0.5, 1] of the full wait it falls.
pub fn backoff(retry: &super::RetrySettings, attempts: u32, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).min(30);
    let full = retry.base.saturating_mul(1u32 << doublings).min(retry.max);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// The user's address for email, or `None` when Warden cannot reach them.
fn user_address<S: Backend>(
    service: &Service<S>,
    user: &str,
    account: Option<&warden_core::Account>,
) -> Option<String> {
    if let Some(email) = account.and_then(|a| a.email.as_deref()) {
        return Some(email.to_string());
    }
    let looks_like_address = user.contains('@')
        && !user.starts_with('@')
        && !user.ends_with('@')
        && !user.chars().any(char::is_whitespace);
    (service.notify.login_name_fallback && looks_like_address).then(|| user.to_string())
}

/// The deliveries of `alert` (not yet stored).
async fn plan<S: Backend>(
    service: &Service<S>,
    alert: &Alert,
) -> Result<Vec<Delivery>, NotifyError> {
    let now = service.now();
    let settings = &service.notify;
    let row = |audience, channel: &str, recipient: String| Delivery {
        id: 0,
        alert_id: alert.id,
        audience,
        channel: channel.to_string(),
        recipient,
        state: DeliveryState::Pending,
        attempts: 0,
        next_at: now,
        last_error: None,
        created_at: now,
        sent_at: None,
    };
    let mut rows = Vec::new();
    if let (true, Some(user)) = (alert.notify_user, alert.user.as_deref()) {
        let account = service.store.account(user).await?;
        let mut reached = false;
        if let Some(ch) = &settings.user_email_channel {
            if let Some(to) = user_address(service, user, account.as_ref()) {
                rows.push(row(Audience::User, ch, to));
                reached = true;
            }
        }
        if let (Some(ch), Some(phone)) = (
            &settings.user_sms_channel,
            account.as_ref().and_then(|a| a.phone.clone()),
        ) {
            rows.push(row(Audience::User, ch, phone));
            reached = true;
        }
        if !reached {
            metrics::counter!("warden_notify_unreachable_users_total").increment(1);
        }
    }
    // An incident's notice also goes to the business owners.
    if alert.kind == warden_core::AlertKind::IncidentNotice {
        if let Some(ch) = &settings.user_email_channel {
            for owner in &service.incidents.business_owners {
                rows.push(row(Audience::Admins, ch, owner.clone()));
            }
        }
    }
    if alert.notify_admins {
        for route in settings
            .admin_routes
            .iter()
            .filter(|r| alert.grade >= r.min_grade)
        {
            if route.recipients.is_empty() {
                rows.push(row(Audience::Admins, &route.channel, String::new()));
            } else {
                for r in &route.recipients {
                    rows.push(row(Audience::Admins, &route.channel, r.clone()));
                }
            }
        }
    }
    Ok(rows)
}

/// One fan-out round: the deliveries of up to a batch of alerts after the
/// mark, written with the new mark. Returns how many alerts it covered (0:
/// nothing new, or another fan-out moved the mark first).
pub async fn fan_out<S: Backend>(service: &Service<S>) -> Result<usize, NotifyError> {
    let mark = service.store.delivery_mark().await?;
    let alerts = service.store.alerts_after(mark, FAN_OUT_BATCH).await?;
    let Some(last) = alerts.last().map(|a| a.id) else {
        return Ok(0);
    };
    let mut rows = Vec::new();
    for a in &alerts {
        rows.extend(plan(service, a).await?);
    }
    if !service.store.fan_out(mark, last, &rows).await? {
        return Ok(0);
    }
    for a in &alerts {
        service.events.publish(DomainEvent::AlertFannedOut {
            alert_id: a.id,
            deliveries: rows.iter().filter(|d| d.alert_id == a.id).count(),
        });
    }
    Ok(alerts.len())
}

/// The alerts an admin asked to send again (`POST /v1/alerts/{id}/resend`):
/// each is planned afresh (today's recipients and channels) and its rows
/// are written in the same transaction that clears the request, so one
/// request is fanned out once. Returns how many were.
pub async fn fan_out_resends<S: Backend>(service: &Service<S>) -> Result<usize, NotifyError> {
    let mut done = 0;
    for (id, requested_at) in service.store.resends_due(FAN_OUT_BATCH).await? {
        let Some(alert) = service.store.alert(id).await? else {
            continue;
        };
        let rows = plan(service, &alert).await?;
        if service
            .store
            .fan_out_resend(id, requested_at, &rows)
            .await?
        {
            service.events.publish(DomainEvent::AlertFannedOut {
                alert_id: id,
                deliveries: rows.len(),
            });
            done += 1;
        }
    }
    Ok(done)
}

/// The source of template `name` in `lang`: the admins' version, else the
/// built-in one.
pub async fn template_source<S: Backend>(
    service: &Service<S>,
    name: &str,
    lang: Lang,
) -> Result<(String, bool), NotifyError> {
    if let Some(t) = service.store.template(name, lang).await? {
        return Ok((t.body, true));
    }
    templates::builtin(name, lang)
        .map(|s| (s.to_string(), false))
        .ok_or_else(|| TemplateError::UnknownName(name.to_string()).into())
}

/// Renders template `name` over `view`: the admins' version, falling back
/// to the built-in one if it no longer renders (it was checked when saved;
/// a new field or limit could still break it).
async fn render<S: Backend>(
    service: &Service<S>,
    name: &str,
    lang: Lang,
    view: &AlertView,
) -> Result<String, NotifyError> {
    let (source, stored) = template_source(service, name, lang).await?;
    match templates::render(name, &source, view) {
        Ok(s) => Ok(s),
        Err(e) if stored => {
            tracing::warn!(template = name, %lang, error = %e, "stored template fails; using the built-in one");
            let builtin = templates::builtin(name, lang).expect("known name");
            Ok(templates::render(name, builtin, view)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The message of `delivery` of `alert`.
async fn message<S: Backend>(
    service: &Service<S>,
    alert: &Alert,
    delivery: &Delivery,
) -> Result<Message, NotifyError> {
    let now = service.now();
    let user_facing = delivery.audience == Audience::User;
    let lang = if user_facing {
        match alert.user.as_deref() {
            Some(u) => service
                .store
                .account(u)
                .await?
                .and_then(|a| a.lang)
                .unwrap_or(service.notify.default_lang),
            None => service.notify.default_lang,
        }
    } else {
        service.notify.default_lang
    };
    let links = user_facing.then(|| Links {
        it_was_me: service.answers.link(alert.id, Answer::ItWasMe, now),
        not_me: service.answers.link(alert.id, Answer::NotMe, now),
        wrong_location: service.answers.link(alert.id, Answer::WrongLocation, now),
    });
    let view = AlertView::new(alert, lang, service.utc_offset(), links);
    let summary = alert.kind == AlertKind::Summary;
    let (subject, text, html) = if user_facing {
        (
            render(service, "user_subject", lang, &view).await?,
            render(service, "user_text", lang, &view).await?,
            render(service, "user_html", lang, &view).await?,
        )
    } else {
        let text = if summary {
            render(service, "summary_text", lang, &view).await?
        } else {
            render(service, "admin_text", lang, &view).await?
        };
        (
            render(service, "admin_subject", lang, &view).await?,
            text,
            render(service, "admin_html", lang, &view).await?,
        )
    };
    let markdown = if summary {
        templates::escape_markdown(&text)
    } else {
        render(service, "chat_md", lang, &view).await?
    };
    let short = render(service, "sms_text", lang, &view).await?;
    Ok(Message {
        delivery_id: delivery.id,
        alert_id: alert.id,
        recipient: delivery.recipient.clone(),
        subject: warden_core::text::one_line(&subject, 200),
        text,
        html,
        markdown,
        short: warden_core::text::one_line(&short, 300),
        fields: serde_json::to_value(&view).unwrap_or_default(),
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One worker round: sends up to a batch of due deliveries. Returns how
/// many were sent.
pub async fn deliver_due<S: Backend>(service: &Service<S>) -> Result<usize, NotifyError> {
    let now = service.now();
    let due = service.store.due_deliveries(now, SEND_BATCH).await?;
    let mut sent = 0;
    for d in due {
        let started = std::time::Instant::now();
        let outcome = try_send(service, &d).await;
        let kind = service.notify.channel(&d.channel).map(|c| c.kind);
        match outcome {
            Ok(()) => {
                service.store.delivery_sent(d.id, service.now()).await?;
                sent += 1;
                service.events.publish(DomainEvent::DeliveryAttempted {
                    delivery: &d,
                    kind,
                    error: None,
                    gave_up: false,
                    elapsed: started.elapsed(),
                });
            }
            Err(e) => {
                let attempts = d.attempts + 1;
                let permanent = matches!(
                    e,
                    NotifyError::UnknownChannel(_) | NotifyError::Send(SendError::Config(..))
                );
                let give_up = permanent || attempts >= service.notify.retry.max_attempts;
                let retry_at = (!give_up).then(|| {
                    let wait = backoff(&service.notify.retry, attempts, rand::random::<f64>());
                    service.now().plus_secs(wait.as_secs().max(1) as i64)
                });
                let error = warden_core::text::one_line(&e.to_string(), channels::MAX_ERROR_CHARS);
                service
                    .store
                    .delivery_failed(
                        d.id,
                        &FailedTry {
                            attempts,
                            retry_at,
                            error: error.clone(),
                        },
                    )
                    .await?;
                service.events.publish(DomainEvent::DeliveryAttempted {
                    delivery: &d,
                    kind,
                    error: Some(&error),
                    gave_up: give_up,
                    elapsed: started.elapsed(),
                });
            }
        }
    }
    Ok(sent)
}

async fn try_send<S: Backend>(service: &Service<S>, d: &Delivery) -> Result<(), NotifyError> {
    let channel = service
        .notify
        .channel(&d.channel)
        .ok_or_else(|| NotifyError::UnknownChannel(d.channel.clone()))?;
    let alert = service
        .store
        .alert(d.alert_id)
        .await?
        .ok_or_else(|| NotifyError::Invalid(format!("alert {} is gone", d.alert_id)))?;
    let msg = message(service, &alert, d).await?;
    channels::send(channel, &msg, now_ms()).await?;
    Ok(())
}

/// Updates the `warden_notify_deliveries{state}` gauges from the store.
pub async fn refresh_gauges<S: Backend>(service: &Service<S>) -> Result<(), NotifyError> {
    let counts = service.store.delivery_counts().await?;
    for state in DeliveryState::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| s == state)
            .map(|(_, n)| *n)
            .unwrap_or(0);
        metrics::gauge!("warden_notify_deliveries", "state" => state.as_str()).set(n as f64);
    }
    Ok(())
}

/// Runs fan-out and sending every `notify.poll` until the runtime stops.
pub fn spawn<S: Backend>(service: std::sync::Arc<Service<S>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(service.notify.poll.max(Duration::from_millis(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut round: u64 = 0;
        loop {
            tick.tick().await;
            if let Err(e) = fan_out(&service).await {
                tracing::warn!(error = %e, "alert fan-out failed; will retry");
            }
            if let Err(e) = fan_out_resends(&service).await {
                tracing::warn!(error = %e, "fanning out resends failed; will retry");
            }
            if let Err(e) = deliver_due(&service).await {
                tracing::warn!(error = %e, "delivery round failed; will retry");
            }
            if round.is_multiple_of(10) {
                let _ = refresh_gauges(&service).await;
            }
            round += 1;
        }
    })
}

/// A made-up foreign login to preview templates and test channels with.
pub fn sample_alert(now: Timestamp) -> Alert {
    Alert {
        id: 0,
        kind: AlertKind::UnusualLocation,
        grade: Grade::Warning,
        state: AlertState::Open,
        user: Some("user@example.com".into()),
        created_at: now,
        ts: now,
        last_ts: now,
        count: 1,
        dedupe_key: "sample".into(),
        notify_user: true,
        notify_admins: true,
        ip: Some(std::net::IpAddr::from([102, 89, 1, 2])),
        country: Country::new("NG").ok(),
        region: Some("Lagos".into()),
        city: Some("Ikeja".into()),
        asn: Some(29465),
        isp: Some("MTN Nigeria".into()),
        device: Some("iPhone".into()),
        client: Some("iOS Mail".into()),
        protocol: Some(Protocol::Imap),
        decision: Some(Decision::Allow),
        succeeded: true,
        reasons: vec![ReasonCode::UnusualCountry],
        event_id: None,
        answer: None,
        answered_at: None,
        answered_ip: None,
        note: String::new(),
    }
}

fn sample_view<S: Backend>(service: &Service<S>, name: &str, lang: Lang) -> AlertView {
    let now = service.now();
    let mut alert = sample_alert(now);
    if name == "summary_text" {
        alert.kind = AlertKind::Summary;
        alert.count = 120;
        alert.note = "unusual_location: 120".into();
    }
    let links = name.starts_with("user_").then(|| Links {
        it_was_me: service.answers.link(0, Answer::ItWasMe, now),
        not_me: service.answers.link(0, Answer::NotMe, now),
        wrong_location: service.answers.link(0, Answer::WrongLocation, now),
    });
    AlertView::new(&alert, lang, service.utc_offset(), links)
}

/// Renders template `name` in `lang` over the sample alert: `source` when
/// given (a draft), else the current one.
pub async fn preview<S: Backend>(
    service: &Service<S>,
    name: &str,
    lang: Lang,
    source: Option<&str>,
) -> Result<String, NotifyError> {
    let view = sample_view(service, name, lang);
    let source = match source {
        Some(s) => s.to_string(),
        None => template_source(service, name, lang).await?.0,
    };
    Ok(templates::render(name, &source, &view)?)
}

/// Saves an admin's version of template `name` in `lang` after checking it
/// renders over the sample alert; a template that does not render is
/// refused and nothing changes.
pub async fn set_template<S: Backend>(
    service: &Service<S>,
    name: &str,
    lang: Lang,
    body: &str,
    actor: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<String, NotifyError> {
    let rendered = preview(service, name, lang, Some(body)).await?;
    service
        .store
        .put_template(&StoredTemplate {
            name: name.to_string(),
            lang,
            body: body.to_string(),
            updated_at: service.now(),
            updated_by: warden_core::text::one_line(actor, 64),
        })
        .await?;
    service
        .publish_durable(DomainEvent::NotifyAdmin {
            action: NotifyAction::TemplateSet,
            target: name,
            lang: Some(lang),
            actor,
            ip,
            at: service.now(),
        })
        .await?;
    Ok(rendered)
}

/// Drops the admins' version of `name` in `lang`: back to the built-in
/// one. `false` when there was none.
pub async fn reset_template<S: Backend>(
    service: &Service<S>,
    name: &str,
    lang: Lang,
    actor: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<bool, NotifyError> {
    if templates::builtin(name, lang).is_none() {
        return Err(TemplateError::UnknownName(name.to_string()).into());
    }
    let removed = service.store.delete_template(name, lang).await?;
    service
        .publish_durable(DomainEvent::NotifyAdmin {
            action: NotifyAction::TemplateReset,
            target: name,
            lang: Some(lang),
            actor,
            ip,
            at: service.now(),
        })
        .await?;
    Ok(removed)
}

/// Sends the sample alert through channel `name` now (not through the
/// outbox): to `recipient` for email and SMS, to the robot otherwise.
pub async fn send_test<S: Backend>(
    service: &Service<S>,
    name: &str,
    recipient: Option<&str>,
    actor: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<(), NotifyError> {
    let channel = service
        .notify
        .channel(name)
        .ok_or_else(|| NotifyError::UnknownChannel(name.to_string()))?;
    let recipient = recipient.map(str::trim).unwrap_or("");
    if matches!(channel.kind, ChannelKind::Email | ChannelKind::Sms) && recipient.is_empty() {
        return Err(NotifyError::Invalid(format!(
            "channel {name} is {}: give a recipient",
            channel.kind
        )));
    }
    if recipient.len() > 254 || recipient.chars().any(warden_core::text::is_hidden) {
        return Err(NotifyError::Invalid(
            "the recipient is not an address or a phone number".into(),
        ));
    }
    let now = service.now();
    let alert = sample_alert(now);
    let audience = if matches!(channel.kind, ChannelKind::Email | ChannelKind::Sms) {
        Audience::User
    } else {
        Audience::Admins
    };
    let d = Delivery {
        id: 0,
        alert_id: 0,
        audience,
        channel: name.to_string(),
        recipient: recipient.to_string(),
        state: DeliveryState::Pending,
        attempts: 0,
        next_at: now,
        last_error: None,
        created_at: now,
        sent_at: None,
    };
    let mut msg = message(service, &alert, &d).await?;
    msg.subject = format!("[TEST] {}", msg.subject);
    let result = channels::send(channel, &msg, now_ms()).await;
    service
        .publish_durable(DomainEvent::NotifyAdmin {
            action: NotifyAction::ChannelTested,
            target: name,
            lang: None,
            actor,
            ip,
            at: now,
        })
        .await?;
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let r = super::super::RetrySettings {
            max_attempts: 5,
            base: Duration::from_secs(10),
            max: Duration::from_secs(60),
        };
        assert_eq!(backoff(&r, 1, 1.0), Duration::from_secs(10));
        assert_eq!(backoff(&r, 2, 1.0), Duration::from_secs(20));
        assert_eq!(backoff(&r, 3, 1.0), Duration::from_secs(40));
        assert_eq!(backoff(&r, 4, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(&r, 40, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(&r, 1, 0.0), Duration::from_secs(5));
        let mid = backoff(&r, 2, 0.5);
        assert!(mid > Duration::from_secs(10) && mid < Duration::from_secs(20));
    }
}
