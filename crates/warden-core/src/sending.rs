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

/// One account's sending: recipients within the window, and an
/// exponentially decayed count of all its recipients (its usual rate).
#[derive(Debug, Clone, Default)]
struct Rate {
    recent: VecDeque<i64>,
    decayed: f64,
    last: i64,
}

impl Rate {
    fn decayed_at(&self, now: i64, half_life: f64) -> f64 {
        let dt = (now - self.last).max(0) as f64;
        self.decayed * 0.5f64.powf(dt / half_life)
    }
}

/// The verdict on one more recipient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateCheck {
    /// Counted.
    Allowed,
    /// Over the limit (not counted): recipients in the window, the limit,
    /// and the account's usual count per window.
    Deferred { recent: u32, limit: u32, usual: f64 },
}

/// Per-account sending rates: a recipient is deferred when the window
/// already holds `max(min_recipients, factor × usual)` of them, where
/// `usual` is the account's long-run recipients per window. Pure state: the
/// time is passed in.
#[derive(Debug, Default)]
pub struct SendingRates {
    users: FxHashMap<String, Rate>,
    checks: u64,
}

impl SendingRates {
    /// Checks (and on success counts) one recipient of `user` at `now`.
    pub fn check(&mut self, user: &str, now: i64, l: &RateLimits) -> RateCheck {
        self.checks += 1;
        if self.checks.is_multiple_of(4096) {
            self.prune(now, l);
        }
        let r = self.users.entry(user.to_string()).or_default();
        while r.recent.front().is_some_and(|&t| t <= now - l.window_secs) {
            r.recent.pop_front();
        }
        let decayed = r.decayed_at(now, l.half_life_secs);
        let usual = decayed * std::f64::consts::LN_2 * l.window_secs as f64 / l.half_life_secs;
        let limit = (l.factor * usual)
            .ceil()
            .max(l.min_recipients as f64)
            .min(u32::MAX as f64) as u32;
        let recent = r.recent.len() as u32;
        if recent >= limit {
            return RateCheck::Deferred {
                recent,
                limit,
                usual,
            };
        }
        r.recent.push_back(now);
        r.decayed = decayed + 1.0;
        r.last = now;
        RateCheck::Allowed
    }

    /// Forgets accounts with nothing in the window and almost no history.
    pub fn prune(&mut self, now: i64, l: &RateLimits) {
        self.users.retain(|_, r| {
            r.recent.back().is_some_and(|&t| t > now - l.window_secs)
                || r.decayed_at(now, l.half_life_secs) >= 0.5
        });
    }

    /// Accounts tracked.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
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
            assert_eq!(r.check("a", t0 + i, &LIMITS), RateCheck::Allowed);
        }
        assert!(matches!(
            r.check("a", t0 + 21, &LIMITS),
            RateCheck::Deferred {
                recent: 20,
                limit: 20,
                ..
            }
        ));
        // Another account is not affected; the window slides.
        assert_eq!(r.check("b", t0 + 22, &LIMITS), RateCheck::Allowed);
        assert_eq!(r.check("a", t0 + 3_601, &LIMITS), RateCheck::Allowed);
    }

    #[test]
    fn a_steady_sender_gets_room_in_proportion_and_a_burst_is_deferred() {
        let mut r = SendingRates::default();
        let t0 = 1_700_000_000;
        // Eight weeks of 15 recipients an hour.
        let mut t = t0;
        for _ in 0..8 * 7 * 24 {
            for i in 0..15 {
                assert_eq!(r.check("bulk", t + i * 200, &LIMITS), RateCheck::Allowed);
            }
            t += 3600;
        }
        // Usual is about 15 an hour, so the limit is about 5 × 15, of which
        // the last hour used 15.
        let mut sent = 0;
        while r.check("bulk", t + sent, &LIMITS) == RateCheck::Allowed {
            sent += 1;
            assert!(sent < 1_000);
        }
        assert!((50..=70).contains(&sent), "{sent}");
        r.prune(t + 400 * 86_400, &LIMITS);
        assert!(r.is_empty());
    }
}
