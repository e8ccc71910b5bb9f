//! The key that seals TOTP secrets, checked against the database at
//! start-up. The database keeps a check value of the key (an HMAC of a
//! constant under it, `meta.secret_key_check`) beside the secrets it seals,
//! so a lost or replaced key file is refused before a user meets it, instead
//! of every two-factor login failing later. Losing the key loses the TOTP
//! secrets; [`reset_two_factor`] is the way out when no backup of it is left.

use warden_auth::SecretKey;
use warden_core::{SecurityEventKind, Timestamp};
use warden_store::{AccountStore, AccountWrite};

use crate::credentials::{event, Actor};
use crate::error::ServiceError;

/// The `meta` key of the check value.
pub const KEY_CHECK: &str = "secret_key_check";

/// What the database says about a sealing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// The key the database's check value was made with.
    Matches,
    /// The database had no check value (a new database, or one from before
    /// the check); the secrets it holds, if any, open with the key, whose
    /// check value is now stored.
    Recorded,
    /// Another key than the recorded one, but the database holds no sealed
    /// secret: nothing is lost, and the new key's check value replaced the
    /// old one.
    Replaced,
    /// Another key than the one that sealed the database's `sealed` TOTP
    /// secrets: two-factor logins would fail. Start-up must refuse.
    Mismatch { sealed: usize },
}

/// Whether `key` is the key the database's TOTP secrets are sealed with,
/// recording its check value when the database has none yet (or holds no
/// secret of another key).
pub async fn check_key<S: AccountStore>(
    store: &S,
    key: &SecretKey,
) -> Result<KeyState, ServiceError> {
    let check = warden_auth::key_check(key);
    let holders = store.totp_users().await?;
    match store.meta(KEY_CHECK).await? {
        Some(stored) if stored.as_slice() == check.as_slice() => return Ok(KeyState::Matches),
        Some(_) if !holders.is_empty() => {
            return Ok(KeyState::Mismatch {
                sealed: holders.len(),
            })
        }
        Some(_) => {
            store.set_meta(KEY_CHECK, &check).await?;
            return Ok(KeyState::Replaced);
        }
        None => {}
    }
    // No check value yet: a database of an older version may hold secrets;
    // try the key on one of them.
    if let Some(user) = holders.first() {
        if let Some(t) = store.totp(user).await? {
            if warden_auth::open(key, &t.sealed_secret, user.as_bytes()).is_err() {
                return Ok(KeyState::Mismatch {
                    sealed: holders.len(),
                });
            }
        }
    }
    store.set_meta(KEY_CHECK, &check).await?;
    Ok(KeyState::Recorded)
}

/// How many accounts hold a TOTP secret sealed with the database's key.
pub async fn sealed_secrets<S: AccountStore>(store: &S) -> Result<usize, ServiceError> {
    Ok(store.totp_users().await?.len())
}

/// The way out when the sealing key is lost with no backup: switches TOTP
/// off (enrolment and recovery codes) for every account that has it, with a
/// `two_factor_disabled` security event each, and records `key` as the
/// database's key. The users enrol again. Returns how many accounts lost
/// their TOTP.
pub async fn reset_two_factor<S: AccountStore>(
    store: &S,
    key: &SecretKey,
    now: Timestamp,
) -> Result<usize, ServiceError> {
    let holders = store.totp_users().await?;
    for user in &holders {
        let account = store.account(user).await?.map(|mut a| {
            a.two_factor_changed_at = Some(now);
            a.updated_at = now;
            a
        });
        store
            .commit(&AccountWrite {
                account,
                remove_two_factor: true,
                events: vec![event(
                    None,
                    now,
                    user,
                    SecurityEventKind::TwoFactorDisabled,
                    Actor::System,
                    "the secret key was reset: enrol TOTP again",
                )],
                ..AccountWrite::default()
            })
            .await?;
    }
    store
        .set_meta(KEY_CHECK, &warden_auth::key_check(key))
        .await?;
    Ok(holders.len())
}
