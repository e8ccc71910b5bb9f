//! Time-based one-time passwords (TOTP, RFC 6238, on HOTP, RFC 4226) for
//! two-factor login with an authenticator app: the shared [`TotpSecret`],
//! code generation and verification with a ±1 step window and replay
//! refusal ([`Totp`]), the `otpauth://` enrolment URI, and that URI as a QR
//! code in PNG ([`qr_png`]) or SVG ([`qr_svg`]).
//!
//! The defaults are what every authenticator app supports: HMAC-SHA1, 6
//! digits, 30-second steps. SHA-256 and SHA-512 are there for the RFC's test
//! vectors and the few apps that use them.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::RngCore;
use subtle::ConstantTimeEq;
use warden_core::Timestamp;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::AuthError;

/// The hash function of the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TotpAlgorithm {
    /// HMAC-SHA1: what authenticator apps expect.
    #[default]
    Sha1,
    Sha256,
    Sha512,
}

impl TotpAlgorithm {
    /// The name in `otpauth://` URIs: `SHA1`, `SHA256`, `SHA512`.
    pub fn as_str(self) -> &'static str {
        match self {
            TotpAlgorithm::Sha1 => "SHA1",
            TotpAlgorithm::Sha256 => "SHA256",
            TotpAlgorithm::Sha512 => "SHA512",
        }
    }
}

/// A TOTP shared secret. Wiped from memory on drop; `Debug` does not show
/// it. Stored sealed ([`crate::secretbox::seal`]), shown to the user once
/// in base32 and as a QR code.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// Bytes in a generated secret (160 bits, as RFC 4226 recommends).
    pub const LEN: usize = 20;
    /// The fewest bytes a secret may have (RFC 4226: 128 bits).
    pub const MIN_LEN: usize = 16;

    /// A new random secret of [`LEN`](Self::LEN) bytes.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; Self::LEN];
        rand::rng().fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// A secret from raw bytes (at least [`MIN_LEN`](Self::MIN_LEN), at most
    /// 128), e.g. opened from its sealed form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuthError> {
        if bytes.len() < Self::MIN_LEN {
            return Err(AuthError::InvalidTotpSecret("shorter than 16 bytes"));
        }
        if bytes.len() > 128 {
            return Err(AuthError::InvalidTotpSecret("longer than 128 bytes"));
        }
        Ok(TotpSecret(bytes.to_vec()))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32, upper case, without padding: what users type into an
    /// authenticator app that cannot scan the QR code.
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.0))
    }

    /// A secret from base32 text; case, white space and `=` padding do not
    /// matter.
    pub fn from_base32(text: &str) -> Result<Self, AuthError> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '=')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let bytes = Zeroizing::new(
            data_encoding::BASE32_NOPAD
                .decode(cleaned.as_bytes())
                .map_err(|_| AuthError::InvalidTotpSecret("not base32 (RFC 4648)"))?,
        );
        Self::from_bytes(&bytes)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// A TOTP generator and verifier: a secret with its algorithm, number of
/// digits and step length.
#[derive(Debug, Clone)]
pub struct Totp {
    secret: TotpSecret,
    algorithm: TotpAlgorithm,
    digits: u32,
    period: u64,
}

impl Totp {
    /// Digits of a code by default.
    pub const DIGITS: u32 = 6;
    /// Seconds per step by default.
    pub const PERIOD: u64 = 30;

    /// The usual settings: HMAC-SHA1, 6 digits, 30-second steps.
    pub fn new(secret: TotpSecret) -> Self {
        Totp {
            secret,
            algorithm: TotpAlgorithm::Sha1,
            digits: Self::DIGITS,
            period: Self::PERIOD,
        }
    }

    /// Other settings: 6 to 8 digits, steps of 1 to 300 seconds.
    pub fn with_settings(
        secret: TotpSecret,
        algorithm: TotpAlgorithm,
        digits: u32,
        period: u64,
    ) -> Result<Self, AuthError> {
        if !(6..=8).contains(&digits) {
            return Err(AuthError::InvalidSetting {
                setting: "digits",
                message: format!("must be within 6..=8, got {digits}"),
            });
        }
        if !(1..=300).contains(&period) {
            return Err(AuthError::InvalidSetting {
                setting: "period",
                message: format!("must be within 1..=300 seconds, got {period}"),
            });
        }
        Ok(Totp {
            secret,
            algorithm,
            digits,
            period,
        })
    }

    /// The secret.
    pub fn secret(&self) -> &TotpSecret {
        &self.secret
    }

    /// The time step at `now` (0 before 1970).
    pub fn step_at(&self, now: Timestamp) -> u64 {
        u64::try_from(now.secs()).unwrap_or(0) / self.period
    }

    /// The code of time step `step` (HOTP with the step as counter), as a
    /// number below 10^digits.
    pub fn code_at(&self, step: u64) -> u32 {
        let counter = step.to_be_bytes();
        let truncated = match self.algorithm {
            TotpAlgorithm::Sha1 => truncate(&mac_of::<Hmac<sha1::Sha1>>(&self.secret.0, &counter)),
            TotpAlgorithm::Sha256 => {
                truncate(&mac_of::<Hmac<sha2::Sha256>>(&self.secret.0, &counter))
            }
            TotpAlgorithm::Sha512 => {
                truncate(&mac_of::<Hmac<sha2::Sha512>>(&self.secret.0, &counter))
            }
        };
        truncated % 10u32.pow(self.digits)
    }

    /// `code` as shown: zero-padded to the number of digits.
    pub fn format(&self, code: u32) -> String {
        format!("{code:0width$}", width = self.digits as usize)
    }

    /// The code shown at `now`, formatted.
    pub fn code_now(&self, now: Timestamp) -> String {
        self.format(self.code_at(self.step_at(now)))
    }

    /// Checks a code typed at `now`. Accepts the codes of the previous, the
    /// current and the next step (clock drift and typing time), but only of
    /// steps after `last_step`, the step last accepted for this user, so a
    /// code is never accepted twice. Returns the step that matched: the
    /// caller stores it as the new `last_step`. `None` for a wrong, replayed
    /// or malformed code (anything but exactly `digits` ASCII digits; white
    /// space around them is ignored). The comparison is constant-time.
    pub fn verify(&self, code: &str, now: Timestamp, last_step: Option<u64>) -> Option<u64> {
        let code = code.trim();
        if code.len() != self.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let given: u32 = code.parse().ok()?;
        let current = self.step_at(now);
        let mut matched = None;
        for step in current.saturating_sub(1)..=current.saturating_add(1) {
            if last_step.is_some_and(|last| step <= last) {
                continue;
            }
            if bool::from(self.code_at(step).ct_eq(&given)) {
                matched = Some(step);
            }
        }
        matched
    }

    /// The enrolment URI authenticator apps scan:
    /// `otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30`,
    /// with the issuer and account percent-encoded (UTF-8). An empty issuer
    /// is left out.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let secret = self.secret.to_base32();
        let mut uri = String::from("otpauth://totp/");
        if !issuer.is_empty() {
            uri.push_str(&percent_encode(issuer));
            uri.push(':');
        }
        uri.push_str(&percent_encode(account));
        uri.push_str("?secret=");
        uri.push_str(&secret);
        if !issuer.is_empty() {
            uri.push_str("&issuer=");
            uri.push_str(&percent_encode(issuer));
        }
        uri.push_str(&format!(
            "&algorithm={}&digits={}&period={}",
            self.algorithm.as_str(),
            self.digits,
            self.period
        ));
        uri
    }
}

fn mac_of<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 4226 dynamic truncation to 31 bits.
fn truncate(mac: &[u8]) -> u32 {
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ])
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Pixels per QR module in the PNG.
const PNG_SCALE: usize = 8;
/// Light modules around the code (the quiet zone the QR standard requires).
const QUIET_ZONE: usize = 4;

fn qr_code(text: &str) -> Result<qrcode::QrCode, AuthError> {
    qrcode::QrCode::new(text.as_bytes()).map_err(|e| AuthError::QrCode(e.to_string()))
}

/// `text` (an `otpauth://` URI) as a QR code in a PNG image: 8-bit grayscale,
/// 8 pixels per module, with a 4-module quiet zone.
pub fn qr_png(text: &str) -> Result<Vec<u8>, AuthError> {
    let code = qr_code(text)?;
    let width = code.width();
    let colors = code.to_colors();
    let modules = width + 2 * QUIET_ZONE;
    let side = modules * PNG_SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
        for y in my * PNG_SCALE..(my + 1) * PNG_SCALE {
            pixels[y * side + mx * PNG_SCALE..y * side + (mx + 1) * PNG_SCALE].fill(0);
        }
    }
    let side = u32::try_from(side).map_err(|e| AuthError::Png(e.to_string()))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| AuthError::Png(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| AuthError::Png(e.to_string()))?;
    writer.finish().map_err(|e| AuthError::Png(e.to_string()))?;
    Ok(out)
}

/// `text` (an `otpauth://` URI) as a QR code in an SVG document (black on
/// white, with the quiet zone, at least 200 × 200).
pub fn qr_svg(text: &str) -> Result<String, AuthError> {
    let code = qr_code(text)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("Az09-._~"), "Az09-._~");
        assert_eq!(percent_encode("a b:c@d&e"), "a%20b%3Ac%40d%26e");
        assert_eq!(percent_encode("示例"), "%E7%A4%BA%E4%BE%8B");
    }

    #[test]
    fn hotp_matches_rfc_4226_appendix_d() {
        let totp = Totp::with_settings(
            TotpSecret::from_bytes(b"12345678901234567890").unwrap(),
            TotpAlgorithm::Sha1,
            6,
            30,
        )
        .unwrap();
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(totp.code_at(counter as u64), want, "counter {counter}");
        }
    }

    #[test]
    fn codes_are_zero_padded() {
        let totp = Totp::new(TotpSecret::from_bytes(&[7; 20]).unwrap());
        assert_eq!(totp.format(42), "000042");
        assert_eq!(totp.format(123456), "123456");
    }

    #[test]
    fn secrets_are_redacted_and_bounded() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.as_bytes().len(), TotpSecret::LEN);
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
        assert!(TotpSecret::from_bytes(&[1; 15]).is_err());
        assert!(TotpSecret::from_bytes(&[1; 129]).is_err());
    }
}
