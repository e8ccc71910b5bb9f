//! Signed checkpoints: the head of the chain (a record's number and hash)
//! at a time, signed with the instance's Ed25519 key.
//!
//! ```text
//! message = "warden-audit-checkpoint-v1" 0x00 ‖ seq (u64 BE) ‖ hash ‖ at (i64 BE)
//! ```
//!
//! The signing key is 32 random bytes kept in a file beside the other keys
//! ([`AuditSigner::from_seed`]); its public half ([`AuditPublicKey`],
//! 64 hex digits) is exported so that logs, archives and evidence bundles
//! can be checked anywhere.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use warden_core::Timestamp;

use crate::digest::{hex, unhex, Digest};

/// A signed head of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The record it signs (its number)...
    pub seq: u64,
    /// ...and that record's hash.
    pub hash: Digest,
    /// When it was signed.
    pub at: Timestamp,
    /// Ed25519 over [`Checkpoint::message`], 128 hex digits.
    #[serde(with = "sig_hex")]
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The bytes the signature covers.
    pub fn message(seq: u64, hash: &Digest, at: Timestamp) -> Vec<u8> {
        let mut m = Vec::with_capacity(27 + 8 + 32 + 8);
        m.extend_from_slice(b"warden-audit-checkpoint-v1\0");
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(&hash.0);
        m.extend_from_slice(&at.secs().to_be_bytes());
        m
    }

    pub fn signature_hex(&self) -> String {
        hex(&self.signature)
    }

    /// Parses a signature from 128 hex digits.
    pub fn signature_from_hex(s: &str) -> Result<[u8; 64], KeyError> {
        unhex(s)
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::Signature)
    }
}

/// A key or signature in the wrong form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("an audit signing key file holds exactly 32 bytes")]
    Seed,
    #[error("an audit public key is 64 hex digits of a valid Ed25519 key")]
    Public,
    #[error("a checkpoint signature is 128 hex digits")]
    Signature,
}

/// The instance's signing key.
pub struct AuditSigner {
    key: SigningKey,
}

impl fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditSigner")
            .field("public", &self.public_key())
            .finish()
    }
}

impl AuditSigner {
    /// The key from its 32-byte seed (the key file's content).
    pub fn from_seed(seed: &[u8]) -> Result<AuditSigner, KeyError> {
        let seed: [u8; 32] = seed.try_into().map_err(|_| KeyError::Seed)?;
        Ok(AuditSigner {
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn public_key(&self) -> AuditPublicKey {
        AuditPublicKey(self.key.verifying_key())
    }

    /// Signs `bytes` (a document such as an evidence bundle's body) under
    /// `context`, a name for what the bytes are, so that a signature made
    /// for one kind of document (or a checkpoint) never passes for another:
    /// see [`bytes_message`].
    pub fn sign_bytes(&self, context: &str, bytes: &[u8]) -> [u8; 64] {
        self.key.sign(&bytes_message(context, bytes)).to_bytes()
    }

    /// Signs the head `(seq, hash)` at `at`.
    pub fn sign(&self, seq: u64, hash: Digest, at: Timestamp) -> Checkpoint {
        let signature = self.key.sign(&Checkpoint::message(seq, &hash, at));
        Checkpoint {
            seq,
            hash,
            at,
            signature: signature.to_bytes(),
        }
    }
}

/// The public half: checks checkpoints.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuditPublicKey(VerifyingKey);

impl AuditPublicKey {
    pub fn to_hex(&self) -> String {
        hex(self.0.as_bytes())
    }

    pub fn from_hex(s: &str) -> Result<AuditPublicKey, KeyError> {
        let bytes: [u8; 32] = unhex(s.trim())
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::Public)?;
        VerifyingKey::from_bytes(&bytes)
            .map(AuditPublicKey)
            .map_err(|_| KeyError::Public)
    }

    /// A short name for the key: the first 16 hex digits of its SHA-256.
    pub fn fingerprint(&self) -> String {
        Digest::of(&[self.0.as_bytes()]).to_hex()[..16].to_owned()
    }

    /// Whether `signature` is this key's signature of `bytes` under
    /// `context` ([`AuditSigner::sign_bytes`]; strict verification).
    pub fn verifies_bytes(&self, context: &str, bytes: &[u8], signature: &[u8; 64]) -> bool {
        let sig = Signature::from_bytes(signature);
        self.0
            .verify_strict(&bytes_message(context, bytes), &sig)
            .is_ok()
    }

    /// Whether `cp` was signed by this key (strict verification).
    pub fn verifies(&self, cp: &Checkpoint) -> bool {
        let sig = Signature::from_bytes(&cp.signature);
        self.0
            .verify_strict(&Checkpoint::message(cp.seq, &cp.hash, cp.at), &sig)
            .is_ok()
            && self
                .0
                .verify(&Checkpoint::message(cp.seq, &cp.hash, cp.at), &sig)
                .is_ok()
    }
}

/// The bytes a [`AuditSigner::sign_bytes`] signature covers:
///
/// ```text
/// message = "warden-audit-bytes-v1" 0x00 ‖ len(context) (u32 BE) ‖ context ‖ bytes
/// ```
pub fn bytes_message(context: &str, bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(22 + 4 + context.len() + bytes.len());
    m.extend_from_slice(b"warden-audit-bytes-v1\0");
    m.extend_from_slice(&(context.len() as u32).to_be_bytes());
    m.extend_from_slice(context.as_bytes());
    m.extend_from_slice(bytes);
    m
}

impl fmt::Debug for AuditPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditPublicKey({})", self.to_hex())
    }
}

impl fmt::Display for AuditPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for AuditPublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for AuditPublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        AuditPublicKey::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

mod sig_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(sig: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::hex(sig))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::Checkpoint::signature_from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_only_with_its_key_and_its_fields() {
        let signer = AuditSigner::from_seed(&[7; 32]).unwrap();
        let other = AuditSigner::from_seed(&[8; 32]).unwrap();
        let cp = signer.sign(42, Digest::of(&[b"x"]), Timestamp::from_secs(1_700_000_000));
        let key = signer.public_key();
        assert!(key.verifies(&cp));
        assert!(!other.public_key().verifies(&cp));
        for bad in [
            Checkpoint {
                seq: 43,
                ..cp.clone()
            },
            Checkpoint {
                hash: Digest::of(&[b"y"]),
                ..cp.clone()
            },
            Checkpoint {
                at: Timestamp::from_secs(1_700_000_001),
                ..cp.clone()
            },
        ] {
            assert!(!key.verifies(&bad));
        }
        let mut flipped = cp.clone();
        flipped.signature[10] ^= 1;
        assert!(!key.verifies(&flipped));
        assert_eq!(AuditPublicKey::from_hex(&key.to_hex()), Ok(key));
        assert!(AuditPublicKey::from_hex("00").is_err());
        assert!(AuditSigner::from_seed(&[1; 31]).is_err());
        assert_eq!(key.fingerprint().len(), 16);
    }

    #[test]
    fn signed_bytes_verify_only_with_their_key_context_and_bytes() {
        let signer = AuditSigner::from_seed(&[7; 32]).unwrap();
        let key = signer.public_key();
        let body = b"{\"incident\":1}";
        let sig = signer.sign_bytes("warden-evidence-v1", body);
        assert!(key.verifies_bytes("warden-evidence-v1", body, &sig));
        assert!(!key.verifies_bytes("warden-evidence-v2", body, &sig));
        assert!(!key.verifies_bytes("warden-evidence-v1", b"{\"incident\":2}", &sig));
        let other = AuditSigner::from_seed(&[8; 32]).unwrap().public_key();
        assert!(!other.verifies_bytes("warden-evidence-v1", body, &sig));
        for i in 0..body.len() {
            let mut flipped = body.to_vec();
            flipped[i] ^= 0x01;
            assert!(
                !key.verifies_bytes("warden-evidence-v1", &flipped, &sig),
                "byte {i}"
            );
        }
        // A checkpoint's signature never passes as a document's and back.
        let cp = signer.sign(1, Digest::of(&[b"x"]), Timestamp::from_secs(5));
        let msg = Checkpoint::message(cp.seq, &cp.hash, cp.at);
        assert!(!key.verifies_bytes("", &msg, &cp.signature));
    }
}
