//! The credential service's shared parts: password hashing and the other
//! CPU-heavy steps (strength grading, QR codes) on bounded pools of blocking
//! threads ([`crate::pool`]), the sealing key, and the account facts a login
//! and the account routes both need (organisation policy, security events,
//! writes that publish what changed). The verdict itself is the core's
//! (`warden_core::verify`).

use std::net::IpAddr;
use std::sync::Arc;

use warden_auth::{Argon2Params, PasswordHasher, PasswordPolicy, SecretKey, MAX_PASSWORD_BYTES};
use warden_core::{
    Account, Org, Protocol, SecurityEvent, SecurityEventKind, Timestamp, TwoFactorPolicy,
};
use warden_store::{AccountWrite, Backend};

use crate::error::ServiceError;
use crate::events::DomainEvent;
use crate::pool::{CpuPool, PoolSize};
use crate::Service;

/// The organisation accounts join when none is named.
pub const DEFAULT_ORG: &str = "default";

/// Settings of the credential service.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub argon2: Argon2Params,
    pub password: PasswordPolicy,
    /// Refuse IMAP/POP3/SMTP/DAV logins over plaintext connections.
    pub require_tls: bool,
    /// Lifetime of a web session.
    pub session_ttl_secs: i64,
    /// The issuer shown in authenticator apps.
    pub totp_issuer: String,
    /// argon2 (hashing, verification): each takes tens of megabytes and a
    /// full core, so more at once than cores only adds latency.
    pub hash_pool: PoolSize,
    /// zxcvbn strength grading and QR rendering.
    pub cpu_pool: PoolSize,
}

/// The pools' default sizes for this machine: one argon2 per core with 32
/// waiting per core; half the cores (at least one) for the other steps, with
/// 4 waiting per thread. Evaluations keep the request threads either way.
pub fn default_pools() -> (PoolSize, PoolSize) {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let cpu = (cores / 2).max(1);
    (
        PoolSize {
            threads: cores,
            queue: 32 * cores,
        },
        PoolSize {
            threads: cpu,
            queue: 4 * cpu,
        },
    )
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            argon2: Argon2Params::default(),
            password: PasswordPolicy::default(),
            require_tls: true,
            session_ttl_secs: 8 * 3600,
            totp_issuer: "Warden".into(),
            hash_pool: default_pools().0,
            cpu_pool: default_pools().1,
        }
    }
}

/// Password hashing, the other CPU-heavy steps, and the sealing key.
pub struct Credentials {
    pub settings: AuthSettings,
    hasher: Arc<PasswordHasher>,
    /// Seals TOTP secrets at rest; keys password fingerprints.
    pub key: SecretKey,
    /// argon2 runs here.
    pub hashing: CpuPool,
    /// Strength grading and QR rendering run here.
    pub cpu: CpuPool,
}

impl Credentials {
    pub fn new(settings: AuthSettings, key: SecretKey) -> Result<Self, ServiceError> {
        let invalid = |e: String| ServiceError::Invalid(e);
        settings
            .argon2
            .validate()
            .map_err(|e| invalid(e.to_string()))?;
        settings
            .password
            .validate()
            .map_err(|e| invalid(e.to_string()))?;
        let hasher = PasswordHasher::new(settings.argon2).map_err(|e| invalid(e.to_string()))?;
        Ok(Credentials {
            hashing: CpuPool::new("hashing", "password hashing", settings.hash_pool),
            cpu: CpuPool::new("cpu", "password strength grading", settings.cpu_pool),
            settings,
            hasher: Arc::new(hasher),
            key,
        })
    }

    /// Runs `f` with the hasher on the hashing pool.
    async fn with_hasher<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let hasher = Arc::clone(&self.hasher);
        self.hashing.run(move || f(&hasher)).await
    }

    /// Hashes a new password (at most [`MAX_PASSWORD_BYTES`]; the policy
    /// allows far fewer).
    pub async fn hash(&self, password: String) -> Result<String, ServiceError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(ServiceError::invalid(format!(
                "password: at most {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        self.with_hasher(move |h| h.hash(&password))
            .await?
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Verifies `password` against `phc`; with no hash (unknown user, no
    /// password set) it spends the same time on a dummy and answers false.
    /// A password longer than [`MAX_PASSWORD_BYTES`] cannot have been set:
    /// it is wrong, at the same cost.
    pub async fn verify(
        &self,
        phc: Option<String>,
        mut password: String,
    ) -> Result<bool, ServiceError> {
        let too_long = password.len() > MAX_PASSWORD_BYTES;
        if too_long {
            let mut cut = MAX_PASSWORD_BYTES;
            while !password.is_char_boundary(cut) {
                cut -= 1;
            }
            password.truncate(cut);
        }
        self.with_hasher(move |h| match phc {
            _ if too_long => {
                h.verify_dummy(&password);
                false
            }
            Some(phc) => h.verify(&phc, &password),
            None => {
                h.verify_dummy(&password);
                false
            }
        })
        .await
    }

    /// The stored hash was made with other parameters than the configured
    /// ones (replace it after a successful login).
    pub fn needs_rehash(&self, phc: &str) -> bool {
        self.hasher.needs_rehash(phc)
    }

    /// The keyed fingerprint of a secret presented for `user`, so a client
    /// repeating one wrong password is told from guesses.
    pub fn fingerprint(&self, user: &str, secret: &str) -> u64 {
        warden_auth::fingerprint(&self.key, user, secret)
    }
}

/// Who did it, for security events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// An operator through the admin API or CLI.
    Admin,
    /// The account's owner (self-service through webmail).
    User,
    /// Warden itself.
    System,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Admin => "admin",
            Actor::User => "user",
            Actor::System => "system",
        }
    }
}

/// A security event for `user` now, from `ip`.
pub fn event(
    ip: Option<IpAddr>,
    now: Timestamp,
    user: &str,
    kind: SecurityEventKind,
    actor: Actor,
    detail: impl Into<String>,
) -> SecurityEvent {
    SecurityEvent {
        id: 0,
        ts: now,
        user: user.into(),
        kind,
        actor: actor.as_str().to_string(),
        ip,
        detail: detail.into(),
    }
}

/// True when the org's policy demands 2FA of this account.
pub fn two_factor_required(org: &Org, account: &Account) -> bool {
    match org.two_factor {
        TwoFactorPolicy::Optional => false,
        TwoFactorPolicy::Everyone => true,
        TwoFactorPolicy::Admins => account.role == warden_core::Role::Admin,
    }
}

/// Words a password of `account` must not contain (its names, its email,
/// the company's name).
pub fn context_words(account: &Account, org: &Org) -> Vec<String> {
    let company = if org.display_name.is_empty() {
        org.name.as_ref()
    } else {
        org.display_name.as_str()
    };
    warden_auth::account_context(account, company)
}

/// The protocols an authorization code gets when none are named: the mail
/// clients' ones.
pub fn default_code_protocols() -> warden_core::ProtocolSet {
    Protocol::ALL
        .into_iter()
        .filter(|p| p.is_mail_client())
        .collect()
}

impl<S: Backend> Service<S> {
    /// The account, or [`ServiceError::NotFound`].
    pub async fn account(&self, user: &str) -> Result<Account, ServiceError> {
        self.store
            .account(user)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no account {user:?}")))
    }

    /// The account's organisation; a missing one reads as the default policy.
    pub async fn org_of(&self, account: &Account) -> Result<Org, ServiceError> {
        Ok(self.store.org(&account.org).await?.unwrap_or_else(|| Org {
            name: account.org.clone(),
            display_name: String::new(),
            two_factor: TwoFactorPolicy::Optional,
            app_passwords_required: false,
            created_at: account.created_at,
            updated_at: account.created_at,
        }))
    }

    /// Writes one account change as one transaction, then publishes its
    /// security events.
    pub async fn commit(&self, write: AccountWrite) -> Result<(), ServiceError> {
        self.store.commit(&write).await?;
        for e in &write.events {
            self.publish_durable(DomainEvent::AccountChanged { event: e })
                .await?;
        }
        Ok(())
    }
}

/// After a successful login with the password, re-hashes it when its stored
/// hash was made with older parameters, so a parameter change reaches every
/// active account. Runs in the background; a failure is only logged.
pub fn rehash_in_background<S: Backend>(
    service: Arc<Service<S>>,
    user: warden_core::Name,
    password: String,
) {
    tokio::spawn(async move {
        let result = async {
            let Some(mut account) = service.store.account(&user).await? else {
                return Ok(());
            };
            if !account
                .password_hash
                .as_deref()
                .is_some_and(|h| service.credentials.needs_rehash(h))
            {
                return Ok(());
            }
            // The password may have changed meanwhile: only a hash of this
            // same password replaces the old one.
            if !service
                .credentials
                .verify(account.password_hash.clone(), password.clone())
                .await?
            {
                return Ok(());
            }
            account.password_hash = Some(service.credentials.hash(password).await?);
            service
                .commit(AccountWrite {
                    account: Some(account),
                    ..AccountWrite::default()
                })
                .await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(%user, error = %e, "re-hashing a password with the current parameters failed");
        }
    });
}
