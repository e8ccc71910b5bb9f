//! The evidence bundle file: compact JSON
//! `{"format":"warden-evidence-v1","body":<body>,"signature":"<hex>","public_key":"<hex>"}`,
//! the Ed25519 signature (audit key, context [`BUNDLE_FORMAT`]) over the
//! exact bytes of `body` as written.
//!
//! Reading ([`verify_file`]) is strict so that an edit anywhere is found:
//! the body's bytes are kept as they are in the file (`RawValue`) for the
//! signature; the envelope must be exactly what [`write_file`] writes for
//! that body, signature and key (no other field, no whitespace, lower-case
//! hex; one trailing newline allowed); the key in the envelope must be the
//! body's; then the body must parse and pass
//! [`warden_audit::bundle::check_consistency`] (the audit excerpt verifies,
//! every cited record backs its entry).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use warden_audit::bundle::{
    check_consistency, signature_hex, BundleError, BundleSummary, EvidenceBundle, BUNDLE_FORMAT,
};
use warden_audit::{AuditPublicKey, Checkpoint};

/// The largest bundle file [`verify_file`] reads (the excerpt's cap of
/// records at about 120 bytes each, plus the whole records).
pub const MAX_BUNDLE_FILE_BYTES: usize = 256 << 20;

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: &'a str,
    body: &'a RawValue,
    signature: String,
    public_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeIn<'a> {
    format: String,
    #[serde(borrow)]
    body: &'a RawValue,
    signature: String,
    public_key: String,
}

/// The body's bytes as the file holds them: compact JSON.
pub fn encode_body(bundle: &EvidenceBundle) -> Vec<u8> {
    serde_json::to_vec(bundle).expect("an evidence bundle always encodes")
}

/// The file for `body` (from [`encode_body`]) signed with `signature` by
/// `key`.
pub fn write_file(body: &[u8], signature: &[u8; 64], key: &AuditPublicKey) -> Vec<u8> {
    let text = std::str::from_utf8(body).expect("JSON is UTF-8");
    let raw = RawValue::from_string(text.to_owned()).expect("the body is one JSON value");
    serde_json::to_vec(&EnvelopeOut {
        format: BUNDLE_FORMAT,
        body: &raw,
        signature: signature_hex(signature),
        public_key: key.to_hex(),
    })
    .expect("the envelope always encodes")
}

/// What a good bundle file holds.
#[derive(Debug)]
pub struct VerifiedBundle {
    pub bundle: EvidenceBundle,
    pub summary: BundleSummary,
    pub public_key: AuditPublicKey,
}

/// Why a bundle file does not verify.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceFileError {
    #[error("the file is larger than {MAX_BUNDLE_FILE_BYTES} bytes")]
    TooLarge,
    #[error("not an evidence bundle file: {0}")]
    Parse(String),
    #[error("the format is {0:?}, not {BUNDLE_FORMAT:?}")]
    Format(String),
    #[error("the file was edited outside the body: it is not the envelope Warden writes for its body, signature and key")]
    Envelope,
    #[error("the public key in the file is not a valid key")]
    Key,
    #[error("the bundle is signed by key {found} (fingerprint {found_fp}), not the expected key {expected} (fingerprint {expected_fp})")]
    WrongKey {
        found: String,
        found_fp: String,
        expected: String,
        expected_fp: String,
    },
    #[error("the key in the envelope is not the key named in the body")]
    KeyMismatch,
    #[error("the signature does not verify: the body was changed after it was signed")]
    Signature,
    #[error("the body is signed but is not a bundle this Warden reads: {0}")]
    Body(String),
    #[error("{0}")]
    Inconsistent(BundleError),
}

fn lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks a bundle file (see the module doc); `expected`: the instance's
/// key, when the reader has it (else the key in the file is used and the
/// reader compares its fingerprint).
pub fn verify_file(
    bytes: &[u8],
    expected: Option<&AuditPublicKey>,
) -> Result<VerifiedBundle, EvidenceFileError> {
    if bytes.len() > MAX_BUNDLE_FILE_BYTES {
        return Err(EvidenceFileError::TooLarge);
    }
    let env: EnvelopeIn<'_> =
        serde_json::from_slice(bytes).map_err(|e| EvidenceFileError::Parse(e.to_string()))?;
    if env.format != BUNDLE_FORMAT {
        return Err(EvidenceFileError::Format(warden_core::text::one_line(
            &env.format,
            40,
        )));
    }
    if !lower_hex(&env.public_key) {
        return Err(EvidenceFileError::Key);
    }
    let key = AuditPublicKey::from_hex(&env.public_key).map_err(|_| EvidenceFileError::Key)?;
    if !lower_hex(&env.signature) {
        return Err(EvidenceFileError::Signature);
    }
    let signature =
        Checkpoint::signature_from_hex(&env.signature).map_err(|_| EvidenceFileError::Signature)?;
    let body = env.body.get().as_bytes();
    let canonical = write_file(body, &signature, &key);
    let exact = bytes == canonical.as_slice()
        || (bytes.len() == canonical.len() + 1
            && bytes.ends_with(b"\n")
            && &bytes[..canonical.len()] == canonical.as_slice());
    if !exact {
        return Err(EvidenceFileError::Envelope);
    }
    if let Some(expected) = expected {
        if *expected != key {
            return Err(EvidenceFileError::WrongKey {
                found: key.to_hex(),
                found_fp: key.fingerprint(),
                expected: expected.to_hex(),
                expected_fp: expected.fingerprint(),
            });
        }
    }
    if !key.verifies_bytes(BUNDLE_FORMAT, body, &signature) {
        return Err(EvidenceFileError::Signature);
    }
    let bundle: EvidenceBundle =
        serde_json::from_slice(body).map_err(|e| EvidenceFileError::Body(e.to_string()))?;
    if bundle.instance.public_key != key {
        return Err(EvidenceFileError::KeyMismatch);
    }
    check_consistency(&bundle).map_err(EvidenceFileError::Inconsistent)?;
    Ok(VerifiedBundle {
        summary: bundle.summary(),
        bundle,
        public_key: key,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture::signed;
    use super::*;
    use warden_audit::AuditSigner;

    #[test]
    fn a_written_file_verifies_and_any_flipped_byte_fails() {
        let signer = AuditSigner::from_seed(&[5; 32]).unwrap();
        let (bundle, file) = signed(&signer);
        assert!(!file.contains(&b'\n'), "compact JSON");
        assert!(file.starts_with(b"{\"format\":\"warden-evidence-v1\",\"body\":{\"version\":1,"));
        let ok = verify_file(&file, None).unwrap();
        assert_eq!(ok.bundle, bundle);
        assert_eq!(ok.summary.actions, 3);
        verify_file(&file, Some(&signer.public_key())).unwrap();
        let mut with_newline = file.clone();
        with_newline.push(b'\n');
        verify_file(&with_newline, None).unwrap();
        // Every position flipped in its lowest bit, and every seventh also
        // in its case bit and top bit: always refused.
        for i in 0..file.len() {
            let masks: &[u8] = if i % 7 == 0 {
                &[0x01, 0x20, 0x80]
            } else {
                &[0x01]
            };
            for &mask in masks {
                let mut bad = file.clone();
                bad[i] ^= mask;
                assert!(
                    verify_file(&bad, None).is_err(),
                    "flipping byte {i} with {mask:#x} went unnoticed"
                );
            }
        }
        let mut extra = file.clone();
        extra.extend_from_slice(b" ");
        assert!(verify_file(&extra, None).is_err());
    }

    #[test]
    fn another_key_or_a_resigned_body_is_named() {
        let signer = AuditSigner::from_seed(&[5; 32]).unwrap();
        let (bundle, file) = signed(&signer);
        let other = AuditSigner::from_seed(&[6; 32]).unwrap();
        assert!(matches!(
            verify_file(&file, Some(&other.public_key())),
            Err(EvidenceFileError::WrongKey { .. })
        ));
        // Someone else signs the same body with their key in the envelope:
        // the body names the instance's key.
        let body = encode_body(&bundle);
        let forged = write_file(
            &body,
            &other.sign_bytes(BUNDLE_FORMAT, &body),
            &other.public_key(),
        );
        assert!(matches!(
            verify_file(&forged, None),
            Err(EvidenceFileError::KeyMismatch)
        ));
        // A consistent-looking edit of the body, re-signed by another key
        // that also replaces the body's key: the excerpt's checkpoint fails.
        let mut edited = bundle.clone();
        edited.instance.public_key = other.public_key();
        edited.instance.fingerprint = other.public_key().fingerprint();
        let body = encode_body(&edited);
        let forged = write_file(
            &body,
            &other.sign_bytes(BUNDLE_FORMAT, &body),
            &other.public_key(),
        );
        assert!(matches!(
            verify_file(&forged, None),
            Err(EvidenceFileError::Inconsistent(BundleError::Excerpt(_)))
        ));
        // An entry edited and the file re-signed by the true key (an
        // insider with the key cannot make a record say something else).
        let mut edited = bundle.clone();
        edited.actions[0].by = "nobody".into();
        let body = encode_body(&edited);
        let resigned = write_file(
            &body,
            &signer.sign_bytes(BUNDLE_FORMAT, &body),
            &signer.public_key(),
        );
        assert!(matches!(
            verify_file(&resigned, None),
            Err(EvidenceFileError::Inconsistent(
                BundleError::Mismatch { .. }
            ))
        ));
    }
}
