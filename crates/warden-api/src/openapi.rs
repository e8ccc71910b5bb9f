//! The OpenAPI document, generated from the handlers and types so it cannot
//! drift; served at `/v1/openapi.json` and checked into `docs/openapi.json`
//! (a test compares them).

use std::sync::OnceLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorDetail};
use crate::mail::dovecot;
use crate::routes::{accounts, auth, geo, health, login, users};

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
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Security),
    tags(
        (name = "login", description = "Evaluate and report login attempts"),
        (name = "users", description = "Login history and learned profiles"),
        (name = "geo", description = "IP intelligence and geolocation corrections"),
        (name = "ops", description = "Health and readiness"),
        (name = "auth", description = "Credential verification for mail servers, web/IM login with a second factor, sessions"),
        (name = "accounts", description = "Organisations, accounts, passwords, authorization codes, TOTP, security events, diagnosis"),
        (name = "mail servers", description = "Dovecot's auth policy protocol (docs/integrations/dovecot.md)"),
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
