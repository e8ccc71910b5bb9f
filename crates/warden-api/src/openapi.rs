//! The OpenAPI document, generated from the handlers and types so it cannot
//! drift; served at `/v1/openapi.json` and checked into `docs/openapi.json`
//! (a test compares them).

use std::sync::OnceLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorDetail};
use crate::mail::dovecot;
use crate::routes::{
    accounts, alerts, answers, auth, geo, health, login, notify, operations, sessions, stepup,
    users,
};

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// The error answers an operation gives by its shape, whatever the route
/// (400, 401, 408, 413, 415, 503):
/// every extractor answers them as an [`ErrorBody`] (`crate::error`). A
/// route describes its own answers (404 for a missing account, 409, 422
/// for a rule); these are added where it does not.
pub mod errors {
    /// Any parameter (path or query) or body: one that does not parse or
    /// breaks a constraint.
    pub const BAD_REQUEST: &str = "Invalid request: a parameter or field that does not parse or breaks a constraint, malformed JSON, or a body that is not a JSON object";
    /// Every operation with a security requirement (everything under `/v1`).
    pub const UNAUTHORIZED: &str = "Missing or wrong API key";
    /// Every operation with a request body.
    pub const PAYLOAD_TOO_LARGE: &str =
        "Body larger than the limit (server.max_body_bytes; 1 MiB for Dovecot's policy)";
    /// Every operation whose JSON body is required.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "No `Content-Type: application/json`";
    /// Every operation with a request body.
    pub const REQUEST_TIMEOUT: &str =
        "The body did not arrive within `server.body_timeout_secs`; the connection is closed";
    /// Every operation with a security requirement.
    pub const UNAVAILABLE: &str = "Try again after `Retry-After` seconds: every request slot is taken (`overloaded`; never for Dovecot's policy or verify), a CPU pool is full (`busy`), or the storage is unreachable (`storage_unavailable`)";
}

struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in doc.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let body = match &op.request_body {
                    Some(RefOr::T(b)) => Some(b),
                    _ => None,
                };
                let json_required = body.is_some_and(|b| {
                    b.content.contains_key("application/json")
                        && matches!(b.required, Some(utoipa::openapi::Required::True))
                });
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description));
                };
                if has_params || body.is_some() {
                    add("400", errors::BAD_REQUEST);
                }
                if secured {
                    add("401", errors::UNAUTHORIZED);
                }
                if body.is_some() {
                    add("408", errors::REQUEST_TIMEOUT);
                    add("413", errors::PAYLOAD_TOO_LARGE);
                }
                if secured {
                    add("503", errors::UNAVAILABLE);
                }
                if json_required {
                    add("415", errors::UNSUPPORTED_MEDIA_TYPE);
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Warden",
        description = "Login risk control and account protection for enterprise mail and IM: evaluate each login before the password check (allow / challenge / deny with reasons), report its outcome after; or let Warden verify the credential itself (`/v1/auth/verify`) and say why it failed. IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0."
    ),
    paths(
        login::evaluate,
        login::report,
        users::history,
        users::profile,
        geo::lookup,
        geo::list_corrections,
        geo::put_correction,
        geo::delete_correction,
        health::healthz,
        health::readyz,
        auth::verify,
        auth::login,
        auth::session,
        stepup::start,
        stepup::step_up,
        stepup::refused,
        stepup::confirm,
        stepup::security_contact,
        stepup::admin_refused,
        stepup::admin_confirm,
        dovecot::policy,
        accounts::put_org,
        accounts::list_orgs,
        accounts::create_account,
        accounts::list_accounts,
        accounts::get_account,
        accounts::delete_account,
        accounts::disable_account,
        accounts::enable_account,
        accounts::lock_account,
        accounts::unlock_account,
        accounts::import_accounts,
        accounts::check_password,
        accounts::set_password,
        accounts::create_app_password,
        accounts::list_app_passwords,
        accounts::revoke_app_password,
        accounts::revoke_all_app_passwords,
        accounts::enrol_totp,
        accounts::confirm_totp,
        accounts::disable_totp,
        accounts::regenerate_recovery_codes,
        accounts::security_events,
        accounts::diagnose,
        notify::list_channels,
        notify::test_channel,
        notify::list_templates,
        notify::get_template,
        notify::preview_template,
        notify::put_template,
        notify::reset_template,
        notify::list_deliveries,
        alerts::list,
        alerts::get,
        alerts::ack,
        alerts::close,
        alerts::resend,
        answers::answer,
        answers::review,
        answers::list_blocks,
        answers::lift_block,
        answers::list_queue,
        answers::accept,
        answers::reject,
        crate::routes::policies::list,
        crate::routes::policies::get,
        crate::routes::policies::put,
        crate::routes::policies::remove,
        crate::routes::policies::history,
        crate::routes::policies::restore,
        crate::routes::policies::dry_run,
        crate::routes::policies::groups,
        crate::routes::policies::group,
        crate::routes::policies::set_user_groups,
        crate::routes::policies::effective,
        sessions::list,
        sessions::revoke,
        sessions::approve,
        sessions::trust,
        sessions::forget,
        sessions::logout_all,
        operations::report,
        operations::list,
        operations::get,
        crate::report_page::security,
        crate::routes::audit::list,
        crate::routes::audit::public_key,
        crate::routes::audit::verify,
        crate::routes::evidence::file,
        crate::routes::evidence::page,
        crate::routes::incidents::open,
        crate::routes::incidents::list,
        crate::routes::incidents::get,
        crate::routes::incidents::patch,
        crate::routes::incidents::act,
        crate::routes::incidents::step,
        crate::routes::incidents::review,
        crate::routes::incidents::add_affected,
        crate::routes::incidents::timeline,
        crate::routes::incidents::playbooks,
    ),
    components(schemas(ErrorBody, ErrorDetail, crate::routes::evidence::EvidenceFileDto)),
    modifiers(&Security, &ErrorResponses),
    tags(
        (name = "login", description = "Evaluate and report login attempts"),
        (name = "users", description = "Login history and learned profiles"),
        (name = "geo", description = "IP intelligence and geolocation corrections"),
        (name = "ops", description = "Health and readiness"),
        (name = "auth", description = "Credential verification for mail servers, web/IM login with a second factor, sessions"),
        (name = "accounts", description = "Organisations, accounts, passwords, authorization codes, TOTP, security events, diagnosis"),
        (name = "alerts", description = "Alerts raised from the login history (list, acknowledge, close, resend) and the users' answers to \"was this you?\""),
        (name = "mail servers", description = "Dovecot's auth policy protocol (docs/integrations/dovecot.md)"),
        (name = "policies", description = "Access policies per organisation, group and user (versioned, report-only, dry run) and groups (docs: README, Protecting accounts)"),
        (name = "sessions", description = "A user's sessions and devices: list, sign out, approve, trust, forget, log out everywhere"),
        (name = "audit", description = "The tamper-evident audit log: records of every security-relevant event (SHA-256 chained, checkpoints signed with Ed25519), the public key, verification"),
        (name = "operations", description = "Sensitive operations the mail or IM system reports in accounts (forwarding and inbox rules, security contacts, passwords, 2FA, codes, tokens, exports), correlated with risky logins"),
        (name = "reports", description = "The security report of a period: one self-contained HTML page with server-drawn SVG charts (README, Security report)"),
        (name = "incidents", description = "Graded incidents (L1 credential compromise, L2 lost or stolen device, L3 data tampering or exfiltration): playbooks, one-click actions, SLA, review, timeline, and the signed evidence bundle"),
        (name = "notify", description = "Alert delivery: channels, templates, the outbox's deliveries (docs/alert-delivery.md)"),
    )
)]
pub struct ApiDoc;

/// The document as pretty JSON (built once).
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        doc.to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}
