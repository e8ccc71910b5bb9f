//! Signs that a mailbox is already in someone else's hands, from what
//! happens after the password was accepted: successful mail logins (IMAP,
//! POP3, SMTP AUTH) of one account from many countries or many distinct
//! networks within a day. A person's phone, laptop and webmail move
//! between a few networks; a leaked password used by a botnet or sold on
//! shows up from everywhere at once.
//!
//! [`Spread`] keeps, per account, the countries and networks (/24 for
//! IPv4, /64 for IPv6) of its successful mail logins in a sliding window,
//! at most as many of each as the thresholds need (so an account costs a
//! bounded number of bytes), for at most `max_users` accounts. It signals
//! an account once per window when a threshold is crossed. Pure state:
//! time is passed in.
//!
//! The default thresholds come from the simulator's legitimate behaviour
//! (see the README's "Compromise signals"): the most distinct countries a
//! legitimate user showed in any 24 hours, and the most distinct networks,
//! each with a margin above it.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::domain::{Country, Name};
use crate::time::Timestamp;

/// When a spread of logins is a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadLimits {
    /// Distinct countries in the window that signal (0: never).
    pub countries: usize,
    /// Distinct networks in the window that signal (0: never).
    pub networks: usize,
    pub window_secs: i64,
    /// Accounts tracked at once.
    pub max_users: usize,
}

impl Default for SpreadLimits {
    fn default() -> Self {
        SpreadLimits {
            countries: DEFAULT_SPREAD_COUNTRIES,
            networks: DEFAULT_SPREAD_NETWORKS,
            window_secs: 24 * 3600,
            max_users: 100_000,
        }
    }
}

/// Distinct countries in a day that signal: legitimate users of the
/// simulated tenant showed at most 3 (a day of travel with a layover; 13
/// of 1000 users in 42 days).
pub const DEFAULT_SPREAD_COUNTRIES: usize = 4;
/// Distinct /24 or /64 networks in a day that signal: legitimate users
/// showed at most 13 (a mobile carrier hands out addresses from many /24s;
/// the median user's busiest day had 9).
pub const DEFAULT_SPREAD_NETWORKS: usize = 16;

/// What [`Spread::observe`] signals.
#[derive(Debug, Clone, PartialEq)]
pub struct SpreadSignal {
    /// The countries seen in the window (at most the threshold).
    pub countries: Vec<Country>,
    /// Distinct networks seen in the window (at most the threshold).
    pub networks: usize,
    /// When the spread began: the oldest of the latest logins from each
    /// country and network it counts.
    pub since: Timestamp,
}

#[derive(Debug, Clone, Default)]
struct Account {
    /// (country, last seen), at most `limits.countries`.
    countries: Vec<(Country, Timestamp)>,
    /// (network key, last seen), at most `limits.networks`.
    networks: Vec<(u128, Timestamp)>,
    signalled_at: Option<Timestamp>,
    last: Timestamp,
}

impl Account {
    fn forget_before(&mut self, cutoff: Timestamp) {
        self.countries.retain(|(_, t)| *t >= cutoff);
        self.networks.retain(|(_, t)| *t >= cutoff);
    }

    fn since(&self) -> Timestamp {
        self.countries
            .iter()
            .map(|(_, t)| *t)
            .chain(self.networks.iter().map(|(_, t)| *t))
            .min()
            .unwrap_or(self.last)
    }
}

/// Seen `key` at `ts`: refreshed, or added while there is room (at most
/// `cap`; a full list keeps its newest entries).
fn touch<K: PartialEq + Copy>(list: &mut Vec<(K, Timestamp)>, key: K, ts: Timestamp, cap: usize) {
    if let Some(e) = list.iter_mut().find(|(k, _)| *k == key) {
        e.1 = e.1.max(ts);
        return;
    }
    if cap == 0 {
        return;
    }
    if list.len() >= cap {
        // Replace the oldest: the count stays at the cap.
        if let Some(oldest) = list.iter_mut().min_by_key(|(_, t)| *t) {
            *oldest = (key, ts);
        }
        return;
    }
    list.push((key, ts));
}

/// The network of an address: its /24 (IPv4) or /64 (IPv6), tagged.
fn network(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => (1u128 << 64) | u128::from(u32::from(v4) >> 8),
        IpAddr::V6(v6) => u128::from(v6) >> 64,
    }
}

/// The accounts' recent spread of successful mail logins.
#[derive(Debug, Clone, Default)]
pub struct Spread {
    limits: SpreadLimits,
    accounts: HashMap<Name, Account>,
    /// Logins not tracked because `max_users` accounts were.
    pub dropped: u64,
}

impl Spread {
    pub fn new(limits: SpreadLimits) -> Self {
        Spread {
            limits,
            accounts: HashMap::new(),
            dropped: 0,
        }
    }

    /// Accounts tracked.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// A successful mail login of `user` from `ip` (in `country`, when
    /// known) at `ts`. `Some` the first time in a window the account
    /// crosses a threshold.
    pub fn observe(
        &mut self,
        user: &Name,
        ts: Timestamp,
        ip: IpAddr,
        country: Option<Country>,
    ) -> Option<SpreadSignal> {
        let l = self.limits;
        if l.countries == 0 && l.networks == 0 {
            return None;
        }
        if !self.accounts.contains_key(user) && self.accounts.len() >= l.max_users {
            self.prune(ts);
            if self.accounts.len() >= l.max_users {
                self.dropped += 1;
                return None;
            }
        }
        let a = self.accounts.entry(user.clone()).or_default();
        let cutoff = ts.plus_secs(-l.window_secs);
        a.forget_before(cutoff);
        a.last = a.last.max(ts);
        if let Some(c) = country {
            touch(&mut a.countries, c, ts, l.countries);
        }
        touch(&mut a.networks, network(ip), ts, l.networks);
        let crossed = (l.countries > 0 && a.countries.len() >= l.countries)
            || (l.networks > 0 && a.networks.len() >= l.networks);
        let quiet = a.signalled_at.is_none_or(|t| t < cutoff);
        if !(crossed && quiet) {
            return None;
        }
        a.signalled_at = Some(ts);
        Some(SpreadSignal {
            countries: a.countries.iter().map(|(c, _)| *c).collect(),
            networks: a.networks.len(),
            since: a.since(),
        })
    }

    /// Forgets accounts with no login in the window before `now`.
    pub fn prune(&mut self, now: Timestamp) {
        let cutoff = now.plus_secs(-self.limits.window_secs);
        self.accounts.retain(|_, a| a.last >= cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_750_000_000;

    fn c(code: &str) -> Option<Country> {
        Some(Country::new(code).unwrap())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn limits() -> SpreadLimits {
        SpreadLimits {
            countries: 3,
            networks: 4,
            window_secs: 24 * 3600,
            max_users: 2,
        }
    }

    #[test]
    fn three_countries_in_a_day_signal_once() {
        let mut s = Spread::new(limits());
        let u: Name = "kim@example.com".into();
        assert_eq!(s.observe(&u, Timestamp(T), ip("113.88.1.1"), c("CN")), None);
        assert_eq!(
            s.observe(&u, Timestamp(T + 60), ip("113.88.1.2"), c("CN")),
            None
        );
        assert_eq!(
            s.observe(&u, Timestamp(T + 120), ip("105.112.1.1"), c("NG")),
            None
        );
        let sig = s
            .observe(&u, Timestamp(T + 180), ip("81.2.69.1"), c("GB"))
            .expect("three countries");
        assert_eq!(sig.countries.len(), 3);
        assert_eq!(sig.since, Timestamp(T + 60), "China's latest login");
        // Once per window.
        assert_eq!(
            s.observe(&u, Timestamp(T + 240), ip("3.1.1.1"), c("US")),
            None
        );
        // A day later it may signal again.
        let later = T + 240 + 24 * 3600 + 1;
        assert_eq!(
            s.observe(&u, Timestamp(later), ip("3.1.1.1"), c("US")),
            None
        );
        assert_eq!(
            s.observe(&u, Timestamp(later + 1), ip("81.2.69.1"), c("GB")),
            None
        );
        assert!(s
            .observe(&u, Timestamp(later + 2), ip("105.112.1.1"), c("NG"))
            .is_some());
    }

    #[test]
    fn the_same_countries_spread_over_days_do_not_signal() {
        let mut s = Spread::new(limits());
        let u: Name = "kim@example.com".into();
        for (d, (a, cc)) in [
            ("113.88.1.1", "CN"),
            ("105.112.1.1", "NG"),
            ("81.2.69.1", "GB"),
        ]
        .into_iter()
        .enumerate()
        {
            let ts = Timestamp(T + d as i64 * 25 * 3600);
            assert_eq!(s.observe(&u, ts, ip(a), c(cc)), None);
        }
    }

    #[test]
    fn many_networks_of_one_country_signal_and_addresses_of_one_network_count_once() {
        let mut s = Spread::new(limits());
        let u: Name = "kim@example.com".into();
        for i in 0..50 {
            assert_eq!(
                s.observe(&u, Timestamp(T + i), ip(&format!("113.88.1.{i}")), c("CN")),
                None
            );
        }
        for n in 2..4 {
            assert_eq!(
                s.observe(
                    &u,
                    Timestamp(T + 100 + n),
                    ip(&format!("113.88.{n}.1")),
                    c("CN")
                ),
                None
            );
        }
        let sig = s
            .observe(&u, Timestamp(T + 200), ip("2001:db8:1:2::5"), c("CN"))
            .unwrap();
        assert_eq!(sig.networks, 4);
    }

    #[test]
    fn accounts_and_entries_are_bounded() {
        let mut s = Spread::new(limits());
        let (a, b, x): (Name, Name, Name) = ("a".into(), "b".into(), "x".into());
        s.observe(&a, Timestamp(T), ip("1.1.1.1"), None);
        s.observe(&b, Timestamp(T), ip("1.1.1.1"), None);
        assert_eq!(s.observe(&x, Timestamp(T + 1), ip("1.1.1.1"), None), None);
        assert_eq!((s.len(), s.dropped), (2, 1));
        // Once the others are past the window, a new account gets room.
        s.observe(&x, Timestamp(T + 24 * 3600 + 1), ip("1.1.1.1"), None);
        assert_eq!(s.len(), 1);
        // However many networks, an account keeps at most the threshold.
        let mut s = Spread::new(limits());
        for i in 0..200 {
            s.observe(&a, Timestamp(T + i), ip(&format!("10.{i}.0.1")), None);
        }
        assert!(s.accounts[&a].networks.len() <= 4);
    }
}
