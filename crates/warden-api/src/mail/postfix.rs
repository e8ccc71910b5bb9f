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
//!   recipients than it usually does (`warden_core::sending`);
//! - `DUNNO` otherwise, and for mail that is not authenticated (inbound).
//!
//! The protocol has no credential: whoever reaches the port can ask
//! anything, so it listens on loopback unless configured otherwise
//! (`postfix.allow_remote`), answers only fixed texts (never the admin's
//! note on a locked account, never an account's usual rate), and the
//! pipeline counts a recipient against an account only when it saw that
//! account's SMTP login from the same address, once per Postfix
//! `instance` and recipient.
//!
//! When Warden cannot decide (its storage fails) it answers per
//! `postfix.on_error`; when Warden is down, Postfix applies its own
//! `smtpd_policy_service_default_action` (451 4.3.5 by default: fail closed).

//!
//! This adapter parses the protocol and words the action; the decision is
//! the pipeline's (`Service::send_check`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use warden_core::AccountStatus;
use warden_service::pipeline::mail::{SendAction, SendCheck};
use warden_service::Service;
use warden_store::Backend;

/// The longest request line accepted (Postfix's attributes are short).
const MAX_LINE: u64 = 8 * 1024;
/// The most attributes in one request.
const MAX_ATTRS: usize = 100;
/// A connection idle for longer is closed (Postfix's own idle limit,
/// `smtpd_policy_service_max_idle`, is 300 s).
const IDLE: Duration = Duration::from_secs(330);

/// Settings of the policy server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PostfixSettings {
    /// Let mail through (`DUNNO`) when Warden cannot decide; else defer it.
    pub on_error_dunno: bool,
}

/// The policy server's state.
pub struct Policy<S: Backend> {
    pub service: Arc<Service<S>>,
    pub settings: PostfixSettings,
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

/// The action for one request.
pub async fn decide<S: Backend>(policy: &Policy<S>, attrs: &HashMap<String, String>) -> String {
    let get = |k: &str| attrs.get(k).map(|v| v.trim()).unwrap_or("");
    let sasl = get("sasl_username");
    if sasl.is_empty() {
        // Not submitted by an account: inbound mail is not Warden's business.
        return "DUNNO".into();
    }
    let ip: Option<IpAddr> = get("client_address")
        .parse()
        .ok()
        .map(warden_core::normalize_ip);
    let (instance, rcpt) = (get("instance"), get("recipient"));
    let check = SendCheck {
        user: sasl,
        ip,
        recipient: get("protocol_state").eq_ignore_ascii_case("RCPT"),
        transaction: (!instance.is_empty()).then_some((instance, rcpt)),
    };
    action(policy.service.send_check(check).await, policy.settings)
}

/// Words a decision as Postfix's `action=` value: a fixed text per
/// decision, with nothing a request supplied and nothing an admin wrote.
pub fn action(a: SendAction, settings: PostfixSettings) -> String {
    match a {
        SendAction::Dunno => "DUNNO".into(),
        SendAction::Undecided { .. } if settings.on_error_dunno => "DUNNO".into(),
        SendAction::Undecided { .. } => {
            "DEFER_IF_PERMIT 4.3.0 Warden cannot check this sender now; try again later".into()
        }
        SendAction::AccountRefused { status, .. } => match status {
            AccountStatus::Disabled => {
                "REJECT 5.7.1 Sending refused: this account is disabled; contact your administrator"
            }
            _ => "REJECT 5.7.1 Sending refused: this account is locked; contact your administrator",
        }
        .into(),
        SendAction::RiskRefused { .. } => {
            "REJECT 5.7.1 Sending refused by risk control for this address; contact your administrator"
                .into()
        }
        SendAction::RateDeferred { window_minutes, .. } => format!(
            "DEFER_IF_PERMIT 4.7.1 Sending rate limit: too many recipients in the last {window_minutes} minutes; try again later"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_fixed_texts() {
        let s = PostfixSettings::default();
        let a = action(
            SendAction::AccountRefused {
                user: "kim\u{202e}".into(),
                status: AccountStatus::Locked,
            },
            s,
        );
        assert_eq!(
            a,
            "REJECT 5.7.1 Sending refused: this account is locked; contact your administrator"
        );
        let a = action(
            SendAction::RateDeferred {
                user: "kim".into(),
                recent: 100,
                usual: 3.0,
                window_minutes: 60,
            },
            s,
        );
        assert!(!a.contains("kim") && !a.contains("100"), "{a}");
        assert_eq!(
            action(SendAction::Undecided { user: "kim".into() }, s),
            "DEFER_IF_PERMIT 4.3.0 Warden cannot check this sender now; try again later"
        );
        assert_eq!(
            action(
                SendAction::Undecided { user: "kim".into() },
                PostfixSettings {
                    on_error_dunno: true
                }
            ),
            "DUNNO"
        );
    }
}
