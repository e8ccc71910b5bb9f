//! Short-lived state: what lives between two calls of one login and
//! expires within minutes — evaluations waiting for their report, mail
//! server sessions between their checks and their report, web login
//! tickets waiting for a second factor, and per-account sending rates.
//!
//! It sits behind one interface, [`ShortLived`], an enum with one variant
//! per implementation (enum dispatch: async methods, no boxing, no generic
//! parameter through every signature). Today there is the in-process
//! [`Memory`] one; a shared one (Redis) for several nodes becomes a second
//! variant, and nothing outside this module changes. Every map is bounded in
//! entries and time: the oldest entries go first.
//!
//! The attack counters and lockouts (`warden_core::counters`: failures per
//! account and address with their lockouts, spraying sketches, the
//! failure-rate baseline) are short-lived state too and sit here, not in the
//! engine: the engine scores with the signals they give
//! (`Engine::evaluate_with`) and learns profiles (`Engine::learn`).

use std::collections::VecDeque;
use std::hash::Hash;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::net::IpAddr;

use warden_core::counters::{Counters, PasswordFingerprint, Signals};
use warden_core::policy::Attacks;
use warden_core::sending::{RateCheck, RateLimits, SendingRates};
use warden_core::{Assessment, IpInfo, LoginAttempt, Name, Outcome, Timestamp, VerifyReason};

use crate::code_throttle::{CodeFailure, CodeThrottle};

/// How long an evaluation waits for its report.
pub const PENDING_TTL_SECS: i64 = 600;
/// At most this many evaluations wait at once; the oldest go first.
pub const PENDING_MAX: usize = 200_000;
/// How long a mail session's first check waits for its second check and
/// its report.
pub const MAIL_SESSION_TTL_SECS: i64 = 300;
/// At most this many mail sessions are remembered.
pub const MAIL_SESSIONS_MAX: usize = 100_000;
/// How long the password step of a web login waits for the second factor.
pub const LOGIN_TICKET_SECS: i64 = 300;
/// At most this many web logins wait for their second factor.
pub const TICKETS_MAX: usize = 100_000;

/// An evaluation waiting for its outcome.
#[derive(Debug, Clone)]
pub struct Pending {
    pub attempt: LoginAttempt,
    pub ip: IpInfo,
    pub assessment: Assessment,
    pub created: Timestamp,
}

/// One mail-server login between its first check and its report.
#[derive(Debug, Clone)]
pub struct MailSession {
    pub created: Timestamp,
    pub attempt: LoginAttempt,
    pub info: IpInfo,
    /// The assessment before the password check.
    pub assessment: Assessment,
    /// Why Warden refused it, if it did.
    pub refused: Option<VerifyReason>,
}

/// The password step of a web login passed; the second factor is awaited.
#[derive(Debug, Clone)]
pub struct LoginTicket {
    pub user: Name,
    pub issued: Timestamp,
    /// Asked because of the risk engine (not only 2FA).
    pub risk_challenge: bool,
    /// The password is expired or must be changed.
    pub password_change: bool,
}

/// Sizes, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShortLivedStats {
    pub pending: usize,
    pub mail_sessions: usize,
    pub tickets: usize,
    pub senders: usize,
    /// Keys the attack counters hold.
    pub counter_keys: usize,
    /// Active lockouts.
    pub lockouts: usize,
}

/// The short-lived state of one Warden (see the module doc).
pub enum ShortLived {
    Memory(Memory),
}

impl Default for ShortLived {
    fn default() -> Self {
        ShortLived::Memory(Memory::default())
    }
}

impl ShortLived {
    /// In this process's memory.
    pub fn memory() -> Self {
        ShortLived::default()
    }

    /// Keeps an evaluation for its report.
    pub async fn hold_evaluation(&self, id: u128, p: Pending, now: Timestamp) {
        match self {
            ShortLived::Memory(m) => m.pending.lock().insert(id, p, now, PENDING_TTL_SECS),
        }
    }

    /// Takes an evaluation (once).
    pub async fn take_evaluation(&self, id: u128, now: Timestamp) -> Option<Pending> {
        match self {
            ShortLived::Memory(m) => m.pending.lock().take(&id, now, PENDING_TTL_SECS),
        }
    }

    /// Whether a mail session with this key is open (its first check seen).
    pub async fn mail_session_open(&self, key: &str, now: Timestamp) -> bool {
        match self {
            ShortLived::Memory(m) => {
                let mut s = m.mail.lock();
                s.expire(now, MAIL_SESSION_TTL_SECS);
                s.map.contains_key(key)
            }
        }
    }

    /// Opens a mail session at its first check.
    pub async fn open_mail_session(&self, key: String, s: MailSession) {
        match self {
            ShortLived::Memory(m) => {
                let now = s.created;
                m.mail.lock().insert(key, s, now, MAIL_SESSION_TTL_SECS)
            }
        }
    }

    /// Notes that a later check of the session refused it.
    pub async fn note_mail_refusal(&self, key: &str, reason: VerifyReason) {
        match self {
            ShortLived::Memory(m) => {
                if let Some(s) = m.mail.lock().map.get_mut(key) {
                    s.value.refused = s.value.refused.or(Some(reason));
                }
            }
        }
    }

    /// Ends a mail session at its report.
    pub async fn take_mail_session(&self, key: &str, now: Timestamp) -> Option<MailSession> {
        match self {
            ShortLived::Memory(m) => m.mail.lock().take(key, now, MAIL_SESSION_TTL_SECS),
        }
    }

    /// Keeps a web login's ticket for its second factor.
    pub async fn hold_ticket(&self, digest: [u8; 32], t: LoginTicket) {
        match self {
            ShortLived::Memory(m) => {
                let now = t.issued;
                m.tickets.lock().insert(digest, t, now, LOGIN_TICKET_SECS)
            }
        }
    }

    /// Takes a ticket (once), if it has not expired.
    pub async fn take_ticket(&self, digest: &[u8; 32], now: Timestamp) -> Option<LoginTicket> {
        match self {
            ShortLived::Memory(m) => m.tickets.lock().take(digest, now, LOGIN_TICKET_SECS),
        }
    }

    /// Forgets every ticket of `user` (the account was locked or
    /// disabled); how many there were.
    pub async fn forget_tickets(&self, user: &str) -> usize {
        match self {
            ShortLived::Memory(m) => {
                let mut t = m.tickets.lock();
                let before = t.map.len();
                t.map.retain(|_, s| &*s.value.user != user);
                before - t.map.len()
            }
        }
    }

    /// Until when `user`'s second-factor codes are locked, if they are.
    pub async fn code_locked(&self, user: &str, now: Timestamp) -> Option<Timestamp> {
        match self {
            ShortLived::Memory(m) => m.codes.lock().locked(user, now),
        }
    }

    /// Counts a wrong second-factor code of `user`.
    pub async fn code_failed(&self, user: &str, now: Timestamp) -> CodeFailure {
        match self {
            ShortLived::Memory(m) => m.codes.lock().failed(user, now),
        }
    }

    /// A right second-factor code of `user`.
    pub async fn code_passed(&self, user: &str) {
        match self {
            ShortLived::Memory(m) => m.codes.lock().passed(user),
        }
    }

    /// Checks (and when allowed counts) one more recipient of `user`.
    pub async fn count_recipient(&self, user: &str, now: Timestamp, l: &RateLimits) -> RateCheck {
        match self {
            ShortLived::Memory(m) => m.sending.lock().check(user, now.secs(), l),
        }
    }

    /// What the attack counters say about an attempt of `user` from `ip`.
    pub async fn signals(&self, user: &str, ip: IpAddr, now: Timestamp, a: &Attacks) -> Signals {
        match self {
            ShortLived::Memory(m) => m.counters.lock().signals(user, ip, now, a),
        }
    }

    /// Whether `fingerprint` is a wrong password that already failed for
    /// `user` from `ip` within the lockout window (a stale client's repeat).
    pub async fn is_repeat(
        &self,
        user: &str,
        ip: IpAddr,
        fingerprint: PasswordFingerprint,
        now: Timestamp,
        a: &Attacks,
    ) -> bool {
        match self {
            ShortLived::Memory(m) => m.counters.lock().is_repeat(user, ip, fingerprint, now, a),
        }
    }

    /// Counts an outcome: failures toward lockouts, spraying and waves (a
    /// repeated fingerprint once), successes toward an address's colleagues.
    pub async fn count_outcome(
        &self,
        user: &str,
        ip: IpAddr,
        outcome: Outcome,
        fingerprint: Option<PasswordFingerprint>,
        now: Timestamp,
        a: &Attacks,
    ) {
        match self {
            ShortLived::Memory(m) => {
                m.counters
                    .lock()
                    .record_with(user, ip, outcome, fingerprint, now, a)
            }
        }
    }

    /// Lifts every lockout of `user` (an admin's unlock); how many there were.
    pub async fn lift_lockouts(&self, user: &str) -> usize {
        match self {
            ShortLived::Memory(m) => m.counters.lock().lift_lockouts(user),
        }
    }

    /// Forgets everything expired at `now`.
    pub async fn expire(&self, now: Timestamp, a: &Attacks) {
        match self {
            ShortLived::Memory(m) => {
                m.pending.lock().expire(now, PENDING_TTL_SECS);
                m.mail.lock().expire(now, MAIL_SESSION_TTL_SECS);
                m.tickets.lock().expire(now, LOGIN_TICKET_SECS);
                m.counters.lock().prune(now, a);
                m.codes.lock().prune(now);
            }
        }
    }

    pub fn stats(&self) -> ShortLivedStats {
        match self {
            ShortLived::Memory(m) => {
                // One lock at a time: a guard lives to the end of its
                // statement, and these locks are not reentrant.
                let pending = m.pending.lock().map.len();
                let mail_sessions = m.mail.lock().map.len();
                let tickets = m.tickets.lock().map.len();
                let senders = m.sending.lock().len();
                let (counter_keys, lockouts) = {
                    let c = m.counters.lock();
                    (c.tracked(), c.lockouts())
                };
                ShortLivedStats {
                    pending,
                    mail_sessions,
                    tickets,
                    senders,
                    counter_keys,
                    lockouts,
                }
            }
        }
    }
}

/// The in-process implementation.
pub struct Memory {
    pending: Mutex<Expiring<u128, Pending>>,
    mail: Mutex<Expiring<String, MailSession>>,
    tickets: Mutex<Expiring<[u8; 32], LoginTicket>>,
    sending: Mutex<SendingRates>,
    counters: Mutex<Counters>,
    codes: Mutex<CodeThrottle>,
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            pending: Mutex::new(Expiring::with_capacity(PENDING_MAX, PENDING_MAX)),
            mail: Mutex::new(Expiring::with_capacity(MAIL_SESSIONS_MAX, 0)),
            tickets: Mutex::new(Expiring::with_capacity(TICKETS_MAX, 0)),
            sending: Mutex::new(SendingRates::default()),
            counters: Mutex::new(Counters::default()),
            codes: Mutex::new(CodeThrottle::default()),
        }
    }
}

/// A map whose entries expire in insertion order, bounded in entries.
///
/// Values are boxed and a table may be sized once up front: growing a table
/// of large inline values rehashes megabytes under the lock (it stalled
/// every request for hundreds of milliseconds).
struct Expiring<K, V> {
    map: FxHashMap<K, Stamped<V>>,
    /// (inserted, key); an entry is current while the map holds that key
    /// with that same stamp (a key may be taken and inserted again).
    order: VecDeque<(Timestamp, u64, K)>,
    max: usize,
    seq: u64,
}

struct Stamped<V> {
    seq: u64,
    value: Box<V>,
}

impl<K: Hash + Eq + Clone, V> Expiring<K, V> {
    fn with_capacity(max: usize, reserve: usize) -> Self {
        let mut map = FxHashMap::default();
        map.reserve(reserve);
        Expiring {
            map,
            order: VecDeque::with_capacity(reserve),
            max,
            seq: 0,
        }
    }

    fn insert(&mut self, key: K, value: V, now: Timestamp, ttl: i64) {
        self.expire(now, ttl);
        while self.map.len() >= self.max {
            match self.order.pop_front() {
                Some((_, seq, old)) => {
                    if self.map.get(&old).is_some_and(|s| s.seq == seq) {
                        self.map.remove(&old);
                    }
                }
                None => break,
            }
        }
        if self.order.len() > 2 * self.max.max(1024) {
            // Taken entries behind an old one that still waits: drop them
            // now so the queue stays bounded by the map.
            let map = &self.map;
            self.order
                .retain(|(_, seq, k)| map.get(k).is_some_and(|s| s.seq == *seq));
        }
        self.seq += 1;
        self.order.push_back((now, self.seq, key.clone()));
        self.map.insert(
            key,
            Stamped {
                seq: self.seq,
                value: Box::new(value),
            },
        );
    }

    fn take<Q>(&mut self, key: &Q, now: Timestamp, ttl: i64) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.expire(now, ttl);
        self.map.remove(key).map(|s| *s.value)
    }

    fn expire(&mut self, now: Timestamp, ttl: i64) {
        while let Some((t, seq, key)) = self.order.front() {
            let current = self.map.get(key).is_some_and(|s| s.seq == *seq);
            if current && now.since(*t) <= ttl {
                break;
            }
            if let Some((_, _, key)) = self.order.pop_front() {
                if current {
                    self.map.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_in_order_and_are_taken_once() {
        let mut e: Expiring<u128, u32> = Expiring::with_capacity(10, 10);
        e.insert(1, 10, Timestamp(0), 600);
        e.insert(2, 20, Timestamp(100), 600);
        assert_eq!(e.take(&1, Timestamp(10), 600), Some(10));
        assert_eq!(e.take(&1, Timestamp(10), 600), None);
        assert_eq!(e.map.len(), 1);
        assert_eq!(e.take(&2, Timestamp(100 + 601), 600), None);
        assert!(e.map.is_empty());
        assert!(e.order.is_empty());
    }

    #[test]
    fn a_key_taken_and_inserted_again_keeps_its_new_time() {
        let mut e: Expiring<String, u32> = Expiring::with_capacity(10, 0);
        e.insert("a".into(), 1, Timestamp(0), 300);
        e.insert("b".into(), 2, Timestamp(100), 300);
        e.take("a", Timestamp(150), 300);
        e.insert("a".into(), 3, Timestamp(200), 300);
        e.expire(Timestamp(300 + 150), 300);
        assert!(e.map.contains_key("a"));
        assert!(!e.map.contains_key("b"));
        e.expire(Timestamp(300 + 250), 300);
        assert!(e.map.is_empty());
        assert!(e.order.is_empty());
    }

    #[tokio::test]
    async fn stats_read_every_map_and_the_counters() {
        let s = ShortLived::memory();
        let a = Attacks::default();
        let ip: IpAddr = "1.2.3.4".parse().unwrap();
        for i in 0..5 {
            s.count_outcome(
                "kim",
                ip,
                Outcome::Failure(warden_core::FailureReason::WrongPassword),
                Some(i),
                Timestamp(100 + i as i64),
                &a,
            )
            .await;
        }
        let stats = s.stats();
        assert_eq!(stats.lockouts, 1);
        assert!(stats.counter_keys > 0);
        assert_eq!(s.lift_lockouts("kim").await, 1);
        assert_eq!(s.stats().lockouts, 0);
    }

    #[test]
    fn the_oldest_go_first_when_full() {
        let mut e: Expiring<u32, u32> = Expiring::with_capacity(3, 0);
        for i in 0..5 {
            e.insert(i, i, Timestamp(i as i64), 600);
        }
        assert_eq!(e.map.len(), 3);
        assert!(!e.map.contains_key(&0) && !e.map.contains_key(&1));
        assert!(e.map.contains_key(&4));
    }
}
