//! Sending rates: how many recipients an account sends to within a window,
//! against its own long-run rate, so a compromised mailbox that suddenly
//! mails hundreds of people is held back (the Postfix policy server defers
//! it). Pure state beside the other counters: the time is passed in, and the
//! map of accounts is pruned as it grows.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

/// Limits of the sending-rate check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    pub window_secs: i64,
    pub min_recipients: u32,
    pub factor: f64,
    pub half_life_secs: f64,
}

impl Default for RateLimits {
    /// 100 recipients an hour at least, ten times the usual rate beyond
    /// that, a usual rate with a half-life of a week.
    fn default() -> Self {
        RateLimits {
            window_secs: 3600,
            min_recipients: 100,
            factor: 10.0,
            half_life_secs: 7.0 * 86_400.0,
        }
    }
}

/// One account's sending: recipients within the window (with a key that
/// tells a recipient counted twice in one mail transaction), and an
/// exponentially decayed count of all its recipients (its usual rate).
#[derive(Debug, Clone, Default)]
struct Rate {
    recent: VecDeque<(i64, u64)>,
    decayed: f64,
    last: i64,
}

impl Rate {
    fn decayed_at(&self, now: i64, half_life: f64) -> f64 {
        let dt = (now - self.last).max(0) as f64;
        self.decayed * 0.5f64.powf(dt / half_life)
    }

    /// Heap and table bytes of one entry keyed by `key_len` bytes.
    fn bytes(&self, key_len: usize) -> usize {
        ENTRY_BYTES + key_len + self.recent.capacity() * std::mem::size_of::<(i64, u64)>()
    }
}

/// The most recipients one sender may have in a window, whatever its
/// usual rate (1 MiB of state).
pub const MAX_RECENT: usize = 65_536;

/// How many of a sender's newest recipients a repeat is looked for in.
const DEDUP_SCAN: usize = 2_048;

/// What one map entry costs besides its key text and recipients: the
/// table slot (key `String`, `Rate`) and the allocators' overhead.
const ENTRY_BYTES: usize = 128;

/// The verdict on one more recipient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateCheck {
    /// Counted (or already counted in this mail transaction).
    Allowed,
    /// Over the limit (not counted): recipients in the window, the limit,
    /// and the account's usual count per window.
    Deferred { recent: u32, limit: u32, usual: f64 },
}

/// Per-sender sending rates: a recipient is deferred when the window
/// already holds `max(min_recipients, factor × usual)` of them, where
/// `usual` is the sender's long-run recipients per window. A sender is a
/// name (an account, or whatever key the caller chooses). Bounded: at most
/// `max_senders` senders and `max_bytes` bytes (estimated); past either,
/// the senders that sent longest ago are forgotten first. Pure state: the
/// time is passed in.
#[derive(Debug)]
pub struct SendingRates {
    users: FxHashMap<String, Rate>,
    checks: u64,
    /// Estimated bytes of `users`, kept as entries change.
    bytes: usize,
    max_senders: usize,
    max_bytes: usize,
}

impl Default for SendingRates {
    fn default() -> Self {
        SendingRates::bounded(100_000, 64 << 20)
    }
}

impl SendingRates {
    /// At most `max_senders` senders and about `max_bytes` bytes.
    pub fn bounded(max_senders: usize, max_bytes: usize) -> Self {
        SendingRates {
            users: FxHashMap::default(),
            checks: 0,
            bytes: 0,
            max_senders: max_senders.max(1),
            max_bytes,
        }
    }

    /// Checks (and on success counts) one recipient of `user` at `now`.
    /// `once` identifies the recipient within its mail transaction (e.g. a
    /// hash of Postfix's `instance` and `recipient`): a recipient already
    /// counted with the same `once` within the window is not counted again.
    pub fn check(&mut self, user: &str, once: Option<u64>, now: i64, l: &RateLimits) -> RateCheck {
        self.checks += 1;
        if self.checks.is_multiple_of(4096) {
            self.prune(now, l);
        }
        if !self.users.contains_key(user) {
            self.make_room(now, l, Rate::default().bytes(user.len()), None);
            let r = Rate::default();
            self.bytes += r.bytes(user.len());
            self.users.insert(user.to_string(), r);
        }
        let Some(r) = self.users.get_mut(user) else {
            return RateCheck::Allowed;
        };
        let before = r.bytes(user.len());
        let verdict = Self::count(r, once, now, l);
        let after = r.bytes(user.len());
        self.bytes = (self.bytes + after).saturating_sub(before);
        if self.bytes > self.max_bytes {
            self.make_room(now, l, 0, Some(user));
        }
        verdict
    }

    fn count(r: &mut Rate, once: Option<u64>, now: i64, l: &RateLimits) -> RateCheck {
        while r
            .recent
            .front()
            .is_some_and(|&(t, _)| t <= now - l.window_secs)
        {
            r.recent.pop_front();
        }
        if let Some(k) = once {
            // A transaction's recipients come together (Postfix takes at
            // most `smtpd_recipient_limit`, 1000, per mail): the newest
            // suffice, and the check stays short for a bulk sender.
            if r.recent
                .iter()
                .rev()
                .take(DEDUP_SCAN)
                .any(|&(_, seen)| seen == k)
            {
                return RateCheck::Allowed;
            }
        }
        let decayed = r.decayed_at(now, l.half_life_secs);
        let usual = decayed * std::f64::consts::LN_2 * l.window_secs as f64 / l.half_life_secs;
        let limit = (l.factor * usual)
            .ceil()
            .max(l.min_recipients as f64)
            .min(u32::MAX as f64) as u32;
        let recent = r.recent.len() as u32;
        if recent >= limit || r.recent.len() >= MAX_RECENT {
            if r.recent.capacity() > 2 * r.recent.len() + 16 {
                r.recent.shrink_to_fit();
            }
            return RateCheck::Deferred {
                recent,
                limit,
                usual,
            };
        }
        r.recent.push_back((now, once.unwrap_or(0)));
        r.decayed = decayed + 1.0;
        r.last = now;
        RateCheck::Allowed
    }

    /// Makes room for `extra` more bytes (and a new sender when `keep` is
    /// `None`): prunes, then forgets the senders whose last recipient is
    /// oldest, never `keep`, until it fits.
    fn make_room(&mut self, now: i64, l: &RateLimits, extra: usize, keep: Option<&str>) {
        let new = usize::from(keep.is_none());
        let full = |s: &Self| s.users.len() + new > s.max_senders || s.bytes + extra > s.max_bytes;
        if !full(self) {
            return;
        }
        self.prune(now, l);
        let others =
            self.users.len() - usize::from(keep.is_some_and(|k| self.users.contains_key(k)));
        if !full(self) || others == 0 {
            return;
        }
        // Forget the eighth that sent longest ago (one walk for many
        // inserts).
        let mut lasts: Vec<i64> = self
            .users
            .iter()
            .filter(|(n, _)| Some(n.as_str()) != keep)
            .map(|(_, r)| r.last)
            .collect();
        let k = (lasts.len() / 8).min(lasts.len() - 1);
        let (_, &mut cut, _) = lasts.select_nth_unstable(k);
        let mut freed = 0;
        self.users.retain(|name, r| {
            let forget = r.last <= cut && Some(name.as_str()) != keep;
            if forget {
                freed += r.bytes(name.len());
            }
            !forget
        });
        self.bytes = self.bytes.saturating_sub(freed);
        // Still too big (a few senders hold most of the bytes): forget the
        // oldest one by one.
        while full(self) {
            let Some(oldest) = self
                .users
                .iter()
                .filter(|(n, _)| Some(n.as_str()) != keep)
                .min_by_key(|(_, r)| r.last)
                .map(|(n, _)| n.clone())
            else {
                break;
            };
            if let Some(r) = self.users.remove(&oldest) {
                self.bytes = self.bytes.saturating_sub(r.bytes(oldest.len()));
            }
        }
    }

    /// Forgets senders with nothing in the window and almost no history.
    pub fn prune(&mut self, now: i64, l: &RateLimits) {
        let mut freed = 0;
        self.users.retain(|name, r| {
            let keep = r
                .recent
                .back()
                .is_some_and(|&(t, _)| t > now - l.window_secs)
                || r.decayed_at(now, l.half_life_secs) >= 0.5;
            if !keep {
                freed += r.bytes(name.len());
            }
            keep
        });
        self.bytes = self.bytes.saturating_sub(freed);
        if self.users.capacity() > 4 * self.users.len() + 1024 {
            self.users.shrink_to_fit();
        }
    }

    /// Senders tracked.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Estimated bytes held (entries, names and recipients; the table's
    /// empty slots not counted).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RateLimits = RateLimits {
        window_secs: 3600,
        min_recipients: 20,
        factor: 5.0,
        half_life_secs: 7.0 * 86_400.0,
    };

    #[test]
    fn a_new_account_may_send_the_minimum_per_window() {
        let mut r = SendingRates::default();
        let t0 = 1_700_000_000;
        for i in 0..20 {
            assert_eq!(r.check("a", None, t0 + i, &LIMITS), RateCheck::Allowed);
        }
        assert!(matches!(
            r.check("a", None, t0 + 21, &LIMITS),
            RateCheck::Deferred {
                recent: 20,
                limit: 20,
                ..
            }
        ));
        // Another account is not affected; the window slides.
        assert_eq!(r.check("b", None, t0 + 22, &LIMITS), RateCheck::Allowed);
        assert_eq!(r.check("a", None, t0 + 3_601, &LIMITS), RateCheck::Allowed);
    }

    #[test]
    fn a_steady_sender_gets_room_in_proportion_and_a_burst_is_deferred() {
        let mut r = SendingRates::default();
        let t0 = 1_700_000_000;
        // Eight weeks of 15 recipients an hour.
        let mut t = t0;
        for _ in 0..8 * 7 * 24 {
            for i in 0..15 {
                assert_eq!(
                    r.check("bulk", None, t + i * 200, &LIMITS),
                    RateCheck::Allowed
                );
            }
            t += 3600;
        }
        // Usual is about 15 an hour, so the limit is about 5 × 15, of which
        // the last hour used 15.
        let mut sent = 0;
        while r.check("bulk", None, t + sent, &LIMITS) == RateCheck::Allowed {
            sent += 1;
            assert!(sent < 1_000);
        }
        assert!((50..=70).contains(&sent), "{sent}");
        r.prune(t + 400 * 86_400, &LIMITS);
        assert!(r.is_empty());
    }

    #[test]
    fn a_recipient_counts_once_per_transaction() {
        let mut r = SendingRates::default();
        let t0 = 1_700_000_000;
        // Postfix asks again about the same recipient of the same mail:
        // counted once, however often.
        for i in 0..50 {
            assert_eq!(r.check("a", Some(7), t0 + i, &LIMITS), RateCheck::Allowed);
        }
        for i in 0..19 {
            assert_eq!(
                r.check("a", Some(100 + i), t0 + 60, &LIMITS),
                RateCheck::Allowed
            );
        }
        assert!(matches!(
            r.check("a", Some(999), t0 + 61, &LIMITS),
            RateCheck::Deferred { recent: 20, .. }
        ));
    }

    #[test]
    fn senders_are_bounded_in_count_and_bytes_and_the_oldest_go_first() {
        let mut r = SendingRates::bounded(1_000, 1 << 20);
        let t0 = 1_700_000_000;
        r.check("first", None, t0, &LIMITS);
        for i in 0..20_000i64 {
            let name = format!("{}{i}", "x".repeat(1_000));
            r.check(&name, Some(i as u64), t0 + 1 + i / 10, &LIMITS);
            assert!(r.len() <= 1_000, "{}", r.len());
            assert!(r.bytes() <= 1 << 20, "{}", r.bytes());
        }
        assert!((400..1_000).contains(&r.len()), "{}", r.len());
        // The first sender is long forgotten; the newest is there.
        assert!(!r.users.contains_key("first"));
        assert!(r
            .users
            .contains_key(&format!("{}{}", "x".repeat(1_000), 19_999)));
        // The estimate is not below what the entries really hold.
        let real: usize = r
            .users
            .iter()
            .map(|(n, v)| n.len() + v.recent.capacity() * 16)
            .sum();
        assert!(r.bytes() >= real, "{} < {real}", r.bytes());
        // One sender may hold at most MAX_RECENT recipients a window.
        let mut one = SendingRates::bounded(10, 4_096);
        let huge = RateLimits {
            min_recipients: 1_000_000,
            ..LIMITS
        };
        let mut sent = 0;
        while one.check("bulk", None, t0 + 1, &huge) == RateCheck::Allowed {
            sent += 1;
        }
        assert_eq!(sent as usize, MAX_RECENT);
        assert!(
            one.bytes() <= 4_096 + 128 + 32 * MAX_RECENT,
            "{}",
            one.bytes()
        );
    }
}
