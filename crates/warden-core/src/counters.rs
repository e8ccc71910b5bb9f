//! Global sliding-window counters shared by all users: failures per account
//! and per (account, address) with lockouts, distinct accounts failing per
//! address and subnet (password spraying), distinct colleagues succeeding
//! per address (shared office egress), and the global failure rate against
//! its own baseline (credential-stuffing waves).
//!
//! A failure may carry a fingerprint of the wrong password (a truncated
//! keyed hash, such as Dovecot's `pwhash`). The same wrong password again
//! from the same (account, address) is a client with a stale password, not
//! a new guess: it counts once toward lockout, spraying and waves, and the
//! repeats are counted apart ([`Signals::repeated_failures`]).
//!
//! Every map is keyed by what attackers choose (accounts, addresses), so
//! each is bounded: split into [`SHARDS`] shards that
//! [`Counters::prune_step`] prunes one at a time (a short walk, so the lock
//! evaluate needs is held briefly), and capped in entries and estimated
//! bytes ([`Counters::enforce_caps`]): past a cap, the entries last active
//! longest ago in the shard that overflowed go first.

use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;

use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::domain::{FailureReason, Outcome};
use crate::hash::stable_hash;
use crate::policy::Attacks;
use crate::profile::keys;
use crate::sketch::WindowedSketch;
use crate::time::Timestamp;

/// What the counters say about one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Signals {
    /// The address is locked out of the account: failures and until when.
    pub lockout: Option<(u32, Timestamp)>,
    /// Failures on the account from anywhere within the account window.
    pub account_failures: u32,
    /// Distinct accounts that failed from this address in the spraying window.
    pub ip_failed_accounts: u64,
    /// Distinct accounts that failed from this /24 or /64 in the spraying window.
    pub subnet_failed_accounts: u64,
    /// Distinct users who logged in successfully from this address this week.
    pub ip_colleagues: u64,
    /// A credential-stuffing wave is under way: failures in the wave window.
    pub wave_failures: Option<u64>,
    /// Failures from this address on this account that repeated a wrong
    /// password already counted, within the lockout window.
    pub repeated_failures: u32,
}

/// A fingerprint of a wrong password (e.g. Dovecot's truncated `pwhash`),
/// only ever compared for equality within one (account, address) pair.
pub type PasswordFingerprint = u64;

/// Wrong-password fingerprints remembered per pair.
const FINGERPRINTS_PER_PAIR: usize = 8;
/// Repeats remembered per pair.
const REPEATS_PER_PAIR: usize = 64;

/// Timestamps of recent events, newest last, at most `cap`.
#[derive(Debug, Clone, Default)]
struct Recent(VecDeque<i64>);

impl Recent {
    fn push(&mut self, t: i64, cap: usize) {
        if self.0.len() >= cap {
            self.0.pop_front();
        }
        self.0.push_back(t);
    }

    fn count_since(&self, since: i64) -> u32 {
        self.0.iter().rev().take_while(|&&t| t > since).count() as u32
    }

    fn newest(&self) -> i64 {
        self.0.back().copied().unwrap_or(i64::MIN)
    }
}

const SPRAY_BUCKETS: usize = 6;
const COLLEAGUE_BUCKETS: usize = 7;
const WEEK: i64 = 7 * 86_400;

/// Global failure counts per minute and a slowly moving baseline.
#[derive(Debug, Clone, Default)]
struct Wave {
    /// (minute, failures) for recent minutes, oldest first.
    minutes: VecDeque<(i64, u64)>,
    /// Exponentially weighted failures per minute over roughly six hours.
    baseline_per_min: f64,
    baseline_minute: i64,
}

impl Wave {
    fn add(&mut self, now: i64, keep_minutes: i64) {
        let minute = now.div_euclid(60);
        match self.minutes.back_mut() {
            Some((m, c)) if *m == minute => *c += 1,
            Some((m, _)) if *m > minute => {
                // Late event: count it in the newest minute.
                if let Some((_, c)) = self.minutes.back_mut() {
                    *c += 1;
                }
            }
            _ => {
                self.roll_baseline(minute);
                self.minutes.push_back((minute, 1));
            }
        }
        while self
            .minutes
            .front()
            .is_some_and(|(m, _)| *m <= minute - keep_minutes)
        {
            self.minutes.pop_front();
        }
    }

    /// Folds every finished minute up to `minute` into the baseline.
    fn roll_baseline(&mut self, minute: i64) {
        const KEEP: f64 = 1.0 - 1.0 / 360.0;
        if self.baseline_minute == 0 {
            self.baseline_minute = minute;
            return;
        }
        // Each finished minute m moves the baseline: b = KEEP·b + (1-KEEP)·c(m).
        // Minutes without failures only decay it, so they are folded in
        // closed form: KEEP^gap.
        let mut b = self.baseline_per_min;
        let mut cur = self.baseline_minute;
        for &(m, c) in self
            .minutes
            .iter()
            .filter(|(m, _)| (self.baseline_minute..minute).contains(m))
        {
            b *= KEEP.powi((m - cur).min(i32::MAX as i64) as i32);
            b = KEEP * b + (1.0 - KEEP) * c as f64;
            cur = m + 1;
        }
        b *= KEEP.powi((minute - cur).clamp(0, i32::MAX as i64) as i32);
        self.baseline_per_min = b;
        self.baseline_minute = minute;
    }

    fn failures_since(&self, since_minute: i64) -> u64 {
        self.minutes
            .iter()
            .filter(|(m, _)| *m > since_minute)
            .map(|(_, c)| c)
            .sum()
    }
}

/// The counters. Pure data: time is always passed in.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pair_failures: Sharded<u64, Recent>,
    /// Per (user, IP) pair: failures that locked it, until when, and the
    /// user's key (so an admin can lift all of one user's lockouts).
    lockouts: Sharded<u64, (u32, i64, u64)>,
    user_failures: Sharded<u64, Recent>,
    ip_failed_accounts: Sharded<IpAddr, WindowedSketch>,
    subnet_failed_accounts: Sharded<u64, WindowedSketch>,
    ip_colleagues: Sharded<IpAddr, WindowedSketch>,
    wave: Wave,
    /// Per pair: fingerprints of its recent wrong passwords, with when each
    /// was last seen.
    wrong_passwords: Sharded<u64, Vec<(PasswordFingerprint, i64)>>,
    /// Per pair: times of failures that repeated a known wrong password.
    pair_repeats: Sharded<u64, Recent>,
    /// The shard [`Counters::prune_step`] prunes next.
    next_shard: usize,
    caps: Caps,
}

/// The counters' bounds (see [`MAX_PAIRS`] and the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Entries per map keyed by (account, address).
    pub pairs: usize,
    /// Entries per map keyed by account.
    pub accounts: usize,
    /// Entries per map keyed by address or subnet.
    pub sources: usize,
    /// Estimated bytes of all maps together.
    pub bytes: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            pairs: MAX_PAIRS,
            accounts: MAX_ACCOUNTS,
            sources: MAX_SOURCES,
            bytes: MAX_BYTES,
        }
    }
}

/// Shards per map.
pub const SHARDS: usize = 16;

/// The most entries each map keeps, and the bytes (estimated) all of them
/// together keep: 1 M (account, address) pairs, 256 k accounts, 128 k
/// addresses and subnets, 256 MiB.
pub const MAX_PAIRS: usize = 1 << 20;
pub const MAX_ACCOUNTS: usize = 1 << 18;
pub const MAX_SOURCES: usize = 1 << 17;
pub const MAX_BYTES: usize = 256 << 20;

/// A value's last activity and its heap bytes, for caps and accounting.
trait Aged {
    /// When it was last active (seconds): the oldest go first past a cap.
    fn last_active(&self) -> i64;
    fn heap_bytes(&self) -> usize;
}

impl Aged for Recent {
    fn last_active(&self) -> i64 {
        self.newest()
    }
    fn heap_bytes(&self) -> usize {
        self.0.capacity() * 8
    }
}

impl Aged for (u32, i64, u64) {
    /// A lockout's end: the one ending soonest goes first.
    fn last_active(&self) -> i64 {
        self.1
    }
    fn heap_bytes(&self) -> usize {
        0
    }
}

impl Aged for WindowedSketch {
    fn last_active(&self) -> i64 {
        self.newest()
    }
    fn heap_bytes(&self) -> usize {
        WindowedSketch::heap_bytes(self)
    }
}

impl Aged for Vec<(PasswordFingerprint, i64)> {
    fn last_active(&self) -> i64 {
        self.iter().map(|&(_, t)| t).max().unwrap_or(i64::MIN)
    }
    fn heap_bytes(&self) -> usize {
        self.capacity() * 16
    }
}

/// A hash map split into [`SHARDS`] maps by key, with the same methods the
/// counters use, so that pruning and capping walk one shard at a time.
/// Each shard remembers its bytes as last measured (by a prune or an
/// eviction walk) to estimate the bytes held between walks.
#[derive(Debug, Clone)]
struct Sharded<K, V> {
    shards: Vec<FxHashMap<K, V>>,
    /// Per shard: (entries, bytes) at its last walk.
    measured: Vec<(usize, usize)>,
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| FxHashMap::default()).collect(),
            measured: vec![(0, 0); SHARDS],
        }
    }
}

impl<K: Hash + Eq, V: Aged> Sharded<K, V> {
    /// What an entry costs besides its value's heap bytes: the key, the
    /// value and hashbrown's control byte, with the table's spare room.
    const SLOT: usize = (std::mem::size_of::<K>() + std::mem::size_of::<V>() + 1) * 8 / 7;

    fn shard_of<Q: Hash + ?Sized>(k: &Q) -> usize {
        // Bits the shard's own table does not use for its buckets.
        (FxBuildHasher.hash_one(k) >> 40) as usize % SHARDS
    }

    fn entry(&mut self, k: K) -> Entry<'_, K, V> {
        self.shards[Self::shard_of(&k)].entry(k)
    }

    fn get(&self, k: &K) -> Option<&V> {
        self.shards[Self::shard_of(k)].get(k)
    }

    fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.shards[Self::shard_of(&k)].insert(k, v)
    }

    fn remove(&mut self, k: &K) -> Option<V> {
        self.shards[Self::shard_of(k)].remove(k)
    }

    fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        for i in 0..SHARDS {
            self.retain_shard(i, &mut f);
        }
    }

    /// Keeps what `f` accepts in shard `i`, measuring its bytes.
    fn retain_shard(&mut self, i: usize, mut f: impl FnMut(&K, &mut V) -> bool) {
        let shard = &mut self.shards[i];
        let mut bytes = 0;
        shard.retain(|k, v| {
            let keep = f(k, v);
            if keep {
                bytes += v.heap_bytes();
            }
            keep
        });
        if shard.capacity() > 4 * shard.len() + 1024 / SHARDS {
            // Give memory back after an attack wave.
            shard.shrink_to_fit();
        }
        self.measured[i] = (shard.len(), bytes + shard.capacity() * Self::SLOT);
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    /// Estimated bytes of shard `i`: as measured, plus entries added since
    /// at the measured average (or a slot and the value's inline size).
    fn shard_bytes(&self, i: usize) -> usize {
        let (n, bytes) = self.measured[i];
        let len = self.shards[i].len();
        let each = bytes.checked_div(n).unwrap_or(Self::SLOT);
        let table = self.shards[i].capacity() * Self::SLOT;
        bytes.max(table) + len.saturating_sub(n) * each
    }

    fn bytes(&self) -> usize {
        (0..SHARDS).map(|i| self.shard_bytes(i)).sum()
    }

    /// When the map holds more than `max` entries or `max_bytes` bytes, or
    /// the shard of `k` more than its share: forgets the eighth of that
    /// shard last active longest ago. Returns the entries forgotten.
    fn cap(&mut self, k: &K, max: usize, max_bytes: usize) -> usize {
        let i = Self::shard_of(k);
        let share = max.div_ceil(SHARDS);
        let byte_share = max_bytes / SHARDS;
        let over = self.shards[i].len() > share || self.shard_bytes(i) > byte_share;
        if !over {
            return 0;
        }
        let shard = &self.shards[i];
        let mut ages: Vec<i64> = shard.values().map(Aged::last_active).collect();
        let k = (ages.len() / 8).min(ages.len().saturating_sub(1));
        if ages.is_empty() {
            return 0;
        }
        let (_, &mut cut, _) = ages.select_nth_unstable(k);
        let before = shard.len();
        // Ties at the cut go too, but never the whole shard for them.
        let mut budget = before - before / 2;
        self.retain_shard(i, |_, v| {
            if budget > 0 && v.last_active() <= cut {
                budget -= 1;
                false
            } else {
                true
            }
        });
        before - self.shards[i].len()
    }
}

fn user_key(user: &str) -> u64 {
    keys::text(user)
}

fn pair_key(user: &str, ip: IpAddr) -> u64 {
    stable_hash(&[user.as_bytes(), &keys::ip(ip).to_le_bytes()])
}

/// The /24 (IPv4) or /64 (IPv6) around an address, as a key.
pub fn subnet_key(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => (u32::from(v4) >> 8) as u64 | (4 << 56),
        IpAddr::V6(v6) => (u128::from(v6) >> 64) as u64 ^ (6 << 56),
    }
}

impl Counters {
    /// Counters bounded by `caps` instead of the defaults.
    pub fn with_caps(caps: Caps) -> Self {
        Counters {
            caps,
            ..Counters::default()
        }
    }

    /// Reads the signals for an attempt by `user` from `ip` at `now`.
    pub fn signals(&self, user: &str, ip: IpAddr, now: Timestamp, a: &Attacks) -> Signals {
        let t = now.secs();
        let lockout = self
            .lockouts
            .get(&pair_key(user, ip))
            .filter(|(_, until, _)| *until > t)
            .map(|(n, until, _)| (*n, Timestamp(*until)));
        let account_failures = self.user_failures.get(&user_key(user)).map_or(0, |r| {
            r.count_since(t.saturating_sub(a.account_window_secs))
        });
        let ip_failed_accounts = self.ip_failed_accounts.get(&ip).map_or(0, |s| s.count(t));
        let subnet_failed_accounts = self
            .subnet_failed_accounts
            .get(&subnet_key(ip))
            .map_or(0, |s| s.count(t));
        let ip_colleagues = self.ip_colleagues.get(&ip).map_or(0, |s| s.count(t));
        let repeated_failures = self.pair_repeats.get(&pair_key(user, ip)).map_or(0, |r| {
            r.count_since(t.saturating_sub(a.ip_lockout_window_secs))
        });
        let window_minutes = (a.wave_window_secs / 60).max(1);
        let minute = t.div_euclid(60);
        let recent = self.wave.failures_since(minute - window_minutes);
        let expected = self.wave.baseline_per_min * window_minutes as f64;
        let wave_failures = (recent >= a.wave_min_failures as u64
            && recent as f64 >= a.wave_growth * expected.max(1.0))
        .then_some(recent);
        Signals {
            lockout,
            account_failures,
            ip_failed_accounts,
            subnet_failed_accounts,
            ip_colleagues,
            wave_failures,
            repeated_failures,
        }
    }

    /// True when `fingerprint` is a wrong password that already failed for
    /// `user` from `ip` within the lockout window: the attempt repeats it.
    pub fn is_repeat(
        &self,
        user: &str,
        ip: IpAddr,
        fingerprint: PasswordFingerprint,
        now: Timestamp,
        a: &Attacks,
    ) -> bool {
        let since = now.secs().saturating_sub(a.ip_lockout_window_secs);
        self.wrong_passwords
            .get(&pair_key(user, ip))
            .is_some_and(|l| l.iter().any(|&(f, last)| f == fingerprint && last > since))
    }

    /// Records the outcome of an attempt.
    pub fn record(
        &mut self,
        user: &str,
        ip: IpAddr,
        outcome: Outcome,
        now: Timestamp,
        a: &Attacks,
    ) {
        self.record_with(user, ip, outcome, None, now, a);
    }

    /// Records the outcome of an attempt whose wrong password, on failure,
    /// has `fingerprint`. A failure repeating a wrong password already seen
    /// from this (user, address) within the lockout window is counted only
    /// as a repeat.
    pub fn record_with(
        &mut self,
        user: &str,
        ip: IpAddr,
        outcome: Outcome,
        fingerprint: Option<PasswordFingerprint>,
        now: Timestamp,
        a: &Attacks,
    ) {
        let t = now.secs();
        let pk = pair_key(user, ip);
        let uk = user_key(user);
        if let (Outcome::Failure(_), Some(fp)) = (outcome, fingerprint) {
            let since = t.saturating_sub(a.ip_lockout_window_secs);
            let seen = self.wrong_passwords.entry(pk).or_default();
            if let Some(entry) = seen.iter_mut().find(|(f, last)| *f == fp && *last > since) {
                entry.1 = t;
                self.pair_repeats
                    .entry(pk)
                    .or_default()
                    .push(t, REPEATS_PER_PAIR);
                return;
            }
            seen.retain(|&(_, last)| last > since);
            if seen.len() >= FINGERPRINTS_PER_PAIR {
                seen.remove(0);
            }
            seen.push((fp, t));
        }
        match outcome {
            Outcome::Success => {
                self.pair_failures.remove(&pk);
                self.wrong_passwords.remove(&pk);
                self.pair_repeats.remove(&pk);
                self.ip_colleagues
                    .entry(ip)
                    .or_insert_with(|| {
                        WindowedSketch::new(
                            COLLEAGUE_BUCKETS,
                            (WEEK / COLLEAGUE_BUCKETS as i64) as u32,
                        )
                    })
                    .insert(t, uk);
            }
            Outcome::Failure(reason) => {
                let cap = a.ip_lockout_failures.max(1) as usize;
                let pair = self.pair_failures.entry(pk).or_default();
                pair.push(t, cap);
                let n = pair.count_since(t.saturating_sub(a.ip_lockout_window_secs));
                let locked = self
                    .lockouts
                    .get(&pk)
                    .is_some_and(|(_, until, _)| *until > t);
                if n >= a.ip_lockout_failures && !locked {
                    self.lockouts
                        .insert(pk, (n, t.saturating_add(a.ip_lockout_secs), uk));
                    self.pair_failures.remove(&pk);
                }
                let bucket = (a.spray_window_secs / SPRAY_BUCKETS as i64).max(1) as u32;
                // Blocked attempts were refused by Warden itself (the source
                // is locked out or denied): they are no new guess at the
                // account, and say nothing new about which accounts the
                // source is trying. Counting them against the account would
                // let one locked-out address keep its owner challenged.
                if reason != FailureReason::Blocked {
                    self.user_failures
                        .entry(uk)
                        .or_default()
                        .push(t, a.account_failures.max(1) as usize * 2);
                    self.ip_failed_accounts
                        .entry(ip)
                        .or_insert_with(|| WindowedSketch::new(SPRAY_BUCKETS, bucket))
                        .insert(t, uk);
                    self.subnet_failed_accounts
                        .entry(subnet_key(ip))
                        .or_insert_with(|| WindowedSketch::new(SPRAY_BUCKETS, bucket))
                        .insert(t, uk);
                }
                self.wave.add(t, (a.wave_window_secs / 60).max(1) + 1);
            }
        }
    }

    /// Drops everything that can no longer influence a decision at `now`.
    pub fn prune(&mut self, now: Timestamp, a: &Attacks) {
        for i in 0..SHARDS {
            self.prune_shard(i, now, a);
        }
    }

    /// Prunes the next shard of every map: [`SHARDS`] steps prune all.
    /// Called often (every few seconds), each step walks a sixteenth.
    pub fn prune_step(&mut self, now: Timestamp, a: &Attacks) {
        let i = self.next_shard % SHARDS;
        self.next_shard = (i + 1) % SHARDS;
        self.prune_shard(i, now, a);
    }

    fn prune_shard(&mut self, i: usize, now: Timestamp, a: &Attacks) {
        let t = now.secs();
        let pair_window = a.ip_lockout_window_secs;
        self.pair_failures
            .retain_shard(i, |_, r| r.newest() > t.saturating_sub(pair_window));
        self.lockouts.retain_shard(i, |_, (_, until, _)| *until > t);
        self.user_failures.retain_shard(i, |_, r| {
            r.newest() > t.saturating_sub(a.account_window_secs)
        });
        self.ip_failed_accounts
            .retain_shard(i, |_, s| !s.is_stale(t));
        self.subnet_failed_accounts
            .retain_shard(i, |_, s| !s.is_stale(t));
        self.ip_colleagues.retain_shard(i, |_, s| !s.is_stale(t));
        self.wrong_passwords.retain_shard(i, |_, l| {
            l.retain(|&(_, last)| last > t.saturating_sub(pair_window));
            !l.is_empty()
        });
        self.pair_repeats
            .retain_shard(i, |_, r| r.newest() > t.saturating_sub(pair_window));
    }

    /// Records like [`Counters::record_with`], then holds every map to its
    /// cap ([`Counters::enforce_caps`]).
    pub fn record_bounded(
        &mut self,
        user: &str,
        ip: IpAddr,
        outcome: Outcome,
        fingerprint: Option<PasswordFingerprint>,
        now: Timestamp,
        a: &Attacks,
    ) {
        self.record_with(user, ip, outcome, fingerprint, now, a);
        self.enforce_caps(user, ip);
    }

    /// Holds the maps an attempt of `user` from `ip` touched to their caps
    /// in entries and bytes ([`MAX_PAIRS`], [`MAX_ACCOUNTS`],
    /// [`MAX_SOURCES`], [`MAX_BYTES`]); returns how many entries went.
    /// Checks one shard per map: cheap unless a cap is reached.
    pub fn enforce_caps(&mut self, user: &str, ip: IpAddr) -> usize {
        let (pk, uk, sk) = (pair_key(user, ip), user_key(user), subnet_key(ip));
        let c = self.caps;
        // Bytes shared out by the maps' worst-case weights.
        let b = |parts: usize| c.bytes / 32 * parts;
        self.pair_failures.cap(&pk, c.pairs, b(4))
            + self.lockouts.cap(&pk, c.pairs, b(2))
            + self.user_failures.cap(&uk, c.accounts, b(4))
            + self.ip_failed_accounts.cap(&ip, c.sources, b(5))
            + self.subnet_failed_accounts.cap(&sk, c.sources, b(5))
            + self.ip_colleagues.cap(&ip, c.sources, b(4))
            + self.wrong_passwords.cap(&pk, c.pairs, b(4))
            + self.pair_repeats.cap(&pk, c.pairs, b(4))
    }

    /// Estimated bytes the counters hold (entries, tables and values).
    pub fn bytes(&self) -> usize {
        self.pair_failures.bytes()
            + self.lockouts.bytes()
            + self.user_failures.bytes()
            + self.ip_failed_accounts.bytes()
            + self.subnet_failed_accounts.bytes()
            + self.ip_colleagues.bytes()
            + self.wrong_passwords.bytes()
            + self.pair_repeats.bytes()
            + self.wave.minutes.capacity() * 16
    }

    /// Number of tracked keys, for metrics.
    pub fn tracked(&self) -> usize {
        self.pair_failures.len()
            + self.lockouts.len()
            + self.user_failures.len()
            + self.ip_failed_accounts.len()
            + self.subnet_failed_accounts.len()
            + self.ip_colleagues.len()
            + self.wrong_passwords.len()
            + self.pair_repeats.len()
    }

    /// Lifts every lockout of `user` and forgets the failures counted
    /// against the account (an admin's unlock). Returns how many lockouts
    /// were lifted.
    pub fn lift_lockouts(&mut self, user: &str) -> usize {
        let uk = user_key(user);
        let before = self.lockouts.len();
        self.lockouts.retain(|_, (_, _, u)| *u != uk);
        self.user_failures.remove(&uk);
        before - self.lockouts.len()
    }

    /// Active lockouts, for the API.
    pub fn lockouts(&self) -> usize {
        self.lockouts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(c: &mut Counters, user: &str, ip: &str, t: i64) {
        c.record(
            user,
            ip.parse().unwrap(),
            Outcome::Failure(FailureReason::WrongPassword),
            Timestamp(t),
            &Attacks::default(),
        );
    }

    fn sig(c: &Counters, user: &str, ip: &str, t: i64) -> Signals {
        c.signals(user, ip.parse().unwrap(), Timestamp(t), &Attacks::default())
    }

    #[test]
    fn five_failures_in_fifteen_minutes_lock_the_pair_for_fifteen_minutes() {
        let mut c = Counters::default();
        let t0 = 1_700_000_000;
        for i in 0..4 {
            fail(&mut c, "alice", "1.2.3.4", t0 + i * 120);
        }
        assert!(sig(&c, "alice", "1.2.3.4", t0 + 500).lockout.is_none());
        fail(&mut c, "alice", "1.2.3.4", t0 + 600);
        let (n, until) = sig(&c, "alice", "1.2.3.4", t0 + 601).lockout.unwrap();
        assert_eq!((n, until), (5, Timestamp(t0 + 600 + 900)));
        // Other address and other account are not locked.
        assert!(sig(&c, "alice", "5.6.7.8", t0 + 601).lockout.is_none());
        assert!(sig(&c, "bob", "1.2.3.4", t0 + 601).lockout.is_none());
        assert!(sig(&c, "alice", "1.2.3.4", t0 + 1_501).lockout.is_none());
    }

    #[test]
    fn refused_attempts_of_a_locked_out_address_do_not_count_against_the_account() {
        let mut c = Counters::default();
        let a = Attacks::default();
        let t0 = 1_700_000_000;
        for i in 0..5 {
            fail(&mut c, "alice", "1.2.3.4", t0 + i);
        }
        assert!(sig(&c, "alice", "1.2.3.4", t0 + 10).lockout.is_some());
        // The address keeps trying; Warden refuses each attempt.
        for i in 0..30 {
            c.record(
                "alice",
                "1.2.3.4".parse().unwrap(),
                Outcome::Failure(FailureReason::Blocked),
                Timestamp(t0 + 10 + i * 5),
                &a,
            );
        }
        let s = sig(&c, "alice", "5.6.7.8", t0 + 170);
        assert_eq!(s.account_failures, 5, "{s:?}");
        assert!(s.account_failures < a.account_failures);
    }

    #[test]
    fn slow_failures_do_not_lock() {
        let mut c = Counters::default();
        let t0 = 1_700_000_000;
        for i in 0..10 {
            fail(&mut c, "alice", "1.2.3.4", t0 + i * 300);
        }
        assert!(sig(&c, "alice", "1.2.3.4", t0 + 2_701).lockout.is_none());
    }

    #[test]
    fn spraying_counts_distinct_accounts_per_ip_and_subnet() {
        let mut c = Counters::default();
        let t0 = 1_700_000_000;
        for u in 0..12 {
            fail(
                &mut c,
                &format!("user{u}"),
                &format!("9.9.9.{}", u % 3),
                t0 + u,
            );
            fail(
                &mut c,
                &format!("user{u}"),
                &format!("9.9.9.{}", u % 3),
                t0 + u + 1,
            );
        }
        let s = sig(&c, "victim", "9.9.9.0", t0 + 100);
        assert_eq!(s.ip_failed_accounts, 4);
        assert_eq!(s.subnet_failed_accounts, 12);
        assert_eq!(
            sig(&c, "victim", "9.9.9.0", t0 + 2 * 3600).subnet_failed_accounts,
            0
        );
    }

    #[test]
    fn a_burst_far_above_the_baseline_is_a_wave() {
        let mut c = Counters::default();
        let a = Attacks::default();
        let t0 = 1_700_000_000;
        // Six quiet hours: one failure every 10 minutes.
        for i in 0..36 {
            fail(&mut c, "u", "1.1.1.1", t0 + i * 600);
        }
        let t1 = t0 + 36 * 600;
        assert!(c
            .signals("x", "2.2.2.2".parse().unwrap(), Timestamp(t1), &a)
            .wave_failures
            .is_none());
        for i in 0..200 {
            fail(
                &mut c,
                &format!("s{i}"),
                &format!("10.0.{}.{}", i / 250, i % 250),
                t1 + i,
            );
        }
        let s = c.signals("x", "2.2.2.2".parse().unwrap(), Timestamp(t1 + 200), &a);
        assert!(s.wave_failures.unwrap() >= 150, "{s:?}");
    }

    fn fail_with(c: &mut Counters, user: &str, ip: &str, fp: u64, t: i64) {
        c.record_with(
            user,
            ip.parse().unwrap(),
            Outcome::Failure(FailureReason::WrongPassword),
            Some(fp),
            Timestamp(t),
            &Attacks::default(),
        );
    }

    #[test]
    fn the_same_wrong_password_again_is_a_repeat_not_a_guess() {
        let mut c = Counters::default();
        let a = Attacks::default();
        let t0 = 1_700_000_000;
        let ip: IpAddr = "1.2.3.4".parse().unwrap();
        // A phone with a stale password retries it every 20 seconds.
        for i in 0..12 {
            fail_with(&mut c, "alice", "1.2.3.4", 0xabc, t0 + i * 20);
        }
        let s = sig(&c, "alice", "1.2.3.4", t0 + 230);
        assert!(s.lockout.is_none(), "{s:?}");
        assert_eq!(s.account_failures, 1);
        assert_eq!(s.repeated_failures, 11);
        assert_eq!(s.ip_failed_accounts, 1);
        assert!(c.is_repeat("alice", ip, 0xabc, Timestamp(t0 + 230), &a));
        assert!(!c.is_repeat("alice", ip, 0xdef, Timestamp(t0 + 230), &a));
        assert!(!c.is_repeat("bob", ip, 0xabc, Timestamp(t0 + 230), &a));
        // Long after the window, it is a new failure again.
        assert!(!c.is_repeat("alice", ip, 0xabc, Timestamp(t0 + 220 + 901), &a));
        // Different wrong passwords are guesses: five lock the pair.
        for i in 0..4u64 {
            fail_with(&mut c, "alice", "1.2.3.4", 0x100 + i, t0 + 800 + i as i64);
        }
        let s = sig(&c, "alice", "1.2.3.4", t0 + 810);
        assert_eq!(s.lockout.map(|l| l.0), Some(5), "{s:?}");
        // A success forgets the pair's wrong passwords.
        c.record("alice", ip, Outcome::Success, Timestamp(t0 + 2_000), &a);
        assert!(!c.is_repeat("alice", ip, 0xabc, Timestamp(t0 + 2_001), &a));
        assert_eq!(sig(&c, "alice", "1.2.3.4", t0 + 2_001).repeated_failures, 0);
    }

    #[test]
    fn fingerprints_are_per_pair_and_bounded() {
        let mut c = Counters::default();
        let t0 = 1_700_000_000;
        fail_with(&mut c, "alice", "1.2.3.4", 7, t0);
        // The same fingerprint from another address is another client.
        fail_with(&mut c, "alice", "5.6.7.8", 7, t0 + 1);
        assert_eq!(sig(&c, "alice", "1.2.3.4", t0 + 2).account_failures, 2);
        // Only the newest few fingerprints are remembered.
        for fp in 0..20 {
            fail_with(
                &mut c,
                "carol",
                "9.9.9.9",
                1_000 + fp,
                t0 + 10 + fp as i64 * 10,
            );
        }
        let a = Attacks::default();
        let ip: IpAddr = "9.9.9.9".parse().unwrap();
        let now = Timestamp(t0 + 300);
        assert!(!c.is_repeat("carol", ip, 1_000, now, &a));
        assert!(c.is_repeat("carol", ip, 1_019, now, &a));
        c.prune(Timestamp(t0 + 10 * 86_400), &a);
        assert_eq!(c.tracked(), 0);
    }

    #[test]
    fn prune_forgets_old_state() {
        let mut c = Counters::default();
        let a = Attacks::default();
        fail(&mut c, "alice", "1.2.3.4", 1_700_000_000);
        c.record(
            "bob",
            "1.2.3.4".parse().unwrap(),
            Outcome::Success,
            Timestamp(1_700_000_000),
            &a,
        );
        assert!(c.tracked() > 0);
        c.prune(Timestamp(1_700_000_000 + 8 * 86_400), &a);
        assert_eq!(c.tracked(), 0);
    }

    #[test]
    fn a_flood_of_made_up_accounts_stays_within_the_caps_and_the_oldest_go() {
        let caps = Caps {
            pairs: 4_000,
            accounts: 2_000,
            sources: 1_000,
            bytes: 2 << 20,
        };
        let mut c = Counters::with_caps(caps);
        let a = Attacks::default();
        let t0 = 1_700_000_000;
        // The victim's pair, locked early in the flood.
        for i in 0..5 {
            fail_with(&mut c, "victim", "7.7.7.7", i, t0);
        }
        for i in 0..60_000u64 {
            // Maximal names, each from its own address (IPv6: endless).
            let user = format!("{}{i}", "u".repeat(300));
            let ip: IpAddr = format!("2001:db8::{:x}:{:x}", i >> 16, i & 0xffff)
                .parse()
                .unwrap();
            c.record_bounded(
                &user,
                ip,
                Outcome::Failure(FailureReason::WrongPassword),
                Some(i),
                Timestamp(t0 + 1 + (i / 100) as i64),
                &a,
            );
        }
        let per = |n: usize| n + n.div_ceil(SHARDS) * SHARDS / 8 + SHARDS;
        assert!(
            c.pair_failures.len() <= per(caps.pairs),
            "{}",
            c.pair_failures.len()
        );
        assert!(
            c.user_failures.len() <= per(caps.accounts),
            "{}",
            c.user_failures.len()
        );
        assert!(
            c.ip_failed_accounts.len() <= per(caps.sources),
            "{}",
            c.ip_failed_accounts.len()
        );
        assert!(
            c.wrong_passwords.len() <= per(caps.pairs),
            "{}",
            c.wrong_passwords.len()
        );
        assert!(
            c.bytes() <= caps.bytes + caps.bytes / 8,
            "{} > {}",
            c.bytes(),
            caps.bytes
        );
        // The estimate is not below what the maps really hold.
        let real: usize = c
            .user_failures
            .shards
            .iter()
            .flat_map(|s| s.values())
            .map(|r| r.0.capacity() * 8)
            .sum();
        assert!(
            c.user_failures.bytes() >= real,
            "{} < {real}",
            c.user_failures.bytes()
        );
        // The oldest went, the newest are there; the lockout (few, long
        // lived) is still in force.
        let newest = format!("{}{}", "u".repeat(300), 59_999);
        let now = Timestamp(t0 + 700);
        assert_eq!(
            c.signals(&newest, "2001:db8::0:ea5f".parse().unwrap(), now, &a)
                .account_failures,
            1
        );
        let first = format!("{}{}", "u".repeat(300), 0);
        assert_eq!(
            c.signals(&first, "2001:db8::0:0".parse().unwrap(), now, &a)
                .account_failures,
            0
        );
        assert!(c
            .signals("victim", "7.7.7.7".parse().unwrap(), now, &a)
            .lockout
            .is_some());
    }

    #[test]
    fn pruning_a_step_at_a_time_forgets_everything_in_sixteen_steps() {
        let mut c = Counters::default();
        let a = Attacks::default();
        for i in 0..1_000 {
            fail(
                &mut c,
                &format!("u{i}"),
                &format!("10.0.{}.{}", i / 250, i % 250),
                1_700_000_000,
            );
        }
        let later = Timestamp(1_700_000_000 + 8 * 86_400);
        for step in 0..SHARDS {
            assert!(c.tracked() > 0, "step {step}");
            c.prune_step(later, &a);
        }
        assert_eq!(c.tracked(), 0);
    }

    /// Defence in depth behind `Policy::validate`: a lockout length near
    /// `i64::MAX` saturates instead of wrapping to a time in the past, which
    /// used to lift the lockout at once.
    #[test]
    fn a_huge_lockout_length_saturates_instead_of_wrapping() {
        let mut c = Counters::default();
        let a = Attacks {
            ip_lockout_secs: 9_223_372_036_854_775_000,
            ..Attacks::default()
        };
        let t0 = 1_700_000_000;
        let ip: IpAddr = "1.2.3.4".parse().unwrap();
        for i in 0..5 {
            c.record(
                "alice",
                ip,
                Outcome::Failure(FailureReason::WrongPassword),
                Timestamp(t0 + i),
                &a,
            );
        }
        let (n, until) = c
            .signals("alice", ip, Timestamp(t0 + 10), &a)
            .lockout
            .expect("locked out");
        assert_eq!((n, until), (5, Timestamp(i64::MAX)));
    }
}
