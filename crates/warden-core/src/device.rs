//! A user's sessions and devices: which device a login comes from (its
//! [`device_key`]), what a session record holds ([`DeviceSession`]) and the
//! one rule that lets a device in, keeps a new one waiting for approval or
//! refuses one that was signed out ([`gate`]). Data and pure rules only.
//!
//! A device is what the client says it is: its device id when it sends one,
//! else its client family and protocol ("thunderbird/imap"). A client can
//! claim another's key, so a device is a convenience for users and admins
//! (and the unit of approval), not a credential: cutting an attacker off
//! takes revoking the credentials too (log out everywhere with codes, a new
//! password).

use std::net::IpAddr;

use crate::account::wire_names;
use crate::client::classify;
use crate::domain::{Country, LoginAttempt, Name, Protocol};
use crate::time::Timestamp;

/// The longest device key kept, in bytes.
pub const MAX_DEVICE_KEY_LEN: usize = 128;
/// The longest client or OS description kept, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 64;

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// The device logs in.
    Active,
    /// New-device approval: the device waits for the user or an admin.
    Pending,
    /// Signed out by the user or an admin: refused until it presents a
    /// credential issued after the revocation, or is approved again.
    Revoked,
}

wire_names!(SessionState, "session state",
    Active => "active",
    Pending => "pending",
    Revoked => "revoked",
);

/// One session: a device of a user, refreshed by its successful logins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSession {
    /// Assigned by the store.
    pub id: i64,
    pub user: Name,
    /// [`device_key`].
    pub device: String,
    /// The client as a person reads it (`Thunderbird 115.3`).
    pub client: Option<String>,
    /// The operating system, where the user agent or IMAP ID tells it.
    pub os: Option<String>,
    /// The protocol of the last login.
    pub protocol: Protocol,
    /// The address of the last login.
    pub ip: IpAddr,
    pub country: Option<Country>,
    pub city: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub state: SessionState,
    /// When the state was last set (approved, pending since, revoked at).
    pub state_at: Timestamp,
    /// Who set it: `user`, `admin` or `system`.
    pub state_by: String,
    /// Trusted until then (the user or an admin vouched for the device).
    pub trusted_until: Option<Timestamp>,
}

impl DeviceSession {
    /// The session `attempt` opens or refreshes, from `info` (its place),
    /// in `state` set by `by` at the attempt's time.
    pub fn observed(
        attempt: &LoginAttempt,
        info: &crate::domain::IpInfo,
        state: SessionState,
        by: &str,
    ) -> Self {
        let l = &info.location;
        DeviceSession {
            id: 0,
            user: attempt.user.clone(),
            device: device_key(attempt),
            client: client_of(attempt),
            os: attempt.user_agent.as_deref().and_then(os_of),
            protocol: attempt.protocol,
            ip: attempt.ip,
            country: l.country,
            city: l
                .city
                .as_deref()
                .map(|c| crate::text::one_line(c, MAX_DESCRIPTION_CHARS)),
            first_seen: attempt.ts,
            last_seen: attempt.ts,
            state,
            state_at: attempt.ts,
            state_by: by.to_string(),
            trusted_until: None,
        }
    }

    /// Whether the device is trusted at `now`.
    pub fn trusted(&self, now: Timestamp) -> bool {
        self.trusted_until.is_some_and(|t| now < t)
    }
}

/// The key of the device `attempt` comes from: `id:` and its device id
/// when the client sends one, else its client family and protocol
/// (`thunderbird/imap`, `chrome on windows/web`, `unknown/smtp`); lower
/// case, letters, digits and `-_.:/@` (anything else a `-`), at most
/// [`MAX_DEVICE_KEY_LEN`] bytes.
pub fn device_key(attempt: &LoginAttempt) -> String {
    let raw = match attempt.device.as_deref() {
        Some(id) => format!("id:{id}"),
        None => {
            let family = attempt
                .client
                .as_ref()
                .map(|c| c.name.clone())
                .or_else(|| attempt.user_agent.as_deref().map(|ua| classify(ua).name))
                .unwrap_or_else(|| "unknown".to_string());
            format!("{family}/{}", attempt.protocol.as_str())
        }
    };
    normalise_key(&raw)
}

/// A device key as [`device_key`] writes it (for keys from admins too).
pub fn normalise_key(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_DEVICE_KEY_LEN));
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_alphanumeric() || "-_.:/@".contains(c) {
            c
        } else if c == ' ' {
            ' '
        } else {
            '-'
        };
        if crate::text::is_hidden(c) || out.len() + c.len_utf8() > MAX_DEVICE_KEY_LEN {
            if out.len() + c.len_utf8() > MAX_DEVICE_KEY_LEN {
                break;
            }
            continue;
        }
        out.push(c);
    }
    out.trim().to_string()
}

/// The client as a person reads it, bounded.
pub fn client_of(attempt: &LoginAttempt) -> Option<String> {
    let d = attempt
        .user_agent
        .as_deref()
        .and_then(crate::client::describe)
        .or_else(|| attempt.client.as_ref().map(|c| c.name.clone()))?;
    Some(crate::text::one_line(&d, MAX_DESCRIPTION_CHARS)).filter(|s| !s.is_empty())
}

/// The operating system a user agent or an IMAP ID names: the IMAP ID's
/// `os` (with `os-version`), else the system a browser's or mail app's
/// user agent names (`Windows`, `macOS`, `iOS`, `Android`, `Linux`).
pub fn os_of(user_agent: &str) -> Option<String> {
    let raw = user_agent.trim();
    if raw.starts_with('(') {
        let mut parts = raw.split('"').skip(1).step_by(2);
        let (mut os, mut version) = (None, None);
        while let (Some(k), Some(v)) = (parts.next(), parts.next()) {
            if k.eq_ignore_ascii_case("os") {
                os = os.or(crate::text::program_name(v));
            } else if k.eq_ignore_ascii_case("os-version") {
                version = version.or(crate::text::program_name(v));
            }
        }
        if let Some(os) = os {
            let s = match version {
                Some(v) => format!("{os} {v}"),
                None => os,
            };
            return Some(crate::text::one_line(&s, MAX_DESCRIPTION_CHARS));
        }
    }
    let l = raw.to_ascii_lowercase();
    let os = if l.contains("android") {
        "Android"
    } else if l.contains("iphone") || l.contains("ipad") || l.contains("ios") {
        "iOS"
    } else if l.contains("windows") {
        "Windows"
    } else if l.contains("mac os") || l.contains("macintosh") || l.contains("darwin") {
        "macOS"
    } else if l.contains("linux") || l.contains("x11") {
        "Linux"
    } else {
        return None;
    };
    Some(os.to_string())
}

/// What [`gate`] lets a device do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Log in (and the session is refreshed).
    Allow,
    /// A signed-out device presenting a credential issued after it was
    /// signed out: log in, and the session is active again.
    Reactivate,
    /// New-device approval: wait, pending since then (now for a device
    /// never seen).
    Pending { since: Timestamp, new: bool },
    /// Signed out then: refused.
    Revoked { at: Timestamp },
}

/// Whether a device with `session` (`None`: never seen) may log in with a
/// correct credential issued at `credential_issued` (`None`: unknown, e.g.
/// when the mail server checked the password itself), when the account's
/// policy `approval` requires new devices to be approved.
///
/// - A signed-out device is refused until it presents a credential issued
///   after the sign-out (a new password, a new authorization code), or is
///   approved again.
/// - With approval on, a device never seen, or one still pending, waits;
///   an approved, active or trusted device logs in.
pub fn gate(
    session: Option<&DeviceSession>,
    approval: bool,
    credential_issued: Option<Timestamp>,
    now: Timestamp,
) -> Gate {
    match session {
        None if approval => Gate::Pending {
            since: now,
            new: true,
        },
        None => Gate::Allow,
        Some(s) => match s.state {
            SessionState::Active => Gate::Allow,
            SessionState::Pending if !approval || s.trusted(now) => Gate::Allow,
            SessionState::Pending => Gate::Pending {
                since: s.state_at,
                new: false,
            },
            SessionState::Revoked => {
                if credential_issued.is_some_and(|t| t > s.state_at) {
                    Gate::Reactivate
                } else {
                    Gate::Revoked { at: s.state_at }
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(device: Option<&str>, ua: Option<&str>, protocol: Protocol) -> LoginAttempt {
        LoginAttempt::new(
            Timestamp(1_700_000_000),
            "kim@example.com",
            "203.0.113.5".parse().unwrap(),
            protocol,
            device,
            ua,
        )
        .unwrap()
    }

    fn session(state: SessionState, at: i64) -> DeviceSession {
        DeviceSession {
            id: 1,
            user: "kim@example.com".into(),
            device: "thunderbird/imap".into(),
            client: None,
            os: None,
            protocol: Protocol::Imap,
            ip: "203.0.113.5".parse().unwrap(),
            country: None,
            city: None,
            first_seen: Timestamp(at),
            last_seen: Timestamp(at),
            state,
            state_at: Timestamp(at),
            state_by: "admin".into(),
            trusted_until: None,
        }
    }

    #[test]
    fn keys_are_the_device_id_else_client_family_and_protocol() {
        let a = attempt(Some("  iPhone-ABC 12 "), None, Protocol::Imap);
        assert_eq!(device_key(&a), "id:iphone-abc 12");
        let a = attempt(
            None,
            Some(r#"("name" "Thunderbird" "version" "115.3")"#),
            Protocol::Imap,
        );
        assert_eq!(device_key(&a), "thunderbird/imap");
        let a = attempt(None, None, Protocol::Smtp);
        assert_eq!(device_key(&a), "unknown/smtp");
        let long = "x".repeat(250);
        let a = attempt(Some(&long), None, Protocol::Imap);
        assert_eq!(device_key(&a).len(), MAX_DEVICE_KEY_LEN);
        assert_eq!(normalise_key("A<b>\"c"), "a-b--c");
    }

    #[test]
    fn the_os_comes_from_the_imap_id_or_the_user_agent() {
        assert_eq!(
            os_of(r#"("name" "iPhone Mail" "os" "iOS" "os-version" "17.1")"#).as_deref(),
            Some("iOS 17.1")
        );
        assert_eq!(
            os_of("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120").as_deref(),
            Some("Windows")
        );
        assert_eq!(os_of("curl/8.5.0"), None);
    }

    #[test]
    fn the_gate_waits_refuses_and_reactivates() {
        let now = Timestamp(2_000);
        assert_eq!(gate(None, false, None, now), Gate::Allow);
        assert_eq!(
            gate(None, true, None, now),
            Gate::Pending {
                since: now,
                new: true
            }
        );
        let pending = session(SessionState::Pending, 1_000);
        assert_eq!(
            gate(Some(&pending), true, None, now),
            Gate::Pending {
                since: Timestamp(1_000),
                new: false
            }
        );
        assert_eq!(gate(Some(&pending), false, None, now), Gate::Allow);
        let mut trusted = pending.clone();
        trusted.trusted_until = Some(Timestamp(3_000));
        assert_eq!(gate(Some(&trusted), true, None, now), Gate::Allow);
        let active = session(SessionState::Active, 1_000);
        assert_eq!(gate(Some(&active), true, None, now), Gate::Allow);
        let revoked = session(SessionState::Revoked, 1_000);
        assert_eq!(
            gate(Some(&revoked), false, Some(Timestamp(900)), now),
            Gate::Revoked {
                at: Timestamp(1_000)
            }
        );
        assert_eq!(
            gate(Some(&revoked), false, None, now),
            Gate::Revoked {
                at: Timestamp(1_000)
            }
        );
        assert_eq!(
            gate(Some(&revoked), true, Some(Timestamp(1_500)), now),
            Gate::Reactivate
        );
    }
}
