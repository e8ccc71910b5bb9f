//! [`AuthError`], the one error type of this crate.

/// What can go wrong in credential handling. Wrong passwords, codes and
/// tokens are not errors: the verifying functions answer `false` or `None`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A configuration value (hashing parameters, password policy) makes no
    /// sense. `setting` is the field's name as it is written in the
    /// configuration.
    #[error("invalid setting {setting}: {message}")]
    InvalidSetting {
        setting: &'static str,
        message: String,
    },
    /// The password hashing library refused to hash (should not happen with
    /// validated parameters).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// A secret key given as text is not 32 bytes in hex or base64.
    #[error("invalid secret key: {0}")]
    InvalidKey(&'static str),
    /// A TOTP secret given as text is not valid base32 (RFC 4648).
    #[error("invalid TOTP secret: {0}")]
    InvalidTotpSecret(&'static str),
    /// Sealed bytes could not be opened: too short, tampered with, sealed
    /// with another key, or sealed for another account (other associated
    /// data). The causes are deliberately not told apart.
    #[error(
        "the sealed secret cannot be opened (truncated, altered, another key or another account)"
    )]
    Unseal,
    /// The text is too long for a QR code.
    #[error("cannot make a QR code: {0}")]
    QrCode(String),
    /// PNG encoding failed.
    #[error("cannot encode the PNG image: {0}")]
    Png(String),
}
