//! The throttle on second-factor codes, per account: a TOTP code has a
//! million values (three are accepted at a time), so unthrottled guessing
//! switches someone's 2FA off in seconds. After [`CODE_FAILURES`] wrong
//! codes within [`CODE_WINDOW_SECS`] the account's codes are refused
//! unchecked — the right one too — for [`CODE_LOCK_SECS`], doubling with
//! every further lock up to [`CODE_LOCK_MAX_SECS`] until the account has
//! been quiet for a day. A right code clears the failures (not the lock
//! level). Every path that checks a code goes through it
//! (`Service::check_code`).
//!
//! Pure state, the time passed in; it lives in the short-lived state
//! ([`crate::ShortLived`]). Only accounts with a TOTP enrolment get an entry
//! (a code is checked only then), and the map is bounded besides.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use warden_core::{Name, Timestamp};

/// Wrong codes within the window that lock the account's codes.
pub const CODE_FAILURES: usize = 5;
/// The window for counting them (seconds).
pub const CODE_WINDOW_SECS: i64 = 900;
/// The first lock (seconds); each further one doubles it.
pub const CODE_LOCK_SECS: i64 = 900;
/// The longest lock (seconds); an account quiet this long starts afresh.
pub const CODE_LOCK_MAX_SECS: i64 = 86_400;
/// At most this many accounts are tracked.
pub const CODE_ACCOUNTS_MAX: usize = 500_000;

/// What a wrong code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeFailure {
    /// Wrong codes within the window, this one included (0 once locked).
    pub failures: usize,
    /// This failure locked the account's codes until then.
    pub locked_until: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct Entry {
    /// Times of the wrong codes within the window, oldest first.
    failures: VecDeque<i64>,
    locked_until: i64,
    /// Locks so far (the next one lasts `CODE_LOCK_SECS << locks`).
    locks: u32,
    last: i64,
}

/// Per-account wrong-code counts and locks.
#[derive(Debug, Default)]
pub struct CodeThrottle {
    map: FxHashMap<Name, Entry>,
}

impl CodeThrottle {
    /// Until when `user`'s codes are locked, if they are at `now`.
    pub fn locked(&self, user: &str, now: Timestamp) -> Option<Timestamp> {
        self.map
            .get(user)
            .filter(|e| e.locked_until > now.secs())
            .map(|e| Timestamp(e.locked_until))
    }

    /// Counts a wrong code of `user` at `now`.
    pub fn failed(&mut self, user: &str, now: Timestamp) -> CodeFailure {
        let now = now.secs();
        if self.map.len() >= CODE_ACCOUNTS_MAX && !self.map.contains_key(user) {
            self.prune(Timestamp(now));
            if self.map.len() >= CODE_ACCOUNTS_MAX {
                // Still full: forget the accounts that are not locked.
                self.map.retain(|_, e| e.locked_until > now);
            }
        }
        let e = self.map.entry(user.into()).or_default();
        e.last = now;
        while e
            .failures
            .front()
            .is_some_and(|&t| now - t > CODE_WINDOW_SECS)
        {
            e.failures.pop_front();
        }
        e.failures.push_back(now);
        if e.failures.len() < CODE_FAILURES {
            return CodeFailure {
                failures: e.failures.len(),
                locked_until: None,
            };
        }
        let secs = CODE_LOCK_SECS
            .saturating_mul(1i64 << e.locks.min(20))
            .min(CODE_LOCK_MAX_SECS);
        e.locks = e.locks.saturating_add(1);
        e.locked_until = now + secs;
        e.failures.clear();
        CodeFailure {
            failures: 0,
            locked_until: Some(Timestamp(e.locked_until)),
        }
    }

    /// A right code of `user`: its failures are forgotten (its lock level
    /// is not, until it has been quiet for a day).
    pub fn passed(&mut self, user: &str) {
        if let Some(e) = self.map.get_mut(user) {
            e.failures.clear();
        }
    }

    /// Forgets accounts whose lock is over and that have had no wrong code
    /// for [`CODE_LOCK_MAX_SECS`].
    pub fn prune(&mut self, now: Timestamp) {
        let now = now.secs();
        self.map
            .retain(|_, e| e.locked_until > now || now - e.last <= CODE_LOCK_MAX_SECS);
    }

    /// Accounts tracked.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_wrong_code_in_the_window_locks_and_locks_grow() {
        let mut t = CodeThrottle::default();
        for i in 1..CODE_FAILURES {
            let f = t.failed("kim", Timestamp(i as i64));
            assert_eq!((f.failures, f.locked_until), (i, None));
            assert_eq!(t.locked("kim", Timestamp(i as i64)), None);
        }
        let f = t.failed("kim", Timestamp(10));
        assert_eq!(f.locked_until, Some(Timestamp(10 + CODE_LOCK_SECS)));
        assert_eq!(
            t.locked("kim", Timestamp(10 + CODE_LOCK_SECS - 1)),
            Some(Timestamp(10 + CODE_LOCK_SECS))
        );
        assert_eq!(t.locked("kim", Timestamp(10 + CODE_LOCK_SECS)), None);
        assert_eq!(t.locked("lee", Timestamp(11)), None, "per account");
        // The next lock lasts twice as long, up to a day.
        let mut at = 10 + CODE_LOCK_SECS;
        let mut expected = 2 * CODE_LOCK_SECS;
        for _ in 0..8 {
            let mut last = None;
            for _ in 0..CODE_FAILURES {
                at += 1;
                last = t.failed("kim", Timestamp(at)).locked_until;
            }
            assert_eq!(last, Some(Timestamp(at + expected)));
            at += expected;
            expected = (expected * 2).min(CODE_LOCK_MAX_SECS);
        }
    }

    #[test]
    fn failures_outside_the_window_and_before_a_right_code_do_not_count() {
        let mut t = CodeThrottle::default();
        for i in 0..CODE_FAILURES as i64 - 1 {
            t.failed("kim", Timestamp(i));
        }
        // The first failures fall out of the window.
        let f = t.failed("kim", Timestamp(CODE_WINDOW_SECS + 2));
        assert_eq!(f.locked_until, None);
        assert!(f.failures < CODE_FAILURES);
        t.passed("kim");
        let f = t.failed("kim", Timestamp(CODE_WINDOW_SECS + 3));
        assert_eq!(f.failures, 1);
    }

    #[test]
    fn quiet_accounts_are_forgotten_and_the_map_is_bounded() {
        let mut t = CodeThrottle::default();
        t.failed("kim", Timestamp(0));
        for i in 0..CODE_FAILURES {
            t.failed("lee", Timestamp(i as i64));
        }
        t.prune(Timestamp(CODE_LOCK_MAX_SECS + 10));
        assert_eq!(t.len(), 0, "lee's lock ended long ago");
        for i in 0..CODE_FAILURES {
            t.failed("lee", Timestamp(100 + i as i64));
        }
        t.failed("kim", Timestamp(100));
        t.prune(Timestamp(100 + CODE_LOCK_SECS - 1));
        assert_eq!(t.len(), 2);
    }
}
