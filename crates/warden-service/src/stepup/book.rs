//! What verification keeps between two requests, in memory and bounded:
//! the emailed one-time codes waiting to be typed in ([`CodeBook`]) and
//! when each web session last stepped up ([`StepUps`]). Pure state with
//! the time passed in; the service holds it behind a lock.
//!
//! Both are keyed by a token's digest (a login ticket's or a session's),
//! never by the token. Losing them (a restart) costs the user one more
//! code, never access: a code is asked again, a step-up is asked again.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use warden_core::{Name, Timestamp};

/// How long an emailed code works.
pub const CODE_TTL_SECS: i64 = 600;
/// Wrong tries one code takes before it is void.
pub const CODE_ATTEMPTS: u32 = 3;
/// Codes emailed to one account in [`SEND_WINDOW_SECS`], at most: someone
/// who knows the password cannot flood the security mailbox.
pub const SENDS_PER_WINDOW: u32 = 5;
pub const SEND_WINDOW_SECS: i64 = 900;
/// Codes waiting, in all.
pub const CODES_MAX: usize = 100_000;
/// Accounts whose sends are counted, in all.
pub const SENDERS_MAX: usize = 100_000;
/// Sessions with a step-up remembered, in all.
pub const STEP_UPS_MAX: usize = 200_000;
/// The longest a step-up is remembered (longer than any sensible
/// `step_up_minutes`).
pub const STEP_UP_KEEP_SECS: i64 = 86_400;

/// What an emailed code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodePurpose {
    /// The second step of a protected web login.
    Login,
    /// A step-up for sensitive operations.
    StepUp,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Login => "login",
            CodePurpose::StepUp => "step-up",
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    user: Name,
    purpose: CodePurpose,
    digest: [u8; 32],
    expires: Timestamp,
    wrong: u32,
}

/// How a code was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeAnswer {
    /// Right: the code is used up.
    Passed,
    /// Wrong; `left` more tries (0: the code is void now).
    Wrong { left: u32 },
    /// No live code for this token (never sent, expired, used or void).
    NoCode,
}

fn digest(key: &[u8; 32], code: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(key);
    h.update(code.as_bytes());
    h.finalize().into()
}

/// A code as people type it: digits only (spaces and dashes dropped).
pub fn normalize(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).take(16).collect()
}

/// Emailed codes waiting, keyed by the digest of the token they belong to
/// (a login ticket, a session).
#[derive(Debug, Default)]
pub struct CodeBook {
    codes: HashMap<[u8; 32], Pending>,
    /// Per account: the start of its send window and the sends in it.
    sends: HashMap<Name, (Timestamp, u32)>,
}

impl CodeBook {
    /// Whether another code may be emailed to `user` now; counts it if so.
    pub fn may_send(&mut self, user: &str, now: Timestamp) -> bool {
        if self.sends.len() >= SENDERS_MAX {
            self.sends
                .retain(|_, (start, _)| now.secs() - start.secs() < SEND_WINDOW_SECS);
            if self.sends.len() >= SENDERS_MAX {
                return false;
            }
        }
        let entry = self.sends.entry(user.into()).or_insert((now, 0));
        if now.secs() - entry.0.secs() >= SEND_WINDOW_SECS {
            *entry = (now, 0);
        }
        if entry.1 >= SENDS_PER_WINDOW {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Keeps `code` for the token `key` (replacing an earlier one).
    pub fn hold(
        &mut self,
        key: [u8; 32],
        user: &str,
        purpose: CodePurpose,
        code: &str,
        now: Timestamp,
    ) {
        if self.codes.len() >= CODES_MAX && !self.codes.contains_key(&key) {
            self.codes.retain(|_, p| now < p.expires);
            if self.codes.len() >= CODES_MAX {
                // The one closest to its end goes.
                if let Some(k) = self
                    .codes
                    .iter()
                    .min_by_key(|(_, p)| p.expires)
                    .map(|(k, _)| *k)
                {
                    self.codes.remove(&k);
                }
            }
        }
        self.codes.insert(
            key,
            Pending {
                user: user.into(),
                purpose,
                digest: digest(&key, &normalize(code)),
                expires: now.plus_secs(CODE_TTL_SECS),
                wrong: 0,
            },
        );
    }

    /// Whether a live code of `purpose` waits for the token `key`.
    pub fn waiting(&self, key: &[u8; 32], purpose: CodePurpose, now: Timestamp) -> bool {
        self.codes
            .get(key)
            .is_some_and(|p| p.purpose == purpose && now < p.expires)
    }

    /// Checks `code` for the token `key` and `user`: a right one is used up,
    /// a wrong one counts, and the [`CODE_ATTEMPTS`]th wrong one voids it.
    pub fn answer(
        &mut self,
        key: &[u8; 32],
        user: &str,
        purpose: CodePurpose,
        code: &str,
        now: Timestamp,
    ) -> CodeAnswer {
        let Some(p) = self.codes.get_mut(key) else {
            return CodeAnswer::NoCode;
        };
        if now >= p.expires || p.purpose != purpose || &*p.user != user {
            if now >= p.expires {
                self.codes.remove(key);
            }
            return CodeAnswer::NoCode;
        }
        if p.digest == digest(key, &normalize(code)) {
            self.codes.remove(key);
            return CodeAnswer::Passed;
        }
        p.wrong += 1;
        let left = CODE_ATTEMPTS.saturating_sub(p.wrong);
        if left == 0 {
            self.codes.remove(key);
        }
        CodeAnswer::Wrong { left }
    }

    /// Drops expired codes and finished send windows.
    pub fn expire(&mut self, now: Timestamp) {
        self.codes.retain(|_, p| now < p.expires);
        self.sends
            .retain(|_, (start, _)| now.secs() - start.secs() < SEND_WINDOW_SECS);
    }

    /// Codes waiting.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

/// How a session stepped up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepUp {
    pub at: Timestamp,
    pub method: super::StepUpMethod,
}

/// When each session last stepped up, keyed by the session token's digest.
#[derive(Debug, Default)]
pub struct StepUps {
    by_session: HashMap<[u8; 32], (Name, StepUp)>,
}

impl StepUps {
    /// Remembers a step-up of `user`'s session `key`.
    pub fn note(&mut self, key: [u8; 32], user: &str, step: StepUp) {
        if self.by_session.len() >= STEP_UPS_MAX && !self.by_session.contains_key(&key) {
            let now = step.at;
            self.by_session
                .retain(|_, (_, s)| now.secs() - s.at.secs() < STEP_UP_KEEP_SECS);
            if self.by_session.len() >= STEP_UPS_MAX {
                if let Some(k) = self
                    .by_session
                    .iter()
                    .min_by_key(|(_, (_, s))| s.at)
                    .map(|(k, _)| *k)
                {
                    self.by_session.remove(&k);
                }
            }
        }
        self.by_session.insert(key, (user.into(), step));
    }

    /// The last step-up of `user`'s session `key`.
    pub fn last(&self, key: &[u8; 32], user: &str) -> Option<StepUp> {
        self.by_session
            .get(key)
            .filter(|(u, _)| &**u == user)
            .map(|(_, s)| *s)
    }

    /// Forgets every step-up of `user` (sessions revoked, password changed).
    pub fn forget_user(&mut self, user: &str) {
        self.by_session.retain(|_, (u, _)| &**u != user);
    }

    /// Drops step-ups older than [`STEP_UP_KEEP_SECS`].
    pub fn expire(&mut self, now: Timestamp) {
        self.by_session
            .retain(|_, (_, s)| now.secs() - s.at.secs() < STEP_UP_KEEP_SECS);
    }

    pub fn len(&self) -> usize {
        self.by_session.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_session.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: [u8; 32] = [7; 32];
    const T: Timestamp = Timestamp(1_700_000_000);

    #[test]
    fn a_code_works_once_for_its_token_user_and_purpose() {
        let mut b = CodeBook::default();
        b.hold(K, "ann", CodePurpose::Login, "123456", T);
        assert!(b.waiting(&K, CodePurpose::Login, T));
        assert!(!b.waiting(&K, CodePurpose::StepUp, T));
        assert_eq!(
            b.answer(&K, "bob", CodePurpose::Login, "123456", T),
            CodeAnswer::NoCode
        );
        assert_eq!(
            b.answer(&K, "ann", CodePurpose::StepUp, "123456", T),
            CodeAnswer::NoCode
        );
        assert_eq!(
            b.answer(&[8; 32], "ann", CodePurpose::Login, "123456", T),
            CodeAnswer::NoCode
        );
        assert_eq!(
            b.answer(&K, "ann", CodePurpose::Login, " 123-456 ", T),
            CodeAnswer::Passed
        );
        assert_eq!(
            b.answer(&K, "ann", CodePurpose::Login, "123456", T),
            CodeAnswer::NoCode,
            "used up"
        );
    }

    #[test]
    fn wrong_codes_void_it_and_time_ends_it() {
        let mut b = CodeBook::default();
        b.hold(K, "ann", CodePurpose::StepUp, "111111", T);
        assert_eq!(
            b.answer(&K, "ann", CodePurpose::StepUp, "000000", T),
            CodeAnswer::Wrong { left: 2 }
        );
        assert_eq!(
            b.answer(&K, "ann", CodePurpose::StepUp, "000001", T),
            CodeAnswer::Wrong { left: 1 }
        );
        assert_eq!(
            b.answer(&K, "ann", CodePurpose::StepUp, "000002", T),
            CodeAnswer::Wrong { left: 0 }
        );
        assert_eq!(
            b.answer(&K, "ann", CodePurpose::StepUp, "111111", T),
            CodeAnswer::NoCode,
            "void after {CODE_ATTEMPTS} wrong tries"
        );
        b.hold(K, "ann", CodePurpose::StepUp, "222222", T);
        let late = T.plus_secs(CODE_TTL_SECS);
        assert_eq!(
            b.answer(&K, "ann", CodePurpose::StepUp, "222222", late),
            CodeAnswer::NoCode
        );
        assert!(b.is_empty());
    }

    #[test]
    fn sends_per_account_are_limited_per_window() {
        let mut b = CodeBook::default();
        for _ in 0..SENDS_PER_WINDOW {
            assert!(b.may_send("ann", T));
        }
        assert!(!b.may_send("ann", T.plus_secs(60)));
        assert!(b.may_send("bob", T.plus_secs(60)), "per account");
        assert!(b.may_send("ann", T.plus_secs(SEND_WINDOW_SECS)));
    }

    #[test]
    fn the_book_stays_bounded() {
        let mut b = CodeBook::default();
        for i in 0..(CODES_MAX + 10) {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            b.hold(
                key,
                "ann",
                CodePurpose::Login,
                "1",
                T.plus_secs(i as i64 % 100),
            );
        }
        assert_eq!(b.len(), CODES_MAX);
    }

    #[test]
    fn step_ups_belong_to_their_session_and_user() {
        let mut s = StepUps::default();
        let step = StepUp {
            at: T,
            method: super::super::StepUpMethod::Totp,
        };
        s.note(K, "ann", step);
        assert_eq!(s.last(&K, "ann"), Some(step));
        assert_eq!(s.last(&K, "bob"), None);
        assert_eq!(s.last(&[1; 32], "ann"), None);
        s.expire(T.plus_secs(STEP_UP_KEEP_SECS));
        assert!(s.is_empty());
        s.note(K, "ann", step);
        s.forget_user("ann");
        assert!(s.is_empty());
    }
}
