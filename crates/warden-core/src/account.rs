//! Accounts and their credentials as plain records: organisations, users,
//! client authorization codes (app passwords), TOTP enrolments, recovery
//! codes, web sessions and the security events every credential change
//! leaves behind.
//!
//! Only data lives here. Hashing, code generation, TOTP and the password
//! policy are in `warden-auth`; storing these records is `warden-store`'s job.
//! Secrets never appear in clear: passwords as PHC hash strings, codes and
//! tokens as SHA-256 digests, TOTP secrets sealed (encrypted) bytes.

use std::fmt;
use std::net::IpAddr;

use crate::domain::{Name, Protocol};
use crate::time::Timestamp;

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// May log in.
    Active,
    /// Locked (by an admin or by risk control) until unlocked.
    Locked,
    /// Switched off by an admin.
    Disabled,
}

/// Which accounts of an organisation must use TOTP two-factor login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TwoFactorPolicy {
    /// Each user decides.
    #[default]
    Optional,
    /// Accounts with the admin role.
    Admins,
    /// Everyone.
    Everyone,
}

/// An account's role in its organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Role {
    #[default]
    User,
    Admin,
}

/// A name of one of these enums that is not one of its values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}: expected one of {expected}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// `ALL`, `as_str`, `Display` and case-insensitive `FromStr` (its error an
/// [`UnknownValue`]) for a plain enum: the one implementation of the core's
/// wire names (accounts, alerts, answers).
macro_rules! wire_names {
    ($ty:ident, $kind:literal, $($variant:ident => $name:literal),+ $(,)?) => {
        impl $ty {
            /// Every value, in a stable order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The lower-case wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::account::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
                    .ok_or_else(|| $crate::account::UnknownValue {
                        kind: $kind,
                        value: s.to_string(),
                        expected: concat!($($name, " "),+),
                    })
            }
        }
    };
}
pub(crate) use wire_names;

wire_names!(AccountStatus, "account status",
    Active => "active", Locked => "locked", Disabled => "disabled");
wire_names!(TwoFactorPolicy, "two-factor policy",
    Optional => "optional", Admins => "admins", Everyone => "everyone");
wire_names!(Role, "role", User => "user", Admin => "admin");

/// A set of protocols, as a bit set (an app password's allowed protocols).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProtocolSet(u8);

impl ProtocolSet {
    /// No protocol.
    pub const EMPTY: ProtocolSet = ProtocolSet(0);

    fn bit(p: Protocol) -> u8 {
        1 << (Protocol::ALL.iter().position(|&q| q == p).unwrap_or(0) as u8)
    }

    /// Every protocol.
    pub fn all() -> Self {
        Protocol::ALL.iter().copied().collect()
    }

    pub fn contains(self, p: Protocol) -> bool {
        self.0 & Self::bit(p) != 0
    }

    pub fn insert(&mut self, p: Protocol) {
        self.0 |= Self::bit(p);
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The protocols in [`Protocol::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Protocol> {
        Protocol::ALL.into_iter().filter(move |&p| self.contains(p))
    }

    /// The raw bits, for storage.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// From raw bits; bits of no protocol are dropped.
    pub fn from_bits(bits: u8) -> Self {
        ProtocolSet(bits & ProtocolSet::all().0)
    }
}

impl FromIterator<Protocol> for ProtocolSet {
    fn from_iter<I: IntoIterator<Item = Protocol>>(iter: I) -> Self {
        let mut set = ProtocolSet::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl fmt::Display for ProtocolSet {
    /// Comma-separated wire names: `imap,smtp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(p.as_str())?;
        }
        Ok(())
    }
}

/// An organisation (tenant) and its credential policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Org {
    /// Short name, unique (`example`); lower case.
    pub name: Name,
    /// The company name as people write it ("Example Trading Co.").
    /// Passwords containing it are refused.
    pub display_name: String,
    pub two_factor: TwoFactorPolicy,
    /// Mail clients (IMAP, POP3, SMTP, DAV) must use authorization codes,
    /// never the login password, even without 2FA.
    pub app_passwords_required: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A user account. The login name is the key, normalised like every user
/// name ([`crate::normalize_user`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub user: Name,
    pub org: Name,
    pub display_name: String,
    /// Where security notices go.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub role: Role,
    pub status: AccountStatus,
    /// Why the account is locked or disabled, as the admin wrote it.
    pub status_reason: Option<String>,
    /// The login password as an argon2id PHC string; `None` until set.
    pub password_hash: Option<String>,
    pub password_changed_at: Option<Timestamp>,
    /// The next login must change the password.
    pub must_change_password: bool,
    /// When TOTP was last confirmed or removed (for diagnosis).
    pub two_factor_changed_at: Option<Timestamp>,
    /// The language of the account's notifications; `None`: the
    /// organisation's default.
    pub lang: Option<crate::reason::Lang>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A client authorization code (app password, 授权码). The code itself is
/// shown once at creation; only its digest is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct AppPassword {
    /// Assigned by the store; 0 before insertion.
    pub id: i64,
    pub user: Name,
    /// What the user called it ("Foxmail on office PC").
    pub name: String,
    /// SHA-256 of the normalised code: looked up directly, so a check costs
    /// one hash whatever the number of codes.
    pub digest: [u8; 32],
    pub protocols: ProtocolSet,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<IpAddr>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl AppPassword {
    /// Not revoked and not expired at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// A TOTP enrolment: pending until confirmed with a first code.
#[derive(Debug, Clone, PartialEq)]
pub struct TotpEnrolment {
    pub user: Name,
    /// The shared secret, sealed with the configured key (never in clear).
    pub sealed_secret: Vec<u8>,
    pub created_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
    /// The last time step accepted: a code of this step or an earlier one
    /// is never accepted again.
    pub last_step: Option<u64>,
}

/// A one-time recovery code, kept as a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryCode {
    pub user: Name,
    pub digest: [u8; 32],
    pub used_at: Option<Timestamp>,
}

/// A web or IM login session; the token is kept as a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSession {
    pub digest: [u8; 32],
    pub user: Name,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip: IpAddr,
    pub user_agent: Option<String>,
    pub revoked_at: Option<Timestamp>,
}

/// What happened to an account's credentials or status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityEventKind {
    AccountCreated,
    AccountUpdated,
    AccountDisabled,
    AccountEnabled,
    AccountLocked,
    AccountUnlocked,
    AccountDeleted,
    /// An admin set or reset the password.
    PasswordReset,
    /// The user changed their own password.
    PasswordChanged,
    TwoFactorEnrolled,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    AppPasswordCreated,
    AppPasswordRevoked,
    AppPasswordsRevokedAll,
    SessionsRevoked,
    /// A wrong TOTP or recovery code.
    TwoFactorCodeFailed,
    /// Too many wrong codes: the account's codes are refused for a while.
    TwoFactorCodesLocked,
    /// A one-time verification code was emailed (login protection, step-up).
    VerificationCodeSent,
    /// A wrong emailed code, or a wrong password given as a step-up.
    VerificationCodeFailed,
    /// The user confirmed a sign-in that login protection refused.
    SignInConfirmed,
    /// A fresh verification for sensitive operations (step-up) passed.
    StepUpPassed,
    /// A sensitive operation was refused for want of a fresh step-up.
    StepUpRefused,
}

wire_names!(SecurityEventKind, "security event",
    AccountCreated => "account_created",
    AccountUpdated => "account_updated",
    AccountDisabled => "account_disabled",
    AccountEnabled => "account_enabled",
    AccountLocked => "account_locked",
    AccountUnlocked => "account_unlocked",
    AccountDeleted => "account_deleted",
    PasswordReset => "password_reset",
    PasswordChanged => "password_changed",
    TwoFactorEnrolled => "two_factor_enrolled",
    TwoFactorEnabled => "two_factor_enabled",
    TwoFactorDisabled => "two_factor_disabled",
    RecoveryCodeUsed => "recovery_code_used",
    RecoveryCodesRegenerated => "recovery_codes_regenerated",
    AppPasswordCreated => "app_password_created",
    AppPasswordRevoked => "app_password_revoked",
    AppPasswordsRevokedAll => "app_passwords_revoked_all",
    SessionsRevoked => "sessions_revoked",
    TwoFactorCodeFailed => "two_factor_code_failed",
    TwoFactorCodesLocked => "two_factor_codes_locked",
    VerificationCodeSent => "verification_code_sent",
    VerificationCodeFailed => "verification_code_failed",
    SignInConfirmed => "sign_in_confirmed",
    StepUpPassed => "step_up_passed",
    StepUpRefused => "step_up_refused",
);

/// One security event: who did what to which account, when, from where.
/// Kept after the account is deleted (the audit trail).
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEvent {
    /// Assigned by the store; 0 before insertion.
    pub id: i64,
    pub ts: Timestamp,
    pub user: Name,
    pub kind: SecurityEventKind,
    /// Who: `admin` (an API key), `user` (the account itself), `system`.
    pub actor: String,
    pub ip: Option<IpAddr>,
    /// Free text without secrets ("code 'Foxmail' for imap,smtp").
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_reject_unknown() {
        for s in AccountStatus::ALL {
            assert_eq!(s.as_str().parse::<AccountStatus>().unwrap(), *s);
        }
        for k in SecurityEventKind::ALL {
            assert_eq!(k.to_string().parse::<SecurityEventKind>().unwrap(), *k);
        }
        assert_eq!(
            "Admins".parse::<TwoFactorPolicy>().unwrap(),
            TwoFactorPolicy::Admins
        );
        let err = "sometimes".parse::<TwoFactorPolicy>().unwrap_err();
        assert!(
            err.to_string().contains("optional admins everyone"),
            "{err}"
        );
    }

    #[test]
    fn protocol_sets_keep_exactly_what_was_put_in() {
        let set: ProtocolSet = [Protocol::Imap, Protocol::Smtp].into_iter().collect();
        assert!(set.contains(Protocol::Imap) && set.contains(Protocol::Smtp));
        assert!(!set.contains(Protocol::Pop3));
        assert_eq!(set.to_string(), "imap,smtp");
        assert_eq!(ProtocolSet::from_bits(set.bits()), set);
        assert_eq!(ProtocolSet::from_bits(0xff), ProtocolSet::all());
        assert!(ProtocolSet::EMPTY.is_empty());
    }

    #[test]
    fn app_passwords_die_on_revocation_or_expiry() {
        let mut code = AppPassword {
            id: 1,
            user: "a".into(),
            name: "Foxmail".into(),
            digest: [0; 32],
            protocols: ProtocolSet::all(),
            created_at: Timestamp(0),
            last_used_at: None,
            last_used_ip: None,
            expires_at: Some(Timestamp(100)),
            revoked_at: None,
        };
        assert!(code.is_live(Timestamp(99)));
        assert!(!code.is_live(Timestamp(100)));
        code.expires_at = None;
        assert!(code.is_live(Timestamp(1_000_000)));
        code.revoked_at = Some(Timestamp(5));
        assert!(!code.is_live(Timestamp(6)));
    }
}
