//! JSON of the Dovecot auth policy endpoint (`POST /v1/dovecot/policy`):
//! the body Dovecot 2.3 sends (`auth_policy_request_attributes`, every
//! value a string, plus the `tls` boolean; a report adds the `success` and
//! `policy_reject` booleans) and the `{"status", "msg"}` it expects back.
//! The shape is PowerDNS wforce's, so Dovecot needs no plugin.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// What Dovecot sends. Unknown attributes are ignored, so a site may add its
/// own to `auth_policy_request_attributes`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DovecotPolicyRequest {
    /// The login name as the client typed it (`%{requested_username}`).
    #[serde(default, deserialize_with = "lenient_string")]
    #[schema(example = "alice@example.com")]
    pub login: String,
    /// `%{user}`: the user name after Dovecot's translations
    /// (`auth_default_realm`, `auth_username_format`), the name Warden's
    /// accounts, counters and history use when given; else `login`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub user: String,
    /// The client address (`%{rip}`; with `login_trusted_networks`, the one a
    /// proxy or webmail presented).
    #[serde(default, deserialize_with = "lenient_string")]
    #[schema(example = "113.88.1.10")]
    pub remote: String,
    /// The connecting address (`%{real_rip}`): used when `remote` is empty.
    #[serde(default, deserialize_with = "lenient_string")]
    pub real_remote: String,
    /// Dovecot's service: `imap`, `pop3`, `smtp` (SASL for Postfix),
    /// `submission`, `sieve`...
    #[serde(default, deserialize_with = "lenient_string")]
    #[schema(example = "imap")]
    pub protocol: String,
    /// The IMAP `ID` of the client (`%{client_id}`, with `imap_id_retain = yes`).
    #[serde(default, deserialize_with = "lenient_string")]
    #[schema(example = "\"name\" \"Thunderbird\" \"version\" \"115.3\"")]
    pub device_id: String,
    /// Dovecot's session id (`%{session}`): the same for the checks before
    /// and after the password and for the report. Empty for SMTP.
    #[serde(default, deserialize_with = "lenient_string")]
    pub session_id: String,
    /// Hex of H(nonce ‖ login ‖ NUL ‖ password), truncated to
    /// `auth_policy_hash_truncate` bits: tells a repeated wrong password
    /// (a stale client) from new guesses.
    #[serde(default, deserialize_with = "lenient_string")]
    #[schema(example = "0d52")]
    pub pwhash: String,
    /// The connection is TLS (Dovecot adds it by itself).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub tls: bool,
    /// `%{secured}`: `TLS`, `secured` or empty. A SASL client such as
    /// Postfix only says `secured`, and only for a TLS session, which `tls`
    /// does not show.
    #[serde(default, deserialize_with = "lenient_string")]
    pub secured: String,
    /// Report only: the authentication succeeded.
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub success: Option<bool>,
    /// Report only: the policy server refused it.
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub policy_reject: Option<bool>,
}

/// The query string Dovecot appends (`command=allow` or `command=report`),
/// and the site's own `passdb` marker from `auth_policy_server_url`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DovecotPolicyParams {
    /// `allow` (before and after the password check) or `report` (the outcome).
    #[param(pattern = "^(allow|report)$")]
    pub command: String,
    /// `warden` when Warden also verifies the passwords (the Lua passdb or
    /// `warden checkpassword`): reports are then acknowledged but not
    /// recorded again, as the verification already recorded the attempt.
    pub passdb: Option<String>,
}

/// The answer Dovecot reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DovecotPolicyResponse {
    /// Negative: refuse (the client sees `msg`); 0: go on; positive: delay
    /// the login by this many seconds (tarpit), then go on.
    pub status: i32,
    /// For the client when refused. For IMAP it starts with the response
    /// code (`[CONTACTADMIN] ...`), which Dovecot then sends as it is.
    pub msg: String,
}

/// A string attribute; numbers and booleans are taken as their text (a site
/// may add attributes Dovecot renders unquoted), null as empty.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

fn as_bool(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) => match s.as_str() {
            "true" | "yes" | "1" | "TLS" | "tls" => Some(true),
            "false" | "no" | "0" | "" => Some(false),
            _ => None,
        },
        serde_json::Value::Number(n) => Some(n.as_i64() != Some(0)),
        _ => None,
    }
}

/// A boolean, also as `"true"`/`"yes"`/`"1"` (a `tls=%{secured}` attribute).
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    as_bool(&v).ok_or_else(|| serde::de::Error::custom(format!("{v} is not a boolean")))
}

fn lenient_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    as_bool(&v)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("{v} is not a boolean")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dovecot_bodies_parse_as_sent() {
        let allow: DovecotPolicyRequest = serde_json::from_str(
            r#"{"device_id":"\"name\" \"Thunderbird\"","login":"alice","protocol":"imap","pwhash":"0d52","real_remote":"127.0.0.1","remote":"113.88.1.10","session_id":"NB14SuVgfs5xWAEK","tls":false}"#,
        )
        .unwrap();
        assert_eq!(allow.login, "alice");
        assert_eq!(allow.device_id, "\"name\" \"Thunderbird\"");
        assert_eq!(allow.success, None);
        let report: DovecotPolicyRequest = serde_json::from_str(
            r#"{"login":"alice","remote":"1.2.3.4","protocol":"smtp","session_id":"","success":true,"policy_reject":false,"tls":true,"attrs":{"cos":"premium"},"port":"143"}"#,
        )
        .unwrap();
        assert_eq!(
            (report.success, report.policy_reject, report.tls),
            (Some(true), Some(false), true)
        );
        let odd: DovecotPolicyRequest =
            serde_json::from_str(r#"{"login":7,"tls":"TLS","success":"no"}"#).unwrap();
        assert_eq!(
            (odd.login.as_str(), odd.tls, odd.success),
            ("7", true, Some(false))
        );
        assert!(serde_json::from_str::<DovecotPolicyRequest>(r#"{"tls":"maybe"}"#).is_err());
    }
}
