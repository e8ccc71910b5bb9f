//! The checkpassword interface's protocol
//! (<http://cr.yp.to/checkpwd/interface.html>), which `warden checkpassword`
//! speaks for Dovecot sites that cannot install the Lua passdb: what fd 3
//! and the environment hold, the `/v1/auth/verify` body they become, and
//! how Warden's answer maps onto the interface's only answers:
//!
//! | Warden | checkpassword | the client sees |
//! |---|---|---|
//! | `ok` | runs the reply program with `USER` | logged in |
//! | `wrong_password`, `deny_risk` | exit 1 | `NO [AUTHENTICATIONFAILED] Authentication failed.` |
//! | any other reason | runs the reply program with the extra fields `nologin` and `reason` | `NO [CODE] <Warden's message>` |
//! | Warden unreachable or an error | exit 111 | `NO [UNAVAILABLE] Temporary authentication failure.` |
//!
//! `nologin` is honoured by Dovecot's own IMAP and POP3 logins only; SASL
//! clients such as Postfix would take that answer as a success, so for
//! every other service these refusals exit 1 (Postfix: `535 5.7.8 Error:
//! authentication failed`; Warden's history keeps the reason).

use serde_json::{json, Value};

use super::dovecot;

/// Exit code for "wrong user name or password".
pub const EXIT_FAILED: u8 = 1;
/// Exit code for a temporary failure (Dovecot: internal failure).
pub const EXIT_TEMPFAIL: u8 = 111;

/// What fd 3 held that is not `user NUL password NUL`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("fd 3 does not hold user NUL password NUL")]
    Shape,
    #[error("fd 3 holds an empty user name")]
    EmptyUser,
    #[error("the {0} is not UTF-8")]
    NotUtf8(&'static str),
}

/// What the login presents, from fd 3 and the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
    pub service: String,
    pub remote_ip: String,
    /// `AUTH_SECURED`: `TLS`, `secured` or empty.
    pub secured: String,
    /// `AUTH_CLIENT_ID`: the IMAP ID, with `imap_id_retain = yes`.
    pub client_id: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("service", &self.service)
            .field("remote_ip", &self.remote_ip)
            .finish_non_exhaustive()
    }
}

/// Splits `user NUL password NUL [timestamp NUL ...]`.
pub fn parse_input(bytes: &[u8]) -> Result<(String, String), InputError> {
    let mut parts = bytes.split(|&b| b == 0);
    let (Some(user), Some(password)) = (parts.next(), parts.next()) else {
        return Err(InputError::Shape);
    };
    if user.is_empty() {
        return Err(InputError::EmptyUser);
    }
    Ok((
        String::from_utf8(user.to_vec()).map_err(|_| InputError::NotUtf8("user name"))?,
        String::from_utf8(password.to_vec()).map_err(|_| InputError::NotUtf8("password"))?,
    ))
}

/// The `/v1/auth/verify` body.
pub fn verify_body(login: &Login, lang: &str) -> Value {
    let protocol = dovecot::protocol_of(&login.service);
    let mut body = json!({
        "user": login.user,
        "password": login.password,
        "protocol": protocol.as_str(),
        "ip": login.remote_ip,
        "tls": dovecot::is_tls(protocol, false, &login.secured),
        "lang": lang,
    });
    if let Some(id) = dovecot::imap_id(&login.client_id) {
        body["user_agent"] = json!(id);
    }
    body
}

/// What to answer Dovecot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Run the reply program: the login succeeded.
    Accept,
    /// Exit 1.
    Refuse,
    /// Run the reply program with `nologin` and this `reason`.
    Message(String),
    /// Exit 111.
    TempFail,
}

/// The longest text passed on to the client.
const MAX_MESSAGE_CHARS: usize = 1000;

/// Reads Warden's answer. The text goes to the
/// client as it is: Dovecot puts its own `[CONTACTADMIN]` code before a
/// `nologin` reason, whatever the reason (the interface cannot choose the
/// IMAP code, unlike the Lua passdb and the auth policy).
pub fn answer(resp: &Value) -> Answer {
    match (resp["result"].as_str(), resp["reason"].as_str()) {
        (Some("ok"), _) => Answer::Accept,
        (Some("fail"), Some("wrong_password" | "deny_risk")) => Answer::Refuse,
        (Some("fail"), _) => {
            let text = resp["message"].as_str().unwrap_or("Login refused.");
            // The reply goes into a tab-separated line.
            let text: String = text
                .chars()
                .take(MAX_MESSAGE_CHARS)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            Answer::Message(text)
        }
        _ => Answer::TempFail,
    }
}

/// Whether a refusal can carry Warden's text to the client: `nologin` is
/// read by Dovecot's own IMAP and POP3 logins, not by SASL clients.
pub fn carries_text(service: &str) -> bool {
    matches!(service.to_ascii_lowercase().as_str(), "imap" | "pop3")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_user_nul_password_nul() {
        assert_eq!(
            parse_input(b"alice@example.com\0s3cret pass\x00123\0").unwrap(),
            ("alice@example.com".into(), "s3cret pass".into())
        );
        assert_eq!(
            parse_input(b"bob\0\0").unwrap(),
            ("bob".into(), String::new())
        );
        assert!(parse_input(b"nouser").is_err());
        assert!(parse_input(b"\0pw\0").is_err());
    }

    #[test]
    fn tls_and_protocols() {
        assert!(carries_text("imap") && carries_text("pop3"));
        assert!(!carries_text("smtp"));
        let login = Login {
            user: "a".into(),
            password: "p".into(),
            service: "pop3".into(),
            remote_ip: "1.2.3.4".into(),
            secured: "TLS".into(),
            client_id: String::new(),
        };
        let b = verify_body(&login, "zh");
        assert_eq!(b["protocol"], "pop3");
        assert_eq!(b["tls"], true);
        assert!(b.get("user_agent").is_none());
        assert!(!format!("{login:?}").contains("\"p\""));
    }

    #[test]
    fn answers() {
        assert_eq!(answer(&json!({"result": "ok"})), Answer::Accept);
        assert_eq!(
            answer(&json!({"result": "fail", "reason": "wrong_password"})),
            Answer::Refuse
        );
        let code = json!({"result": "fail", "reason": "app_password_required", "imap_code": "ALERT", "message": "Use a code.\tNow"});
        assert_eq!(answer(&code), Answer::Message("Use a code. Now".into()));
        let long =
            json!({"result": "fail", "reason": "account_locked", "message": "x".repeat(5000)});
        let Answer::Message(text) = answer(&long) else {
            panic!("a message")
        };
        assert_eq!(text.chars().count(), MAX_MESSAGE_CHARS);
        assert_eq!(answer(&json!({"error": "x"})), Answer::TempFail);
    }
}
