//! `POST /v1/dovecot/policy`: Dovecot 2.3's auth policy server protocol
//! (`auth_policy_server_url`, the shape PowerDNS wforce also serves).
//!
//! Dovecot asks `command=allow` twice per login with the same body: before
//! the password check and, when the password was right, after it; then it
//! reports the outcome with `command=report`. The two `allow` calls are told
//! apart by Dovecot's session id (SMTP has none: then by login, address,
//! protocol and password hash), and each phase checks what fits it:
//!
//! - **before** the password: what needs no password — a plaintext mail
//!   protocol when TLS is required, a risk-control lockout of the address,
//!   a risk denial (spraying source, stuffing wave, impossible travel...);
//!   and a *tarpit* (a positive status: Dovecot waits that many seconds) for
//!   a client repeating a wrong password that already failed from there.
//! - **after** it: the same hard refusals, and with login protection on, a
//!   login the engine challenges (a new country...) is refused with the
//!   "confirm in webmail" text, shown only to someone who knew the password.
//!
//! The report feeds the outcome to the engine with the password hash as a
//! fingerprint: the same wrong password again from the same address (a
//! phone with a stale password) counts once toward lockout and spraying,
//! while different wrong passwords (guesses) count each. With
//! `passdb=warden` in the URL, Warden also verified the password
//! (`/v1/auth/verify`, which records the attempt), so a report is recorded
//! only when this policy refused the login before the password.
//!
//! This adapter only parses Dovecot's request and words the answer: the
//! phases, the tarpit, login protection and the recording are the
//! pipeline's (`warden_service::pipeline::mail`).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State;
use warden_core::counters::PasswordFingerprint;
use warden_core::verify::SiteTexts;
use warden_core::{Lang, Protocol, Verdict};
use warden_service::pipeline::mail::{MailAnswer, MailCheck, MailReport};
use warden_service::pipeline::AttemptFields;
use warden_store::Backend;

use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;
use crate::types::dovecot::{DovecotPolicyParams, DovecotPolicyRequest, DovecotPolicyResponse};

/// Dovecot's service name as a protocol. Postfix's SASL and Dovecot's
/// submission service are SMTP; ManageSieve, doveadm and the rest are API
/// access (no TLS rule, no mail-client rules).
pub fn protocol_of(service: &str) -> Protocol {
    match service.trim().to_ascii_lowercase().as_str() {
        "imap" => Protocol::Imap,
        "pop3" => Protocol::Pop3,
        "smtp" | "submission" | "lmtp" => Protocol::Smtp,
        _ => Protocol::Api,
    }
}

/// The fingerprint of a `pwhash` (hex, usually 3 or 4 digits).
pub fn fingerprint(pwhash: &str) -> Option<PasswordFingerprint> {
    warden_service::pipeline::password_fingerprint(pwhash)
}

/// The client's IMAP `ID` as Warden's client classifier reads it: Dovecot's
/// `%{client_id}` is the parameter list without its parentheses. The client
/// chooses it, so it is cut to what an attempt keeps and its control
/// characters become spaces: an over-long or odd ID must never turn the
/// check into an error (Dovecot would let the login through unchecked).
pub fn imap_id(client_id: &str) -> Option<String> {
    let id: String = client_id
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let id = id.trim();
    if id.is_empty() {
        return None;
    }
    let mut out = if id.starts_with('"') {
        format!("({id})")
    } else {
        id.to_string()
    };
    let max = warden_core::MAX_USER_AGENT_LEN;
    if out.len() > max {
        let mut cut = max;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    Some(out)
}

/// Whether the connection is encrypted: Dovecot's `tls`, or `secured` from
/// a SASL client (Dovecot's own logins say `secured` for a trusted network,
/// which is no encryption).
pub fn is_tls(protocol: Protocol, tls: bool, secured: &str) -> bool {
    tls || secured.eq_ignore_ascii_case("tls")
        || (secured == "secured" && !matches!(protocol, Protocol::Imap | Protocol::Pop3))
}

/// The longest text a refused client is sent.
const MAX_MESSAGE_CHARS: usize = 400;

/// The text a refused client sees: for IMAP with the response code first,
/// which Dovecot then sends unchanged (`NO [CONTACTADMIN] ...`); for POP3
/// and SMTP the plain text (`-ERR [AUTH] ...`, `535 5.7.8 ...`). One line,
/// no control characters.
pub fn client_message(
    protocol: Protocol,
    verdict: &Verdict,
    lang: Lang,
    offset: i32,
    site: &SiteTexts,
) -> String {
    let text = warden_core::text::one_line(
        &verdict.message_with(lang, offset, site).unwrap_or_default(),
        MAX_MESSAGE_CHARS,
    );
    match (protocol, verdict.reason) {
        (Protocol::Imap, Some(r)) => format!("[{}] {text}", r.imap_code()),
        _ => text,
    }
}

/// The request's address: `remote`, else `real_remote`.
fn remote_of(req: &DovecotPolicyRequest) -> &str {
    if req.remote.trim().is_empty() {
        req.real_remote.trim()
    } else {
        req.remote.trim()
    }
}

/// The longest session id and password hash accepted (Dovecot's are a few
/// dozen characters): the sessions map is bounded in bytes too.
const MAX_KEY_PART: usize = 256;

/// The key tying a login's checks and report together: Dovecot's session
/// id, or (SMTP has none) login, address, protocol and password hash. An
/// over-long part is replaced by its hash: never an error, which Dovecot
/// would take as "Warden failed" and let the login through unchecked.
fn session_key(req: &DovecotPolicyRequest, ip: IpAddr, protocol: Protocol) -> String {
    let bounded = |v: &str| -> String {
        if v.len() <= MAX_KEY_PART {
            v.to_string()
        } else {
            format!("#{:016x}", warden_core::hash::stable_hash(&[v.as_bytes()]))
        }
    };
    if req.session_id.is_empty() {
        format!(
            "k\0{}\0{ip}\0{}\0{}",
            bounded(req.login.trim()),
            protocol.as_str(),
            bounded(&req.pwhash)
        )
    } else {
        format!("s\0{}", bounded(&req.session_id))
    }
}

/// Dovecot's JSON body, read leniently: bytes that are not UTF-8 (a
/// client's IMAP ID or login passed through as it came) become U+FFFD
/// instead of failing the request, which Dovecot would take as "Warden
/// failed" and let the login through unchecked.
pub struct DovecotJson(pub DovecotPolicyRequest);

impl<S: Send + Sync> axum::extract::FromRequest<S> for DovecotJson {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad(format!("cannot read the body: {}", e.body_text()))
                }
            })?;
        let text = String::from_utf8_lossy(&body);
        serde_json::from_str(&text)
            .map(DovecotJson)
            .map_err(|e| ApiError::bad(format!("invalid JSON body: {e}")))
    }
}

fn answer(status: i32, msg: String) -> ApiJson<DovecotPolicyResponse> {
    ApiJson(DovecotPolicyResponse { status, msg })
}

/// Dovecot's auth policy requests: `command=allow` before and after the
/// password check, `command=report` with the outcome.
#[utoipa::path(
    post,
    path = "/v1/dovecot/policy",
    tag = "mail servers",
    params(DovecotPolicyParams),
    request_body = DovecotPolicyRequest,
    responses(
        (status = 200, description = "`status` < 0: refuse with `msg`; 0: go on; > 0: delay that many seconds, then go on. Reports always answer 0.", body = DovecotPolicyResponse),
        (status = 400, description = "Unknown command, malformed JSON or an address that is not one", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong API key (`auth_policy_server_api_header = X-API-Key: KEY`)", body = crate::error::ErrorBody),
        (status = 503, description = "Storage unavailable (report not recorded)", body = crate::error::ErrorBody),
    ),
    security(("api_key_header" = []), ("api_key" = []))
)]
pub async fn policy<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiQuery(params): ApiQuery<DovecotPolicyParams>,
    DovecotJson(req): DovecotJson,
) -> Result<ApiJson<DovecotPolicyResponse>, ApiError> {
    let report = match params.command.as_str() {
        "allow" => false,
        "report" => true,
        other => {
            return Err(ApiError::bad(format!(
                "command: {} is not allow or report",
                warden_service::error::shown(other)
            )))
        }
    };
    // The translated name when Dovecot sends it (`user=%{user}`): the one
    // Warden's accounts are named by, whatever the client typed.
    let name = if req.user.trim().is_empty() {
        req.login.as_str()
    } else {
        req.user.as_str()
    };
    if name.trim().is_empty() {
        // Nothing to judge (a mechanism without a user name).
        return Ok(answer(0, String::new()));
    }
    let remote = remote_of(&req);
    let ip: IpAddr = remote.parse().map_err(|_| {
        ApiError::bad(format!(
            "remote: {} is not an IP address (auth_policy_request_attributes needs remote=%{{rip}})",
            warden_service::error::shown(remote)
        ))
    })?;
    let protocol = protocol_of(&req.protocol);
    let key = session_key(&req, ip, protocol);
    let user_agent = imap_id(&req.device_id);
    let attempt = match state.attempt(AttemptFields {
        user: name,
        ip: remote,
        protocol,
        ts: None,
        device: None,
        user_agent: user_agent.as_deref(),
    }) {
        Ok(a) => a,
        // The client typed a name no account can have (over-long, control
        // characters): refuse it, never an error (Dovecot would let the
        // login through unchecked); its report counts as a failure from
        // its address (spraying, waves) under a stand-in for the name.
        Err(_) if report => {
            if req.success != Some(true) {
                state.count_unnamed_failure(name, ip).await;
            }
            return Ok(answer(0, String::new()));
        }
        Err(_) => {
            let text = match (protocol, state.config.dovecot_lang) {
                (Protocol::Imap, Lang::Zh) => "[AUTHENTICATIONFAILED] 用户名或密码错误。",
                (Protocol::Imap, Lang::En) => "[AUTHENTICATIONFAILED] Wrong user name or password.",
                (_, Lang::Zh) => "用户名或密码错误。",
                (_, Lang::En) => "Wrong user name or password.",
            };
            return Ok(answer(-1, text.to_string()));
        }
    };
    let fingerprint = fingerprint(&req.pwhash);
    let warden_verifies = params.passdb.as_deref() == Some("warden");
    if report {
        state
            .mail_report(MailReport {
                key,
                attempt,
                fingerprint,
                success: req.success == Some(true),
                policy_rejected: req.policy_reject == Some(true),
                warden_verifies,
            })
            .await?;
        return Ok(answer(0, String::new()));
    }
    let checked = state
        .mail_check(MailCheck {
            key,
            attempt,
            fingerprint,
            tls: is_tls(protocol, req.tls, &req.secured),
            warden_verifies,
        })
        .await?;
    Ok(match checked.answer {
        MailAnswer::Go => answer(0, String::new()),
        MailAnswer::Tarpit(secs) => answer(i32::try_from(secs).unwrap_or(i32::MAX), String::new()),
        MailAnswer::Refuse(v) => answer(
            -1,
            client_message(
                protocol,
                &v,
                state.config.dovecot_lang,
                checked.utc_offset,
                &state.texts,
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_map_to_protocols() {
        assert_eq!(protocol_of("imap"), Protocol::Imap);
        assert_eq!(protocol_of("POP3"), Protocol::Pop3);
        assert_eq!(protocol_of("smtp"), Protocol::Smtp);
        assert_eq!(protocol_of("submission"), Protocol::Smtp);
        assert_eq!(protocol_of("sieve"), Protocol::Api);
    }

    #[test]
    fn client_ids_and_tls() {
        assert_eq!(
            imap_id(r#""name" "Thunderbird" "version" "115.3""#).as_deref(),
            Some(r#"("name" "Thunderbird" "version" "115.3")"#)
        );
        assert_eq!(imap_id(" "), None);
        // A hostile ID is cut and cleaned, never refused.
        let long = format!("\"name\" \"{}\"", "é".repeat(5000));
        let id = imap_id(&long).unwrap();
        assert!(id.len() <= warden_core::MAX_USER_AGENT_LEN, "{}", id.len());
        assert_eq!(imap_id("\"name\"\r\n\"x\"").unwrap(), "(\"name\"  \"x\")");
        assert!(is_tls(Protocol::Imap, true, ""));
        assert!(!is_tls(Protocol::Imap, false, "secured"));
        assert!(is_tls(Protocol::Smtp, false, "secured"));
        assert!(is_tls(Protocol::Smtp, false, "TLS"));
        assert!(!is_tls(Protocol::Smtp, false, ""));
    }

    #[test]
    fn pwhash_fingerprints() {
        assert_eq!(fingerprint(""), None);
        assert_eq!(fingerprint("0d52"), Some(0x0d52));
        assert_eq!(fingerprint("0D52"), Some(0x0d52));
        let long = "0123456789abcdef0123456789abcdef";
        assert_eq!(fingerprint(long), fingerprint(long));
        assert_ne!(fingerprint(long), fingerprint("0123456789abcdef"));
        assert!(fingerprint("not hex").is_some());
    }
}
