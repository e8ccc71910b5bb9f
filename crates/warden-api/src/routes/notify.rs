//! Notification admin routes: the configured channels (secrets redacted)
//! and a test send, the templates (list, show, preview, replace, reset),
//! and the outbox's deliveries with their state, attempts and errors. The
//! work is in `warden_service::notify`; these parse and format.

use std::sync::Arc;

use axum::extract::State;
use warden_core::text::quoted;
use warden_core::{DeliveryState, Lang};
use warden_service::notify::{self, outbox, templates, NotifyError};
use warden_service::ServiceError;
use warden_store::{Backend, DeliveryQuery};

// `Path` is the API's own: its rejections are JSON errors.
use crate::credentials::RequestIp;
use crate::error::ApiPath as Path;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;
use crate::types::notify::{
    ChannelDto, ChannelTestRequest, ChannelTestResponse, ChannelsResponse, DeliveriesResponse,
    DeliveryDto, DeliveryParams, DeliveryStateDto, PreviewResponse, TemplateDto, TemplateRequest,
    TemplateResetResponse, TemplatesResponse,
};
use crate::types::rfc3339;

/// Who acts through the admin API.
const ACTOR: &str = "api";

impl From<NotifyError> for ApiError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::Store(e) => e.into(),
            NotifyError::Template(e) => ApiError::refused("template_invalid", e.to_string()),
            NotifyError::Send(e) => ApiError::refused("send_failed", e.to_string()),
            NotifyError::UnknownChannel(c) => {
                ApiError::NotFound(format!("no channel is named {c:?}"))
            }
            NotifyError::Invalid(m) => ApiError::bad(m),
            NotifyError::Unavailable(m) => ServiceError::Unavailable(m).into(),
        }
    }
}

fn lang_of(v: &str) -> Result<Lang, ApiError> {
    v.parse()
        .map_err(|_| ApiError::bad(format!("lang: {} is not `en` or `zh`", quoted(v, 16))))
}

fn template_name(v: &str) -> Result<&str, ApiError> {
    templates::NAMES
        .iter()
        .copied()
        .find(|n| *n == v)
        .ok_or_else(|| {
            ApiError::bad(format!(
                "name: unknown template {}; expected one of {}",
                quoted(v, 64),
                templates::NAMES.join(", ")
            ))
        })
}

/// The configured notification channels, secrets redacted.
#[utoipa::path(get, path = "/v1/notify/channels", tag = "notify",
    responses((status = 200, body = ChannelsResponse)),
    security(("api_key" = [])))]
pub async fn list_channels<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
) -> ApiJson<ChannelsResponse> {
    let n = &state.service.notify;
    let channels = n
        .channels
        .iter()
        .map(|c| ChannelDto {
            name: c.name.clone(),
            kind: c.kind.as_str().to_string(),
            target: c.target(),
            signed: c.secret.is_some(),
            for_users: n.user_email_channel.as_deref() == Some(c.name.as_str())
                || n.user_sms_channel.as_deref() == Some(c.name.as_str()),
            admin_min_grade: n
                .admin_routes
                .iter()
                .filter(|r| r.channel == c.name)
                .map(|r| r.min_grade)
                .min()
                .map(|g| g.as_str().to_string()),
        })
        .collect();
    ApiJson(ChannelsResponse { channels })
}

/// Sends a made-up foreign-login alert through a channel now (not through
/// the outbox); email and SMS channels need a recipient.
#[utoipa::path(post, path = "/v1/notify/channels/{name}/test", tag = "notify",
    params(("name" = String, Path, description = "The channel's name", max_length = 64)),
    request_body = ChannelTestRequest,
    responses((status = 200, body = ChannelTestResponse),
        (status = 404, description = "No such channel", body = crate::error::ErrorBody),
        (status = 422, description = "The channel refused or failed the message (`send_failed`)", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn test_channel<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<ChannelTestRequest>,
) -> Result<ApiJson<ChannelTestResponse>, ApiError> {
    if req
        .recipient
        .as_ref()
        .is_some_and(|r| r.chars().count() > 254)
    {
        return Err(ApiError::bad("recipient: at most 254 characters"));
    }
    outbox::send_test(&state.service, &name, req.recipient.as_deref(), ACTOR, ip).await?;
    Ok(ApiJson(ChannelTestResponse {
        channel: name,
        sent: true,
    }))
}

async fn template_dto<S: Backend>(
    state: &AppState<S>,
    name: &str,
    lang: Lang,
) -> Result<TemplateDto, ApiError> {
    let stored = state.service.store.template(name, lang).await?;
    Ok(match stored {
        Some(t) => TemplateDto {
            name: name.to_string(),
            lang: lang.as_str().to_string(),
            body: t.body,
            customised: true,
            updated_at: Some(rfc3339(t.updated_at)),
            updated_by: Some(t.updated_by),
        },
        None => TemplateDto {
            name: name.to_string(),
            lang: lang.as_str().to_string(),
            body: templates::builtin(name, lang)
                .unwrap_or_default()
                .to_string(),
            customised: false,
            updated_at: None,
            updated_by: None,
        },
    })
}

/// Every template in both languages, as used now.
#[utoipa::path(get, path = "/v1/templates", tag = "notify",
    responses((status = 200, body = TemplatesResponse)),
    security(("api_key" = [])))]
pub async fn list_templates<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
) -> Result<ApiJson<TemplatesResponse>, ApiError> {
    let mut out = Vec::new();
    for name in templates::NAMES {
        for lang in Lang::ALL {
            out.push(template_dto(&state, name, lang).await?);
        }
    }
    Ok(ApiJson(TemplatesResponse { templates: out }))
}

/// One template as used now.
#[utoipa::path(get, path = "/v1/templates/{name}/{lang}", tag = "notify",
    params(("name" = String, Path, description = "user_subject, user_text, user_html, admin_subject, admin_text, admin_html, chat_md, sms_text or summary_text", max_length = 64),
        ("lang" = String, Path, description = "`en` or `zh`", max_length = 8)),
    responses((status = 200, body = TemplateDto)),
    security(("api_key" = [])))]
pub async fn get_template<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path((name, lang)): Path<(String, String)>,
) -> Result<ApiJson<TemplateDto>, ApiError> {
    let name = template_name(&name)?;
    let lang = lang_of(&lang)?;
    Ok(ApiJson(template_dto(&state, name, lang).await?))
}

/// A template rendered over a made-up foreign login.
#[utoipa::path(get, path = "/v1/templates/{name}/{lang}/preview", tag = "notify",
    params(("name" = String, Path, description = "The template's name", max_length = 64),
        ("lang" = String, Path, description = "`en` or `zh`", max_length = 8)),
    responses((status = 200, body = PreviewResponse)),
    security(("api_key" = [])))]
pub async fn preview_template<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path((name, lang)): Path<(String, String)>,
) -> Result<ApiJson<PreviewResponse>, ApiError> {
    let name = template_name(&name)?;
    let lang = lang_of(&lang)?;
    let rendered = notify::preview(&state.service, name, lang, None).await?;
    Ok(ApiJson(PreviewResponse {
        name: name.to_string(),
        lang: lang.as_str().to_string(),
        rendered,
    }))
}

/// Replaces a template with an admin's version after rendering it over a
/// made-up alert: one that does not render is refused (422
/// `template_invalid`) and nothing changes. Answers the rendering.
#[utoipa::path(put, path = "/v1/templates/{name}/{lang}", tag = "notify",
    params(("name" = String, Path, description = "The template's name", max_length = 64),
        ("lang" = String, Path, description = "`en` or `zh`", max_length = 8)),
    request_body = TemplateRequest,
    responses((status = 200, body = PreviewResponse),
        (status = 422, description = "The template does not render (`template_invalid`)", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn put_template<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((name, lang)): Path<(String, String)>,
    ApiJson(req): ApiJson<TemplateRequest>,
) -> Result<ApiJson<PreviewResponse>, ApiError> {
    let name = template_name(&name)?;
    let lang = lang_of(&lang)?;
    if req.body.chars().count() > templates::MAX_TEMPLATE_CHARS {
        return Err(ApiError::bad(format!(
            "body: at most {} characters",
            templates::MAX_TEMPLATE_CHARS
        )));
    }
    let rendered = outbox::set_template(&state.service, name, lang, &req.body, ACTOR, ip).await?;
    Ok(ApiJson(PreviewResponse {
        name: name.to_string(),
        lang: lang.as_str().to_string(),
        rendered,
    }))
}

/// Goes back to the built-in template.
#[utoipa::path(delete, path = "/v1/templates/{name}/{lang}", tag = "notify",
    params(("name" = String, Path, description = "The template's name", max_length = 64),
        ("lang" = String, Path, description = "`en` or `zh`", max_length = 8)),
    responses((status = 200, body = TemplateResetResponse)),
    security(("api_key" = [])))]
pub async fn reset_template<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((name, lang)): Path<(String, String)>,
) -> Result<ApiJson<TemplateResetResponse>, ApiError> {
    let name = template_name(&name)?;
    let lang = lang_of(&lang)?;
    let reset = outbox::reset_template(&state.service, name, lang, ACTOR, ip).await?;
    Ok(ApiJson(TemplateResetResponse {
        name: name.to_string(),
        lang: lang.as_str().to_string(),
        reset,
    }))
}

fn state_dto(s: DeliveryState) -> DeliveryStateDto {
    match s {
        DeliveryState::Pending => DeliveryStateDto::Pending,
        DeliveryState::Sent => DeliveryStateDto::Sent,
        DeliveryState::Failed => DeliveryStateDto::Failed,
    }
}

/// The outbox's deliveries, newest first: per alert, or the failed ones,
/// with their state, tries and last error.
#[utoipa::path(get, path = "/v1/deliveries", tag = "notify",
    params(DeliveryParams),
    responses((status = 200, body = DeliveriesResponse)),
    security(("api_key" = [])))]
pub async fn list_deliveries<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiQuery(p): ApiQuery<DeliveryParams>,
) -> Result<ApiJson<DeliveriesResponse>, ApiError> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad("limit: must be within 1..=1000"));
    }
    if p.alert_id.is_some_and(|a| a < 1) {
        return Err(ApiError::bad("alert_id: must be at least 1"));
    }
    if p.before.is_some_and(|b| b < 1) {
        return Err(ApiError::bad("before: must be at least 1"));
    }
    let rows = state
        .service
        .store
        .deliveries(DeliveryQuery {
            alert_id: p.alert_id,
            state: p.state.map(|s| match s {
                DeliveryStateDto::Pending => DeliveryState::Pending,
                DeliveryStateDto::Sent => DeliveryState::Sent,
                DeliveryStateDto::Failed => DeliveryState::Failed,
            }),
            before: p.before,
            limit,
        })
        .await?;
    let next_before = (rows.len() == limit as usize)
        .then(|| rows.last().map(|d| d.id))
        .flatten();
    let deliveries = rows
        .into_iter()
        .map(|d| DeliveryDto {
            id: d.id,
            alert_id: d.alert_id,
            audience: d.audience.as_str().to_string(),
            channel: d.channel,
            recipient: d.recipient,
            state: state_dto(d.state),
            attempts: d.attempts,
            next_at: (d.state == DeliveryState::Pending).then(|| rfc3339(d.next_at)),
            last_error: d.last_error,
            created_at: rfc3339(d.created_at),
            sent_at: d.sent_at.map(rfc3339),
        })
        .collect();
    Ok(ApiJson(DeliveriesResponse {
        deliveries,
        next_before,
    }))
}
