//! The service's errors: what went wrong, typed, for the adapters to turn
//! into their protocol's answer (an HTTP status, a Dovecot temporary
//! failure, a Postfix `DEFER`).

use warden_store::StoreError;

/// Why a service call did not complete. Nothing was changed unless the
/// variant says otherwise.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input is malformed or names something that is not there in a way
    /// the caller must fix (a bad address, an expired evaluation id...).
    #[error("{0}")]
    Invalid(String),
    /// Well-formed but refused by a rule; `code` says which (a password
    /// below the policy, a wrong current password...).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// What the call names does not exist (an account).
    #[error("{0}")]
    NotFound(String),
    /// The store failed; nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Too many wrong second-factor codes: the account's codes are refused
    /// for `retry_after_secs` more seconds (the right one too).
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after_secs: u64,
    },
    /// A CPU-heavy step's pool and its queue are full: try again shortly.
    /// Nothing was done.
    #[error("{what} is busy; try again in a moment")]
    Busy {
        what: &'static str,
        retry_after_secs: u64,
    },
    /// Not allowed as things stand; `code` says what is missing (a fresh
    /// step-up, a session). Nothing was done.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// A service Warden depends on (the SMTP relay) failed; nothing was
    /// acknowledged.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or a broken invariant (a hashing thread panicked...).
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        ServiceError::Invalid(msg.into())
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Refused {
            code,
            message: message.into(),
        }
    }
}

/// A client-controlled string as it may appear in an error or a log:
/// quoted, escaped, and cut to 64 characters.
pub fn shown(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
    }
}
