//! Warden's credential logic: password hashing and the password policy,
//! client authorization codes (app passwords), recovery codes, session
//! tokens, TOTP two-factor codes and sealed (encrypted) secrets.
//!
//! Everything here is pure: no IO, no async, no JSON, no wall clock (time is
//! passed in as a [`Timestamp`]). Randomness comes from the operating
//! system's generator (directly, or through `rand`'s thread-local CSPRNG
//! seeded from it). Storing the records these functions produce is
//! `warden-store`'s job; the record types live in [`warden_core::account`].
//!
//! Secrets are kept out of logs: every type holding one has a redacting
//! `Debug` and wipes its memory when dropped.
//!
//! [`Timestamp`]: warden_core::Timestamp

pub mod codes;
pub mod error;
pub mod hashing;
pub mod policy;
pub mod secretbox;
pub mod totp;

pub use codes::{
    code_digest, digest_eq, generate_recovery_codes, generate_session_token, normalize_code,
    normalize_recovery_code, recovery_digest, token_digest, AppPasswordSecret,
};
pub use error::AuthError;
pub use hashing::{normalize_password, Argon2Params, PasswordHasher, MAX_PASSWORD_BYTES};
pub use policy::{
    account_context, context_words, is_common_password, strength, Expiry, Grade, PasswordPolicy,
    PolicyViolation, Strength,
};
pub use secretbox::{fingerprint, key_check, open, seal, SecretKey};
pub use totp::{qr_png, qr_svg, Totp, TotpAlgorithm, TotpSecret};

/// `N` bytes from the operating system's random number generator.
pub(crate) fn os_random<const N: usize>() -> Result<[u8; N], AuthError> {
    use rand::TryRngCore;
    let mut bytes = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(bytes)
}
