//! Password hashing with argon2id: [`Argon2Params`] (the configurable cost)
//! and [`PasswordHasher`] (hash, verify, a dummy verification for unknown
//! users, and whether a stored hash should be redone with the current
//! parameters).
//!
//! Hashing and verifying are deliberately slow (tens of milliseconds with the
//! defaults) and use `memory_kib` of memory each: callers in async code must
//! run them on a blocking thread (`tokio::task::spawn_blocking`) and bound
//! how many run at once.

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use serde::{Deserialize, Serialize};

use crate::error::AuthError;

/// The most memory a hash may ask for (4 GiB), in KiB. Stored hashes asking
/// for more are refused without being computed, so a corrupted row cannot
/// exhaust the memory.
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
/// The most iterations a hash may ask for.
const MAX_ITERATIONS: u32 = 64;
/// The most lanes a hash may ask for.
const MAX_PARALLELISM: u32 = 16;
/// Length of the salt in bytes.
const SALT_LEN: usize = 16;
/// The longest password (in bytes, before normalisation) hashed or
/// checked: the longest `max_length` a policy may set (1024 characters) of
/// up to four bytes each. Longer input is refused before any work.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// The cost of argon2id password hashing. The defaults are OWASP's
/// recommended minimum for argon2id (19 MiB, 2 iterations, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Params {
    /// Memory per hash in KiB (argon2 `m`). Each login verification uses
    /// this much memory for its duration. At least 8 × `parallelism`.
    pub memory_kib: u32,
    /// Passes over the memory (argon2 `t`), at least 1.
    pub iterations: u32,
    /// Lanes (argon2 `p`), 1 to 16. Warden computes the lanes on one
    /// thread, so more lanes cost more time, not fewer.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Argon2Params {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Params {
    /// Refuses parameters argon2 cannot use or that make no sense.
    pub fn validate(&self) -> Result<(), AuthError> {
        let invalid =
            |setting, message: String| Err(AuthError::InvalidSetting { setting, message });
        if self.parallelism == 0 || self.parallelism > MAX_PARALLELISM {
            return invalid(
                "parallelism",
                format!(
                    "must be within 1..={MAX_PARALLELISM}, got {}",
                    self.parallelism
                ),
            );
        }
        if self.iterations == 0 || self.iterations > MAX_ITERATIONS {
            return invalid(
                "iterations",
                format!(
                    "must be within 1..={MAX_ITERATIONS}, got {}",
                    self.iterations
                ),
            );
        }
        if self.memory_kib < 8 * self.parallelism {
            return invalid(
                "memory_kib",
                format!(
                    "must be at least 8 × parallelism = {} KiB, got {}",
                    8 * self.parallelism,
                    self.memory_kib
                ),
            );
        }
        if self.memory_kib > MAX_MEMORY_KIB {
            return invalid(
                "memory_kib",
                format!(
                    "must be at most {MAX_MEMORY_KIB} KiB (4 GiB), got {}",
                    self.memory_kib
                ),
            );
        }
        Ok(())
    }

    fn to_argon2(self) -> Result<Params, AuthError> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(Params::DEFAULT_OUTPUT_LEN),
        )
        .map_err(|e| AuthError::InvalidSetting {
            setting: "argon2",
            message: e.to_string(),
        })
    }

    /// Whether parameters read from a stored hash are within what
    /// [`validate`](Self::validate) accepts.
    fn within_limits(p: &Params) -> bool {
        p.m_cost() <= MAX_MEMORY_KIB
            && p.t_cost() <= MAX_ITERATIONS
            && p.p_cost() <= MAX_PARALLELISM
    }
}

/// Hashes and verifies passwords with argon2id and the configured
/// [`Argon2Params`]. Cheap to share (`Send + Sync`); every method is CPU-
/// and memory-heavy except [`needs_rehash`](Self::needs_rehash): run them on
/// a blocking thread.
pub struct PasswordHasher {
    params: Argon2Params,
    argon2: Argon2<'static>,
    /// A hash of a random password, verified for unknown users.
    dummy: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher for `params` (validated). Computes one dummy hash, so it
    /// costs one hashing.
    pub fn new(params: Argon2Params) -> Result<Self, AuthError> {
        params.validate()?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.to_argon2()?);
        let mut hasher = PasswordHasher {
            params,
            argon2,
            dummy: String::new(),
        };
        let random = crate::os_random::<24>()?;
        let dummy_password = data_encoding::BASE32_NOPAD.encode(&random);
        hasher.dummy = hasher.hash(&dummy_password)?;
        Ok(hasher)
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Hashes `password` with a fresh random 16-byte salt; the result is a
    /// PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) carrying
    /// its parameters, so later parameter changes do not break it.
    pub fn hash(&self, password: &str) -> Result<String, AuthError> {
        use argon2::PasswordHasher as _;
        let password = normalize_password(password);
        let salt_bytes = crate::os_random::<SALT_LEN>()?;
        let salt =
            SaltString::encode_b64(&salt_bytes).map_err(|e| AuthError::Hashing(e.to_string()))?;
        let hash = self
            .argon2
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AuthError::Hashing(e.to_string()))?;
        Ok(hash.to_string())
    }

    /// Whether `password` matches the stored PHC string `phc`, with the
    /// parameters the hash was made with. `false` for a malformed hash, a
    /// hash of another scheme, or one whose parameters are beyond the
    /// limits of [`Argon2Params::validate`] (refused without computing it).
    /// Never panics. The comparison of the hash outputs is constant-time.
    pub fn verify(&self, phc: &str, password: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        if Algorithm::try_from(parsed.algorithm).is_err() {
            return false;
        }
        match Params::try_from(&parsed) {
            Ok(p) if Argon2Params::within_limits(&p) => {}
            _ => return false,
        }
        let password = normalize_password(password);
        self.argon2
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    }

    /// Spends the time and memory of one verification and answers nothing:
    /// for logins to unknown users, so that response times do not tell which
    /// user names exist.
    pub fn verify_dummy(&self, password: &str) {
        let _ = self.verify(&self.dummy, password);
    }

    /// Whether the stored hash should be replaced by a new hash of the same
    /// password (computed after a successful verification): it is malformed,
    /// not argon2id version 19, or made with parameters or an output length
    /// other than the current ones.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        if Algorithm::try_from(parsed.algorithm) != Ok(Algorithm::Argon2id)
            || parsed.version != Some(Version::V0x13.into())
        {
            return true;
        }
        let Ok(p) = Params::try_from(&parsed) else {
            return true;
        };
        let output_len = parsed.hash.map(|h| h.len());
        p.m_cost() != self.params.memory_kib
            || p.t_cost() != self.params.iterations
            || p.p_cost() != self.params.parallelism
            || output_len != Some(Params::DEFAULT_OUTPUT_LEN)
    }
}

/// The form a password is hashed and checked in: Unicode NFKC, as NIST SP
/// 800-63B-4 asks, so the same password typed on keyboards that produce
/// different code points (composed "é" or "e" + accent, full-width digits
/// from a Chinese input method) is the same password.
pub fn normalize_password(password: &str) -> zeroize::Zeroizing<String> {
    use unicode_normalization::UnicodeNormalization;
    zeroize::Zeroizing::new(password.nfkc().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Params {
        Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[test]
    fn hashes_verify_and_carry_their_parameters() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        let phc = hasher.hash("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(hasher.verify(&phc, "correct horse battery staple"));
        assert!(!hasher.verify(&phc, "correct horse battery stapler"));
        assert!(!hasher.verify(&phc, ""));
        // Same password, fresh salt: another hash.
        assert_ne!(phc, hasher.hash("correct horse battery staple").unwrap());
        assert!(!hasher.needs_rehash(&phc));

        // A hasher with other parameters still verifies it, and wants it redone.
        let other = PasswordHasher::new(Argon2Params {
            memory_kib: 128,
            ..cheap()
        })
        .unwrap();
        assert!(other.verify(&phc, "correct horse battery staple"));
        assert!(other.needs_rehash(&phc));
    }

    #[test]
    fn malformed_or_foreign_hashes_never_verify() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        let phc = hasher.hash("pw").unwrap();
        for bad in [
            "",
            "plain text",
            "$argon2id$",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            &phc[..phc.len() - 4],
            &phc.replace("m=64", "m=4294967295"),
        ] {
            assert!(!hasher.verify(bad, "pw"), "{bad:?}");
            assert!(hasher.needs_rehash(bad), "{bad:?}");
        }
    }

    #[test]
    fn older_variants_verify_but_want_a_rehash() {
        use argon2::PasswordHasher as _;
        let params = cheap().to_argon2().unwrap();
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let phc = argon2i.hash_password(b"pw", &salt).unwrap().to_string();
        let hasher = PasswordHasher::new(cheap()).unwrap();
        assert!(hasher.verify(&phc, "pw"));
        assert!(hasher.needs_rehash(&phc));
    }

    #[test]
    fn nonsense_parameters_are_refused_with_the_setting_named() {
        let cases = [
            (
                Argon2Params {
                    parallelism: 0,
                    ..cheap()
                },
                "parallelism",
            ),
            (
                Argon2Params {
                    parallelism: 17,
                    ..cheap()
                },
                "parallelism",
            ),
            (
                Argon2Params {
                    iterations: 0,
                    ..cheap()
                },
                "iterations",
            ),
            (
                Argon2Params {
                    memory_kib: 8 * 4 - 1,
                    parallelism: 4,
                    ..cheap()
                },
                "memory_kib",
            ),
            (
                Argon2Params {
                    memory_kib: u32::MAX,
                    ..cheap()
                },
                "memory_kib",
            ),
        ];
        for (params, setting) in cases {
            match params.validate() {
                Err(AuthError::InvalidSetting { setting: s, .. }) => assert_eq!(s, setting),
                other => panic!("{params:?}: {other:?}"),
            }
            assert!(PasswordHasher::new(params).is_err());
        }
        assert_eq!(Argon2Params::default().validate(), Ok(()));
        assert_eq!(cheap().validate(), Ok(()));
    }
}
