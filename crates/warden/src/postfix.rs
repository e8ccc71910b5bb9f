//! The Postfix policy delegation server (`check_policy_service
//! inet:HOST:PORT`, Postfix's SMTPD_POLICY_README): `name=value` lines ending
//! with an empty line, answered with `action=...` and an empty line, many
//! requests per connection.
//!
//! For mail submitted by an authenticated account (`sasl_username`), from
//! `client_address`, it answers:
//!
//! - `REJECT 5.7.1 ...` when Warden considers the account compromised: an
//!   administrator locked it (`warden user lock USER --reason compromised`)
//!   or disabled it; or the risk engine refuses that address for it (a
//!   lockout, a spraying source, a denial);
//! - `DEFER_IF_PERMIT 4.7.1 ...` when the account suddenly sends to far more
//!   recipients than it usually does ([`SendingRates`]);
//! - `DUNNO` otherwise, and for mail that is not authenticated (inbound).
//!
//! When Warden cannot decide (its storage fails) it answers per
//! `postfix.on_error`; when Warden is down, Postfix applies its own
//! `smtpd_policy_service_default_action` (451 4.3.5 by default: fail closed).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use warden_api::state::Mutex;
use warden_api::AppState;
use warden_core::verify::precheck;
use warden_core::{AccountStatus, LoginAttempt, Protocol};
use warden_store::Backend;

use crate::config;

/// The longest request line accepted (Postfix's attributes are short).
const MAX_LINE: u64 = 8 * 1024;
/// The most attributes in one request.
const MAX_ATTRS: usize = 100;
/// A connection idle for longer is closed (Postfix's own idle limit,
/// `smtpd_policy_service_max_idle`, is 300 s).
const IDLE: Duration = Duration::from_secs(330);

/// Limits of the sending-rate check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    pub window_secs: i64,
    pub min_recipients: u32,
    pub factor: f64,
    pub half_life_secs: f64,
}

/// Settings of the policy server.
#[derive(Debug, Clone, PartialEq)]
pub struct PostfixSettings {
    /// Let mail through (`DUNNO`) when Warden cannot decide; else defer it.
    pub on_error_dunno: bool,
    pub rate: RateLimits,
}

impl From<&config::Postfix> for PostfixSettings {
    fn from(c: &config::Postfix) -> Self {
        PostfixSettings {
            on_error_dunno: c.on_error == "dunno",
            rate: RateLimits {
                window_secs: c.rate_window_secs as i64,
                min_recipients: c.rate_min_recipients,
                factor: c.rate_factor,
                half_life_secs: c.rate_half_life_days * 86_400.0,
            },
        }
    }
}

/// One account's sending: recipients within the window, and an
/// exponentially decayed count of all its recipients (its usual rate).
#[derive(Debug, Clone, Default)]
struct Rate {
    recent: VecDeque<i64>,
    decayed: f64,
    last: i64,
}

impl Rate {
    fn decayed_at(&self, now: i64, half_life: f64) -> f64 {
        let dt = (now - self.last).max(0) as f64;
        self.decayed * 0.5f64.powf(dt / half_life)
    }
}

/// The verdict on one more recipient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateCheck {
    /// Counted.
    Allowed,
    /// Over the limit (not counted): recipients in the window, the limit,
    /// and the account's usual count per window.
    Deferred { recent: u32, limit: u32, usual: f64 },
}

/// Per-account sending rates: a recipient is deferred when the window
/// already holds `max(min_recipients, factor × usual)` of them, where
/// `usual` is the account's long-run recipients per window. Pure state: the
/// time is passed in.
#[derive(Debug, Default)]
pub struct SendingRates {
    users: FxHashMap<String, Rate>,
    checks: u64,
}

impl SendingRates {
    /// Checks (and on success counts) one recipient of `user` at `now`.
    pub fn check(&mut self, user: &str, now: i64, l: &RateLimits) -> RateCheck {
        self.checks += 1;
        if self.checks.is_multiple_of(4096) {
            self.prune(now, l);
        }
        let r = self.users.entry(user.to_string()).or_default();
        while r.recent.front().is_some_and(|&t| t <= now - l.window_secs) {
            r.recent.pop_front();
        }
        let decayed = r.decayed_at(now, l.half_life_secs);
        let usual = decayed * std::f64::consts::LN_2 * l.window_secs as f64 / l.half_life_secs;
        let limit = (l.factor * usual)
            .ceil()
            .max(l.min_recipients as f64)
            .min(u32::MAX as f64) as u32;
        let recent = r.recent.len() as u32;
        if recent >= limit {
            return RateCheck::Deferred {
                recent,
                limit,
                usual,
            };
        }
        r.recent.push_back(now);
        r.decayed = decayed + 1.0;
        r.last = now;
        RateCheck::Allowed
    }

    /// Forgets accounts with nothing in the window and almost no history.
    pub fn prune(&mut self, now: i64, l: &RateLimits) {
        self.users.retain(|_, r| {
            r.recent.back().is_some_and(|&t| t > now - l.window_secs)
                || r.decayed_at(now, l.half_life_secs) >= 0.5
        });
    }

    /// Accounts tracked.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// The policy server's state.
pub struct Policy<S: Backend> {
    pub state: Arc<AppState<S>>,
    pub settings: PostfixSettings,
    pub rates: Mutex<SendingRates>,
}

/// Serves policy requests on `listener` until the task is aborted; aborting
/// it also ends every open connection.
pub async fn serve<S: Backend>(listener: TcpListener, policy: Arc<Policy<S>>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let policy = policy.clone();
                    connections.spawn(async move {
                        if let Err(e) = connection(stream, &policy).await {
                            tracing::debug!(%peer, error = %e, "postfix policy connection ended");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "postfix policy server cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Why a connection was dropped.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("request line longer than {MAX_LINE} bytes or not UTF-8")]
    BadLine,
    #[error("more than {MAX_ATTRS} attributes")]
    TooManyAttributes,
    #[error("idle")]
    Idle,
}

/// Reads one request: `Ok(None)` at the end of the connection.
async fn read_request(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Result<Option<HashMap<String, String>>, ConnError> {
    let mut attrs = HashMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = tokio::time::timeout(
            IDLE,
            (&mut *reader).take(MAX_LINE).read_until(b'\n', &mut line),
        )
        .await
        .map_err(|_| ConnError::Idle)??;
        if n == 0 {
            return Ok(None);
        }
        if line.last() != Some(&b'\n') {
            return Err(ConnError::BadLine);
        }
        let text = std::str::from_utf8(&line).map_err(|_| ConnError::BadLine)?;
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            return Ok(Some(attrs));
        }
        if attrs.len() >= MAX_ATTRS {
            return Err(ConnError::TooManyAttributes);
        }
        if let Some((k, v)) = text.split_once('=') {
            attrs.insert(k.to_string(), v.to_string());
        }
    }
}

async fn connection<S: Backend>(stream: TcpStream, policy: &Policy<S>) -> Result<(), ConnError> {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some(attrs) = read_request(&mut reader).await? {
        let action = decide(policy, &attrs).await;
        write
            .write_all(format!("action={action}\n\n").as_bytes())
            .await?;
    }
    Ok(())
}

/// Text safe for one SMTP reply line.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The action for one request.
pub async fn decide<S: Backend>(policy: &Policy<S>, attrs: &HashMap<String, String>) -> String {
    let get = |k: &str| attrs.get(k).map(|v| v.trim()).unwrap_or("");
    let sasl = get("sasl_username");
    if sasl.is_empty() {
        // Not submitted by an account: inbound mail is not Warden's business.
        return "DUNNO".into();
    }
    let Ok(user) = warden_core::normalize_user(sasl) else {
        return "DUNNO".into();
    };
    let state = &policy.state;
    let now = state.now();
    let ip: Option<IpAddr> = get("client_address")
        .parse()
        .ok()
        .map(warden_core::normalize_ip);
    let account = match state.store.account(&user).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(user = %user, error = %e, "postfix policy: cannot read the account");
            return if policy.settings.on_error_dunno {
                "DUNNO".into()
            } else {
                "DEFER_IF_PERMIT 4.3.0 Warden cannot check this sender now; try again later".into()
            };
        }
    };
    if let Some(a) = &account {
        let why = a
            .status_reason
            .as_deref()
            .map(|r| format!(" ({})", clean(r)))
            .unwrap_or_default();
        let state_word = match a.status {
            AccountStatus::Active => None,
            AccountStatus::Locked => Some("locked"),
            AccountStatus::Disabled => Some("disabled"),
        };
        if let Some(word) = state_word {
            tracing::warn!(user = %user, ip = ?ip, status = word, "postfix policy: refused outbound mail");
            return format!(
                "REJECT 5.7.1 Sending refused: the account {user} is {word}{why}; contact your administrator"
            );
        }
    }
    if let Some(ip) = ip {
        if let Ok(attempt) = LoginAttempt::new(now, &user, ip, Protocol::Smtp, None, None) {
            let info = state.intel.lookup(ip);
            let assessment = state.engine.lock().evaluate(&attempt, &info);
            if let Some(v) = precheck(Protocol::Smtp, true, false, ip, &assessment) {
                let reason = v.reason.map_or("risk", |r| r.as_str());
                tracing::warn!(user = %user, %ip, reason, "postfix policy: refused outbound mail");
                return format!(
                    "REJECT 5.7.1 Sending refused by risk control: {user} from {ip} ({reason}); contact your administrator"
                );
            }
        }
    }
    if get("protocol_state").eq_ignore_ascii_case("RCPT") {
        let check = policy
            .rates
            .lock()
            .check(&user, now.secs(), &policy.settings.rate);
        if let RateCheck::Deferred { recent, usual, .. } = check {
            let minutes = policy.settings.rate.window_secs / 60;
            tracing::warn!(user = %user, ip = ?ip, recent, usual, "postfix policy: sending rate far above usual");
            return format!(
                "DEFER_IF_PERMIT 4.7.1 Sending rate limit: {user} sent to {recent} recipients in the last {minutes} minutes (usually {usual:.0}); try again later"
            );
        }
    }
    "DUNNO".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RateLimits = RateLimits {
        window_secs: 3600,
        min_recipients: 20,
        factor: 5.0,
        half_life_secs: 7.0 * 86_400.0,
    };

    #[test]
    fn a_new_account_may_send_the_minimum_per_window() {
        let mut r = SendingRates::default();
        let t0 = 1_700_000_000;
        for i in 0..20 {
            assert_eq!(r.check("a", t0 + i, &LIMITS), RateCheck::Allowed);
        }
        assert!(matches!(
            r.check("a", t0 + 21, &LIMITS),
            RateCheck::Deferred {
                recent: 20,
                limit: 20,
                ..
            }
        ));
        // Another account is not affected; the window slides.
        assert_eq!(r.check("b", t0 + 22, &LIMITS), RateCheck::Allowed);
        assert_eq!(r.check("a", t0 + 3_601, &LIMITS), RateCheck::Allowed);
    }

    #[test]
    fn a_steady_sender_gets_room_in_proportion_and_a_burst_is_deferred() {
        let mut r = SendingRates::default();
        let t0 = 1_700_000_000;
        // Eight weeks of 15 recipients an hour.
        let mut t = t0;
        for _ in 0..8 * 7 * 24 {
            for i in 0..15 {
                assert_eq!(r.check("bulk", t + i * 200, &LIMITS), RateCheck::Allowed);
            }
            t += 3600;
        }
        // Usual is about 15 an hour, so the limit is about 5 × 15, of which
        // the last hour used 15.
        let mut sent = 0;
        while r.check("bulk", t + sent, &LIMITS) == RateCheck::Allowed {
            sent += 1;
            assert!(sent < 1_000);
        }
        assert!((50..=70).contains(&sent), "{sent}");
        r.prune(t + 400 * 86_400, &LIMITS);
        assert!(r.is_empty());
    }
}
