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
//! (`/v1/auth/verify`, which records the attempt), so reports are only
//! acknowledged.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::Extension;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use warden_core::counters::PasswordFingerprint;
use warden_core::hash::stable_hash;
use warden_core::verify::{precheck, Detail};
use warden_core::{
    Assessment, Decision, FailureReason, IpInfo, Lang, LoginAttempt, Outcome, Protocol, Timestamp,
    Verdict, VerifyReason,
};
use warden_store::Backend;

use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::routes::login::{assess_attempt, build_attempt, store_attempt, Recording};
use crate::state::AppState;
use crate::types::dovecot::{DovecotPolicyParams, DovecotPolicyRequest, DovecotPolicyResponse};

/// How long a session's first check waits for its second check and report.
pub const SESSION_TTL_SECS: i64 = 300;
/// At most this many sessions are remembered; the oldest go first.
pub const SESSIONS_MAX: usize = 100_000;

/// Settings of the Dovecot integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DovecotSettings {
    /// Refuse, after the password check, logins the engine challenges.
    /// Off: they go through and raise an alert.
    pub login_protection: bool,
    /// Tarpit for a repeated wrong password: this many seconds per repeat...
    pub tarpit_secs: u32,
    /// ...up to this many.
    pub tarpit_max_secs: u32,
    /// Language of the messages clients see.
    pub lang: Lang,
}

impl Default for DovecotSettings {
    fn default() -> Self {
        DovecotSettings {
            login_protection: false,
            tarpit_secs: 2,
            tarpit_max_secs: 15,
            lang: Lang::En,
        }
    }
}

/// The endpoint's state: its settings and the sessions between their checks
/// and their report. Installed as an axum `Extension`; without one, the
/// defaults apply.
pub struct DovecotPolicy {
    pub settings: DovecotSettings,
    sessions: Mutex<Sessions>,
}

impl DovecotPolicy {
    pub fn new(settings: DovecotSettings) -> Self {
        DovecotPolicy {
            settings,
            sessions: Mutex::new(Sessions::default()),
        }
    }

    fn fallback() -> Arc<DovecotPolicy> {
        static DEFAULT: OnceLock<Arc<DovecotPolicy>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| Arc::new(DovecotPolicy::new(DovecotSettings::default())))
            .clone()
    }

    /// Sessions waiting for a second check or a report, for metrics.
    pub fn open_sessions(&self) -> usize {
        self.sessions.lock().map.len()
    }
}

/// One login between its first check and its report.
struct Session {
    created: Timestamp,
    attempt: LoginAttempt,
    info: IpInfo,
    /// The assessment before the password check.
    assessment: Assessment,
    /// Why Warden refused it, if it did.
    refused: Option<VerifyReason>,
}

#[derive(Default)]
struct Sessions {
    map: FxHashMap<String, Session>,
    order: VecDeque<(Timestamp, String)>,
}

impl Sessions {
    fn expire(&mut self, now: Timestamp) {
        while let Some((t, key)) = self.order.front() {
            // An order entry is current while its session is the one in the
            // map (a key may have been reported and opened again).
            let current = self.map.get(key).is_some_and(|s| s.created == *t);
            let fresh = now.since(*t) <= SESSION_TTL_SECS && self.map.len() <= SESSIONS_MAX;
            if current && fresh {
                break;
            }
            if let Some((_, key)) = self.order.pop_front() {
                if current {
                    self.map.remove(&key);
                }
            }
        }
    }

    fn insert(&mut self, key: String, s: Session) {
        self.order.push_back((s.created, key.clone()));
        self.map.insert(key, s);
    }
}

/// Which of the two `allow` checks this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Before,
    After,
}

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

/// The fingerprint of a `pwhash` (hex, usually 3 or 4 digits): the number
/// itself when it fits, else a hash of it.
pub fn fingerprint(pwhash: &str) -> Option<PasswordFingerprint> {
    let h = pwhash.trim();
    if h.is_empty() {
        return None;
    }
    if h.len() <= 16 {
        if let Ok(v) = u64::from_str_radix(h, 16) {
            return Some(v);
        }
    }
    Some(stable_hash(&[h.as_bytes()]))
}

/// The client's IMAP `ID` as Warden's client classifier reads it: Dovecot's
/// `%{client_id}` is the parameter list without its parentheses.
pub fn imap_id(client_id: &str) -> Option<String> {
    let id = client_id.trim();
    if id.is_empty() {
        None
    } else if id.starts_with('"') {
        Some(format!("({id})"))
    } else {
        Some(id.to_string())
    }
}

/// Whether the connection is encrypted: Dovecot's `tls`, or `secured` from
/// a SASL client (Dovecot's own logins say `secured` for a trusted network,
/// which is no encryption).
pub fn is_tls(protocol: Protocol, tls: bool, secured: &str) -> bool {
    tls || secured.eq_ignore_ascii_case("tls")
        || (secured == "secured" && !matches!(protocol, Protocol::Imap | Protocol::Pop3))
}

/// The text a refused client sees: for IMAP with the response code first,
/// which Dovecot then sends unchanged (`NO [CONTACTADMIN] ...`); for POP3
/// and SMTP the plain text (`-ERR [AUTH] ...`, `535 5.7.8 ...`).
fn client_message(protocol: Protocol, verdict: &Verdict, lang: Lang, offset: i32) -> String {
    let text = verdict.message(lang, offset).unwrap_or_default();
    match (protocol, verdict.reason) {
        (Protocol::Imap, Some(r)) => format!("[{}] {text}", r.imap_code()),
        _ => text,
    }
}

/// The login protection refusal, naming the place when the engine knows it.
fn verification_required(protocol: Protocol, a: &Assessment) -> Verdict {
    let place = warden_core::verify::named_place(a);
    Verdict {
        reason: Some(VerifyReason::VerificationRequired),
        detail: Detail {
            protocol: Some(protocol),
            place,
            ..Detail::default()
        },
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

/// The key tying a login's checks and report together.
fn session_key(req: &DovecotPolicyRequest, ip: IpAddr, protocol: Protocol) -> String {
    if req.session_id.is_empty() {
        format!(
            "k\0{}\0{ip}\0{}\0{}",
            req.login.trim(),
            protocol.as_str(),
            req.pwhash
        )
    } else {
        format!("s\0{}", req.session_id)
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
    policy: Option<Extension<Arc<DovecotPolicy>>>,
    ApiQuery(params): ApiQuery<DovecotPolicyParams>,
    ApiJson(req): ApiJson<DovecotPolicyRequest>,
) -> Result<ApiJson<DovecotPolicyResponse>, ApiError> {
    let policy = policy.map_or_else(DovecotPolicy::fallback, |Extension(p)| p);
    let report = match params.command.as_str() {
        "allow" => false,
        "report" => true,
        other => {
            return Err(ApiError::bad(format!(
                "command: {other:?} is not allow or report"
            )))
        }
    };
    if req.login.trim().is_empty() {
        // Nothing to judge (a mechanism without a user name).
        return Ok(answer(0, String::new()));
    }
    let remote = remote_of(&req);
    let ip: IpAddr = remote.parse().map_err(|_| {
        ApiError::bad(format!(
            "remote: {remote:?} is not an IP address (auth_policy_request_attributes needs remote=%{{rip}})"
        ))
    })?;
    let protocol = protocol_of(&req.protocol);
    let key = session_key(&req, ip, protocol);
    let user_agent = imap_id(&req.device_id);
    let attempt = build_attempt(
        &state,
        &req.login,
        remote,
        protocol,
        None,
        None,
        user_agent.as_deref(),
    )?;
    let fp = fingerprint(&req.pwhash);
    if report {
        let skip = params.passdb.as_deref() == Some("warden");
        let outcome = record_report(&state, &policy, &key, attempt, fp, &req, skip).await?;
        metrics::counter!("warden_dovecot_policy_total", "command" => "report", "result" => outcome)
            .increment(1);
        return Ok(answer(0, String::new()));
    }
    let tls = is_tls(protocol, req.tls, &req.secured);
    let (status, msg, phase) = allow(&state, &policy, key, attempt, fp, tls);
    let result = match (status, phase) {
        (s, _) if s < 0 => "reject",
        (s, _) if s > 0 => "tarpit",
        (_, Phase::Before) => "allow",
        (_, Phase::After) => "allow_after_auth",
    };
    metrics::counter!("warden_dovecot_policy_total", "command" => "allow", "result" => result)
        .increment(1);
    Ok(answer(status, msg))
}

/// The `allow` check: (status, message, phase).
fn allow<S: Backend>(
    state: &AppState<S>,
    policy: &DovecotPolicy,
    key: String,
    attempt: LoginAttempt,
    fp: Option<PasswordFingerprint>,
    tls: bool,
) -> (i32, String, Phase) {
    let settings = &policy.settings;
    let now = attempt.ts;
    let info = state.intel.lookup(attempt.ip);
    let (assessment, offset, repeat, repeats) = {
        let engine = state.engine.lock();
        let a = engine.evaluate(&attempt, &info);
        let repeat = fp.is_some_and(|f| engine.repeats_wrong_password(&attempt, f));
        let repeats = engine
            .signals(&attempt.user, attempt.ip, now)
            .repeated_failures;
        (
            a,
            engine.policy().learning.utc_offset_minutes,
            repeat,
            repeats,
        )
    };
    let protocol = attempt.protocol;
    let phase = {
        let mut sessions = policy.sessions.lock();
        sessions.expire(now);
        if sessions.map.contains_key(&key) {
            Phase::After
        } else {
            Phase::Before
        }
    };
    let require_tls = state.credentials.settings.require_tls;
    let refusal = precheck(protocol, tls, require_tls, attempt.ip, &assessment).or_else(|| {
        (phase == Phase::After
            && settings.login_protection
            && assessment.decision == Decision::Challenge)
            .then(|| verification_required(protocol, &assessment))
    });
    let (status, msg) = match &refusal {
        Some(v) => (-1, client_message(protocol, v, settings.lang, offset)),
        None if phase == Phase::Before && repeat => {
            let secs = settings
                .tarpit_secs
                .saturating_mul(repeats.saturating_add(1))
                .min(settings.tarpit_max_secs);
            (i32::try_from(secs).unwrap_or(i32::MAX), String::new())
        }
        None => (0, String::new()),
    };
    if status < 0 {
        tracing::info!(user = %attempt.user, ip = %attempt.ip, protocol = protocol.as_str(), reason = ?refusal.as_ref().and_then(|v| v.reason), "dovecot policy refused a login");
    }
    let refused = refusal.and_then(|v| v.reason);
    let mut sessions = policy.sessions.lock();
    match phase {
        Phase::Before => sessions.insert(
            key,
            Session {
                created: now,
                attempt,
                info,
                assessment,
                refused,
            },
        ),
        Phase::After => {
            if let Some(s) = sessions.map.get_mut(&key) {
                s.refused = s.refused.or(refused);
            }
        }
    }
    (status, msg, phase)
}

/// Records a report; returns the outcome's metric label.
async fn record_report<S: Backend>(
    state: &AppState<S>,
    policy: &DovecotPolicy,
    key: &str,
    attempt: LoginAttempt,
    fp: Option<PasswordFingerprint>,
    req: &DovecotPolicyRequest,
    skip: bool,
) -> Result<&'static str, ApiError> {
    let session = {
        let mut sessions = policy.sessions.lock();
        sessions.expire(attempt.ts);
        sessions.map.remove(key)
    };
    if skip {
        return Ok("verified_by_warden");
    }
    let success = req.success == Some(true);
    let rejected = req.policy_reject == Some(true);
    let (attempt, info, assessment, refused) = match session {
        Some(s) => (s.attempt, s.info, s.assessment, s.refused),
        None => {
            let (info, a, _) = assess_attempt(state, &attempt);
            (attempt, info, a, None)
        }
    };
    // (counted by the engine, kept in the history, Warden's reason, label)
    let (counted, history, reason, label) = if rejected {
        match refused {
            Some(r) => (
                r.counted_as(true),
                Outcome::Failure(r.history_reason(true)),
                Some(r),
                "refused",
            ),
            None => (
                Some(Outcome::Failure(FailureReason::Blocked)),
                Outcome::Failure(FailureReason::Blocked),
                None,
                "refused",
            ),
        }
    } else if success {
        (Some(Outcome::Success), Outcome::Success, None, "success")
    } else {
        let f = Outcome::Failure(FailureReason::WrongPassword);
        (Some(f), f, None, "failure")
    };
    if success && !rejected && assessment.alert {
        metrics::counter!("warden_alerts_total").increment(1);
        tracing::info!(user = %attempt.user, ip = %attempt.ip, "login with an alert");
    }
    let r = Recording {
        counted,
        history,
        auth_reason: reason,
        fingerprint: fp.filter(|_| !success && !rejected),
    };
    store_attempt(state, attempt, info, assessment, r).await?;
    Ok(label)
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

    #[test]
    fn sessions_expire_in_order() {
        let ip: IpAddr = "1.2.3.4".parse().unwrap();
        let s = |t: i64| Session {
            created: Timestamp(t),
            attempt: LoginAttempt::new(Timestamp(t), "a", ip, Protocol::Imap, None, None).unwrap(),
            info: IpInfo::unknown(ip),
            assessment: Assessment {
                decision: Decision::Allow,
                risk: 0.0,
                level: warden_core::Level::Low,
                alert: false,
                reasons: vec![],
            },
            refused: None,
        };
        let mut sessions = Sessions::default();
        sessions.insert("a".into(), s(0));
        sessions.insert("b".into(), s(100));
        sessions.map.remove("a");
        sessions.insert("a".into(), s(200));
        sessions.expire(Timestamp(SESSION_TTL_SECS + 150));
        assert!(sessions.map.contains_key("a"));
        assert!(!sessions.map.contains_key("b"));
        sessions.expire(Timestamp(SESSION_TTL_SECS + 250));
        assert!(sessions.map.is_empty());
        assert!(sessions.order.is_empty());
    }
}
