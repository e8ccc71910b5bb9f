//! The secrets Warden generates and later recognises: client authorization
//! codes (app passwords, 授权码) for mail clients, one-time recovery codes
//! for a lost second factor, and web session tokens; their digests for
//! storage, and a constant-time comparison of digests.
//!
//! Codes are 16 characters of an alphabet without look-alikes (no `0 o 1 l
//! i`): 31^16 ≈ 2^79 possibilities. With that much entropy a single fast
//! hash at rest is safe, like API tokens, so a code is found by its digest
//! with one SHA-256 whatever the number of codes, and an argon2 hash would
//! add cost without adding security. Session tokens are 32 random bytes
//! (256 bits). Each kind of secret is hashed with its own domain-separation
//! prefix, so a digest of one kind never matches another kind.
//!
//! Randomness comes from `rand`'s thread-local generator, a CSPRNG seeded
//! from (and periodically reseeded by) the operating system.

use std::fmt;

use base64::Engine as _;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The characters of codes: lower-case letters and digits without `0 o 1 l i`.
pub const CODE_ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters in an authorization or recovery code.
pub const CODE_LEN: usize = 16;
/// Recovery codes issued at once, by default.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Random bytes in a session token.
pub const SESSION_TOKEN_BYTES: usize = 32;

const APP_PASSWORD_DOMAIN: &[u8] = b"warden-app-password\0";
const RECOVERY_CODE_DOMAIN: &[u8] = b"warden-recovery-code\0";
const SESSION_TOKEN_DOMAIN: &[u8] = b"warden-session-token\0";

/// `CODE_LEN` random characters of the alphabet, uniformly.
fn random_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// `code` in groups of four characters joined by `separator`.
fn grouped(code: &str, separator: char) -> String {
    let mut out = String::with_capacity(code.len() + code.len() / 4);
    for (i, c) in code.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

fn digest(domain: &[u8], normalized: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(domain);
    hasher.update(normalized.as_bytes());
    hasher.finalize().into()
}

/// A new client authorization code (app password), shown to the user once.
/// Only its [`digest`](Self::digest) is stored. The memory holding the code
/// is wiped on drop, and `Debug` does not show it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AppPasswordSecret {
    /// Normalised: 16 characters of [`CODE_ALPHABET`].
    code: String,
}

impl AppPasswordSecret {
    /// A new random code.
    pub fn generate() -> Self {
        AppPasswordSecret {
            code: random_code(),
        }
    }

    /// A code typed or pasted by a user, if it is one ([`normalize_code`]).
    pub fn parse(input: &str) -> Option<Self> {
        normalize_code(input).map(|code| AppPasswordSecret { code })
    }

    /// The normalised code: 16 characters, no separators.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The code as shown to the user: `abcd efgh jkmn pqrs`. Mail clients
    /// accept it with or without the spaces ([`normalize_code`] drops them).
    pub fn display(&self) -> Zeroizing<String> {
        Zeroizing::new(grouped(&self.code, ' '))
    }

    /// The digest to store and to look the code up by ([`code_digest`]).
    pub fn digest(&self) -> [u8; 32] {
        code_digest(&self.code)
    }
}

impl fmt::Debug for AppPasswordSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppPasswordSecret(<redacted>)")
    }
}

/// The normalised form of a typed authorization or recovery code: spaces
/// (any white space) and dashes dropped, lower case. `Some` only for exactly
/// 16 characters of [`CODE_ALPHABET`], so most login passwords are told
/// from codes at once, without a lookup. A password that happens to have
/// that shape is simply looked up as a code first.
pub fn normalize_code(input: &str) -> Option<String> {
    let mut out = Zeroizing::new(String::with_capacity(CODE_LEN));
    for c in input.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let c = c.to_ascii_lowercase();
        if out.len() == CODE_LEN || !c.is_ascii() || !CODE_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_LEN).then(|| std::mem::take(&mut *out))
}

/// The stored digest of a normalised authorization code: SHA-256 of
/// `"warden-app-password\0"` followed by the code.
pub fn code_digest(normalized: &str) -> [u8; 32] {
    digest(APP_PASSWORD_DOMAIN, normalized)
}

/// `n` new recovery codes, as shown to the user: `xxxx-xxxx-xxxx-xxxx`
/// (16 characters of [`CODE_ALPHABET`]; [`RECOVERY_CODE_COUNT`] is the usual
/// `n`). Store their [`recovery_digest`]s, of the normalised form.
pub fn generate_recovery_codes(n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let code = Zeroizing::new(random_code());
            grouped(&code, '-')
        })
        .collect()
}

/// The normalised form of a typed recovery code (the same rules as
/// [`normalize_code`]): `ABCD-efgh jkmn-pqrs` → `abcdefghjkmnpqrs`.
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    normalize_code(input)
}

/// The stored digest of a normalised recovery code: SHA-256 of
/// `"warden-recovery-code\0"` followed by the code.
pub fn recovery_digest(normalized: &str) -> [u8; 32] {
    digest(RECOVERY_CODE_DOMAIN, normalized)
}

/// A new session token: 32 random bytes in unpadded base64url (43
/// characters). Store its [`token_digest`].
pub fn generate_session_token() -> String {
    let mut bytes = Zeroizing::new([0u8; SESSION_TOKEN_BYTES]);
    rand::rng().fill_bytes(&mut *bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(*bytes)
}

/// The stored digest of a session token, as presented: SHA-256 of
/// `"warden-session-token\0"` followed by the token.
pub fn token_digest(token: &str) -> [u8; 32] {
    digest(SESSION_TOKEN_DOMAIN, token)
}

/// Whether two digests are equal, in time that does not depend on where
/// they differ.
pub fn digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_has_no_look_alikes_and_no_repeats() {
        for c in b"0o1li" {
            assert!(!CODE_ALPHABET.contains(c));
        }
        let mut sorted = CODE_ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), CODE_ALPHABET.len());
    }

    #[test]
    fn codes_are_grouped_for_display() {
        let code = AppPasswordSecret::parse("abcdefghjkmnpqrs").unwrap();
        assert_eq!(code.display().as_str(), "abcd efgh jkmn pqrs");
        assert_eq!(grouped("abcdefghjkmnpqrs", '-'), "abcd-efgh-jkmn-pqrs");
    }

    #[test]
    fn normalisation_accepts_typing_variants_and_refuses_the_rest() {
        let want = Some("abcdefghjkmnpqrs".to_string());
        for typed in [
            "abcdefghjkmnpqrs",
            "ABCD EFGH JKMN PQRS",
            " abcd-efgh-jkmn-pqrs ",
            "abcd\u{3000}efgh\tjkmn pqrs",
        ] {
            assert_eq!(normalize_code(typed), want, "{typed:?}");
        }
        for not_a_code in [
            "",
            "abcdefghjkmnpqr",
            "abcdefghjkmnpqrst",
            "abcdefghjkmnpqr0",
            "abcdefghjkmnpqrl",
            "abcdefghjkmnpqr_",
            "abcdefghjkmnpqré",
            "Summer2024!Summer",
        ] {
            assert_eq!(normalize_code(not_a_code), None, "{not_a_code:?}");
        }
    }

    #[test]
    fn digests_are_domain_separated() {
        let code = "abcdefghjkmnpqrs";
        assert_ne!(code_digest(code), recovery_digest(code));
        assert_ne!(code_digest(code), token_digest(code));
        assert_ne!(recovery_digest(code), token_digest(code));
        let mut plain = Sha256::new();
        plain.update(code.as_bytes());
        let plain: [u8; 32] = plain.finalize().into();
        assert_ne!(code_digest(code), plain);
        // Known answer: SHA-256("warden-app-password\0abcdefghjkmnpqrs").
        let hex: String = code_digest(code)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "811310f5466b48aeaa43c80f58785d2f924b4b7bc121e8e22b5b4c021cf3ef85"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let code = AppPasswordSecret::generate();
        let shown = format!("{code:?}");
        assert!(!shown.contains(code.as_str()), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
