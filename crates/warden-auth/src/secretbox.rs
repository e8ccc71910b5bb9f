//! Sealed secrets: authenticated encryption of small secrets at rest (TOTP
//! secrets) with a configured [`SecretKey`], using XChaCha20-Poly1305.
//!
//! [`seal`] output is a 24-byte random nonce followed by the ciphertext and
//! its 16-byte tag. The associated data is bound to the ciphertext without
//! being stored in it: pass the user name, so a sealed secret copied to
//! another account's row does not open there. [`open`] fails the same way
//! for truncation, tampering, another key and other associated data.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::AuthError;

/// A keyed 64-bit fingerprint of a secret presented for `user`: the same
/// secret gives the same fingerprint, nobody without the key can link one to
/// a password, and other keys (other Warden installations) give unrelated
/// ones. It lets the attack counters recognise a client repeating one stale
/// password; it is kept in memory for a lockout window and never stored.
pub fn fingerprint(key: &SecretKey, user: &str, secret: &str) -> u64 {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key.0)
        .expect("HMAC takes a key of any length");
    mac.update(b"warden password fingerprint\0");
    mac.update(user.as_bytes());
    mac.update(b"\0");
    mac.update(secret.as_bytes());
    let out = mac.finalize().into_bytes();
    u64::from_le_bytes(out[..8].try_into().expect("SHA-256 is 32 bytes"))
}

/// A check value of `key`: an HMAC-SHA-256 of a fixed text under it. Kept in
/// the database beside the secrets the key seals, it tells at start-up
/// whether the key at hand is the one they were sealed with; it reveals
/// nothing about the key.
pub fn key_check(key: &SecretKey) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key.0)
        .expect("HMAC takes a key of any length");
    mac.update(b"warden secret-key check v1");
    mac.finalize().into_bytes().into()
}

/// Bytes of the nonce at the start of sealed bytes.
pub const NONCE_LEN: usize = 24;
/// Bytes of the authentication tag at the end of sealed bytes.
pub const TAG_LEN: usize = 16;

/// A 256-bit key for [`seal`] and [`open`]. Wiped from memory on drop;
/// `Debug` does not show it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// Bytes in a key.
    pub const LEN: usize = 32;

    /// A new random key.
    pub fn generate() -> Self {
        let mut key = SecretKey([0; 32]);
        rand::rng().fill_bytes(&mut key.0);
        key
    }

    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretKey(bytes)
    }

    /// A key written as text: 64 hex digits, or base64 of 32 bytes
    /// (standard or URL-safe alphabet, with or without padding). White space
    /// around it is ignored.
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let text = text.trim();
        let bytes: Zeroizing<Vec<u8>> =
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                Zeroizing::new(
                    data_encoding::HEXLOWER_PERMISSIVE
                        .decode(text.as_bytes())
                        .map_err(|_| AuthError::InvalidKey("not hex"))?,
                )
            } else {
                use base64::engine::general_purpose::{
                    STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
                };
                let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                    .iter()
                    .find_map(|engine| engine.decode(text).ok())
                    .ok_or(AuthError::InvalidKey(
                        "expected 64 hex digits or base64 of 32 bytes",
                    ))?;
                Zeroizing::new(decoded)
            };
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| AuthError::InvalidKey("not 32 bytes long"))?;
        Ok(SecretKey(array))
    }

    /// The key as 64 lower-case hex digits.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::HEXLOWER.encode(&self.0))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&Key::from(self.0))
    }
}

impl FromStr for SecretKey {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SecretKey::parse(s)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Encrypts and authenticates `plaintext`, binding `aad` (the user name) to
/// it: a fresh random 24-byte nonce followed by the ciphertext and tag
/// (`plaintext.len() + 40` bytes). Random nonces of 192 bits never repeat
/// in practice, so one key can seal any number of secrets.
pub fn seal(key: &SecretKey, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let ciphertext = key
        .cipher()
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        // XChaCha20-Poly1305 refuses only messages of 256 GiB or more.
        .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 seals messages below 256 GiB"));
    let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    sealed
}

/// Decrypts what [`seal`] made with the same key and associated data.
/// [`AuthError::Unseal`] when the bytes are too short, were altered, or
/// were sealed with another key or other associated data.
pub fn open(key: &SecretKey, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, AuthError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(AuthError::Unseal);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| AuthError::Unseal)?;
    key.cipher()
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| AuthError::Unseal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_keyed_and_per_user() {
        let k = SecretKey::from_bytes([7; 32]);
        let other = SecretKey::from_bytes([8; 32]);
        let f = fingerprint(&k, "alice", "hunter2");
        assert_eq!(f, fingerprint(&k, "alice", "hunter2"));
        assert_ne!(f, fingerprint(&k, "alice", "hunter3"));
        assert_ne!(f, fingerprint(&k, "bob", "hunter2"));
        assert_ne!(f, fingerprint(&other, "alice", "hunter2"));
    }

    #[test]
    fn key_checks_tell_keys_apart_and_do_not_show_them() {
        let k = SecretKey::from_bytes([7; 32]);
        assert_eq!(key_check(&k), key_check(&k.clone()));
        assert_ne!(key_check(&k), key_check(&SecretKey::from_bytes([8; 32])));
        assert_ne!(key_check(&k), k.0);
        assert_ne!(key_check(&k), [0; 32]);
    }

    #[test]
    fn keys_parse_from_hex_and_base64_alike() {
        let key = SecretKey::from_bytes(std::array::from_fn(|i| i as u8 * 7));
        let hex = key.to_hex();
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.0);
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.0);
        for text in [
            hex.as_str(),
            &hex.to_uppercase(),
            &b64,
            &b64url,
            &format!(" {b64}\n"),
        ] {
            assert_eq!(SecretKey::parse(text).unwrap().0, key.0, "{text}");
        }
        for bad in [
            "",
            "00",
            &hex[..62],
            &format!("{}zz", &hex[..62]),
            "not a key at all!",
        ] {
            assert!(
                matches!(SecretKey::parse(bad), Err(AuthError::InvalidKey(_))),
                "{bad:?}"
            );
        }
        // base64 of 16 bytes: valid base64, wrong length.
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        assert_eq!(
            SecretKey::parse(&short).err(),
            Some(AuthError::InvalidKey("not 32 bytes long"))
        );
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
    }
}
