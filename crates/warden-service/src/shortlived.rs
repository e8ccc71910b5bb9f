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
use std::hash::{BuildHasher, Hash, RandomState};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::net::IpAddr;

use warden_core::counters::{Counters, PasswordFingerprint, Signals};
use warden_core::policy::Attacks;
use warden_core::sending::{RateCheck, RateLimits, SendingRates};
use warden_core::size::HeapSize;
use warden_core::{Assessment, IpInfo, LoginAttempt, Name, Outcome, Timestamp, VerifyReason};

use crate::code_throttle::{CodeFailure, CodeThrottle};

/// How long an evaluation waits for its report.
pub const PENDING_TTL_SECS: i64 = 600;
/// At most this many evaluations wait at once, holding at most this many
/// bytes (estimated); the oldest go first.
pub const PENDING_MAX: usize = 200_000;
pub const PENDING_MAX_BYTES: usize = 128 << 20;
/// How long a mail session's first check waits for its second check and
/// its report.
pub const MAIL_SESSION_TTL_SECS: i64 = 300;
/// At most this many mail sessions are remembered, in at most this many
/// bytes.
pub const MAIL_SESSIONS_MAX: usize = 100_000;
pub const MAIL_SESSIONS_MAX_BYTES: usize = 64 << 20;
/// How long the password step of a web login waits for the second factor.
pub const LOGIN_TICKET_SECS: i64 = 300;
/// At most this many web logins wait for their second factor, in at most
/// this many bytes.
pub const TICKETS_MAX: usize = 100_000;
pub const TICKETS_MAX_BYTES: usize = 16 << 20;
/// How long a successful SMTP login lets the Postfix policy count that
/// sender's recipients against the account (see [`ShortLived::count_recipient`]).
pub const SENDER_LOGIN_TTL_SECS: i64 = 3_600;
/// At most this many such logins are remembered (fixed-size entries).
pub const SENDER_LOGINS_MAX: usize = 200_000;
/// Sending rates: accounts with an SMTP login seen, and (user, address)
/// pairs without one, each bounded in entries and bytes.
pub const SENDERS_MAX: usize = 100_000;
pub const SENDERS_MAX_BYTES: usize = 64 << 20;
pub const UNSEEN_SENDERS_MAX: usize = 50_000;
pub const UNSEEN_SENDERS_MAX_BYTES: usize = 16 << 20;

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

/// Sizes, for metrics: entries and estimated bytes of every map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShortLivedStats {
    pub pending: usize,
    pub pending_bytes: usize,
    pub mail_sessions: usize,
    pub mail_session_bytes: usize,
    pub tickets: usize,
    pub ticket_bytes: usize,
    /// Accounts and unconfirmed (user, address) pairs with sending rates.
    pub senders: usize,
    pub sender_bytes: usize,
    /// SMTP logins remembered for the Postfix policy.
    pub sender_logins: usize,
    pub sender_login_bytes: usize,
    /// Keys the attack counters hold.
    pub counter_keys: usize,
    pub counter_bytes: usize,
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
                let key = m.mail_key(key);
                let mut s = m.mail.lock();
                s.expire(now, MAIL_SESSION_TTL_SECS);
                s.map.contains_key(&key)
            }
        }
    }

    /// Opens a mail session at its first check. The key (Dovecot's
    /// session id, or what stands for it) is kept as a keyed hash, so its
    /// length costs nothing here.
    pub async fn open_mail_session(&self, key: String, s: MailSession) {
        match self {
            ShortLived::Memory(m) => {
                let now = s.created;
                let key = m.mail_key(&key);
                m.mail.lock().insert(key, s, now, MAIL_SESSION_TTL_SECS)
            }
        }
    }

    /// Notes that a later check of the session refused it.
    pub async fn note_mail_refusal(&self, key: &str, reason: VerifyReason) {
        match self {
            ShortLived::Memory(m) => {
                let key = m.mail_key(key);
                if let Some(s) = m.mail.lock().map.get_mut(&key) {
                    s.value.refused = s.value.refused.or(Some(reason));
                }
            }
        }
    }

    /// Ends a mail session at its report.
    pub async fn take_mail_session(&self, key: &str, now: Timestamp) -> Option<MailSession> {
        match self {
            ShortLived::Memory(m) => {
                let key = m.mail_key(key);
                m.mail.lock().take(&key, now, MAIL_SESSION_TTL_SECS)
            }
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
            ShortLived::Memory(m) => m.tickets.lock().retain(|t| &*t.user != user),
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

    /// Notes a successful SMTP login of `user` from `ip`: for the next
    /// [`SENDER_LOGIN_TTL_SECS`], the Postfix policy counts recipients sent
    /// by `user` from `ip` against the account.
    pub async fn note_sender_login(&self, user: &str, ip: IpAddr, now: Timestamp) {
        match self {
            ShortLived::Memory(m) => {
                let key = m.sender_key(user, ip);
                m.sender_logins
                    .lock()
                    .insert(key, (), now, SENDER_LOGIN_TTL_SECS)
            }
        }
    }

    /// Checks (and when allowed counts) one more recipient of `user` sent
    /// from `ip`, once per `once` (a mail transaction's recipient). With a
    /// recent SMTP login of `user` from `ip` ([`Self::note_sender_login`])
    /// it counts against the account's rate; without one (a request
    /// nobody's login backs: a forgery, or a mail server that does not tell
    /// Warden its logins) only against the (user, address) pair, so it can
    /// never defer the account's mail sent from elsewhere.
    pub async fn count_recipient(
        &self,
        user: &str,
        ip: Option<IpAddr>,
        once: Option<u64>,
        now: Timestamp,
        l: &RateLimits,
    ) -> RateCheck {
        match self {
            ShortLived::Memory(m) => {
                let seen = ip.is_some_and(|ip| {
                    let key = m.sender_key(user, ip);
                    let mut logins = m.sender_logins.lock();
                    logins.expire(now, SENDER_LOGIN_TTL_SECS);
                    logins.map.contains_key(&key)
                });
                if seen {
                    m.sending.lock().check(user, once, now.secs(), l)
                } else {
                    let pair = match ip {
                        Some(ip) => format!("{user}\0{ip}"),
                        None => format!("{user}\0"),
                    };
                    m.unseen_sending.lock().check(&pair, once, now.secs(), l)
                }
            }
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
                    .record_bounded(user, ip, outcome, fingerprint, now, a)
            }
        }
    }

    /// Lifts every lockout of `user` (an admin's unlock); how many there were.
    pub async fn lift_lockouts(&self, user: &str) -> usize {
        match self {
            ShortLived::Memory(m) => m.counters.lock().lift_lockouts(user),
        }
    }

    /// Forgets what expired at `now`: every expired evaluation, session,
    /// ticket and SMTP login (each map pops its oldest entries only), and
    /// one shard in sixteen of the attack counters (a short walk: called
    /// every few seconds, see `warden_api::tasks`).
    pub async fn expire(&self, now: Timestamp, a: &Attacks) {
        match self {
            ShortLived::Memory(m) => {
                m.pending.lock().expire(now, PENDING_TTL_SECS);
                m.mail.lock().expire(now, MAIL_SESSION_TTL_SECS);
                m.tickets.lock().expire(now, LOGIN_TICKET_SECS);
                m.sender_logins.lock().expire(now, SENDER_LOGIN_TTL_SECS);
                m.counters.lock().prune_step(now, a);
                m.codes.lock().prune(now);
            }
        }
    }

    /// Prunes the attack counters in full (tests, and a long-idle node).
    pub async fn prune_counters(&self, now: Timestamp, a: &Attacks) {
        match self {
            ShortLived::Memory(m) => m.counters.lock().prune(now, a),
        }
    }

    pub fn stats(&self) -> ShortLivedStats {
        match self {
            ShortLived::Memory(m) => {
                // One lock at a time: a guard lives to the end of its
                // statement, and these locks are not reentrant.
                let (pending, pending_bytes) = m.pending.lock().size();
                let (mail_sessions, mail_session_bytes) = m.mail.lock().size();
                let (tickets, ticket_bytes) = m.tickets.lock().size();
                let (sender_logins, sender_login_bytes) = m.sender_logins.lock().size();
                let (seen, seen_bytes) = {
                    let s = m.sending.lock();
                    (s.len(), s.bytes())
                };
                let (unseen, unseen_bytes) = {
                    let s = m.unseen_sending.lock();
                    (s.len(), s.bytes())
                };
                let (counter_keys, counter_bytes, lockouts) = {
                    let c = m.counters.lock();
                    (c.tracked(), c.bytes(), c.lockouts())
                };
                ShortLivedStats {
                    pending,
                    pending_bytes,
                    mail_sessions,
                    mail_session_bytes,
                    tickets,
                    ticket_bytes,
                    senders: seen + unseen,
                    sender_bytes: seen_bytes + unseen_bytes,
                    sender_logins,
                    sender_login_bytes,
                    counter_keys,
                    counter_bytes,
                    lockouts,
                }
            }
        }
    }
}

/// The in-process implementation.
pub struct Memory {
    pending: Mutex<Expiring<u128, Pending>>,
    mail: Mutex<Expiring<u64, MailSession>>,
    tickets: Mutex<Expiring<[u8; 32], LoginTicket>>,
    sender_logins: Mutex<Expiring<u64, ()>>,
    sending: Mutex<SendingRates>,
    unseen_sending: Mutex<SendingRates>,
    counters: Mutex<Counters>,
    /// Keys the hashes of mail-session and sender keys (SipHash with a
    /// random key per process: a client cannot craft collisions).
    keys: RandomState,
    codes: Mutex<CodeThrottle>,
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            pending: Mutex::new(Expiring::with_capacity(
                PENDING_MAX,
                PENDING_MAX_BYTES,
                PENDING_MAX,
            )),
            mail: Mutex::new(Expiring::with_capacity(
                MAIL_SESSIONS_MAX,
                MAIL_SESSIONS_MAX_BYTES,
                0,
            )),
            tickets: Mutex::new(Expiring::with_capacity(TICKETS_MAX, TICKETS_MAX_BYTES, 0)),
            sender_logins: Mutex::new(Expiring::with_capacity(SENDER_LOGINS_MAX, usize::MAX, 0)),
            sending: Mutex::new(SendingRates::bounded(SENDERS_MAX, SENDERS_MAX_BYTES)),
            unseen_sending: Mutex::new(SendingRates::bounded(
                UNSEEN_SENDERS_MAX,
                UNSEEN_SENDERS_MAX_BYTES,
            )),
            counters: Mutex::new(Counters::default()),
            keys: RandomState::new(),
            codes: Mutex::new(CodeThrottle::default()),
        }
    }
}

impl Memory {
    fn mail_key(&self, key: &str) -> u64 {
        self.keys.hash_one(key)
    }

    fn sender_key(&self, user: &str, ip: IpAddr) -> u64 {
        self.keys.hash_one((user, ip))
    }
}

/// Heap bytes of what the maps hold, for their byte caps.
impl HeapSize for Pending {
    fn heap_bytes(&self) -> usize {
        self.attempt.heap_bytes() + self.ip.heap_bytes() + self.assessment.heap_bytes()
    }
}

impl HeapSize for MailSession {
    fn heap_bytes(&self) -> usize {
        self.attempt.heap_bytes() + self.info.heap_bytes() + self.assessment.heap_bytes()
    }
}

impl HeapSize for LoginTicket {
    fn heap_bytes(&self) -> usize {
        self.user.len() + 16
    }
}

/// A map whose entries expire in insertion order, bounded in entries and
/// in estimated bytes: the oldest go first.
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
    max_bytes: usize,
    /// Estimated bytes of the current entries.
    bytes: usize,
    seq: u64,
}

struct Stamped<V> {
    seq: u64,
    /// What this entry was estimated to hold when inserted.
    bytes: usize,
    value: Box<V>,
}

impl<K: Hash + Eq + Clone, V: HeapSize> Expiring<K, V> {
    /// An entry besides its value's heap bytes: the table slot, the box,
    /// and up to two places in the order queue (a taken entry's place
    /// stays until the queue is compacted).
    const SLOT: usize = std::mem::size_of::<K>()
        + std::mem::size_of::<Stamped<V>>()
        + std::mem::size_of::<V>()
        + 2 * std::mem::size_of::<(Timestamp, u64, K)>()
        + 16;

    fn with_capacity(max: usize, max_bytes: usize, reserve: usize) -> Self {
        let mut map = FxHashMap::default();
        map.reserve(reserve);
        Expiring {
            map,
            order: VecDeque::with_capacity(reserve),
            max,
            max_bytes,
            bytes: 0,
            seq: 0,
        }
    }

    /// Entries and estimated bytes.
    fn size(&self) -> (usize, usize) {
        (self.map.len(), self.bytes)
    }

    /// Keeps the entries whose value passes `keep`; how many went.
    fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) -> usize {
        let before = self.map.len();
        let mut freed = 0;
        self.map.retain(|_, s| {
            let k = keep(&s.value);
            if !k {
                freed += s.bytes;
            }
            k
        });
        self.bytes -= freed;
        before - self.map.len()
    }

    fn remove_current(&mut self, key: &K) -> Option<V> {
        let s = self.map.remove(key)?;
        self.bytes -= s.bytes;
        Some(*s.value)
    }

    fn insert(&mut self, key: K, value: V, now: Timestamp, ttl: i64) {
        self.expire(now, ttl);
        let bytes = Self::SLOT + value.heap_bytes();
        if let Some(old) = self.map.remove(&key) {
            self.bytes -= old.bytes;
        }
        while self.map.len() >= self.max || self.bytes + bytes > self.max_bytes {
            match self.order.pop_front() {
                Some((_, seq, old)) => {
                    if self.map.get(&old).is_some_and(|s| s.seq == seq) {
                        self.remove_current(&old);
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
        self.bytes += bytes;
        self.map.insert(
            key,
            Stamped {
                seq: self.seq,
                bytes,
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
        let s = self.map.remove(key)?;
        self.bytes -= s.bytes;
        Some(*s.value)
    }

    fn expire(&mut self, now: Timestamp, ttl: i64) {
        while let Some((t, seq, key)) = self.order.front() {
            let current = self.map.get(key).is_some_and(|s| s.seq == *seq);
            if current && now.since(*t) <= ttl {
                break;
            }
            if let Some((_, _, key)) = self.order.pop_front() {
                if current {
                    self.remove_current(&key);
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
        let mut e: Expiring<u128, u32> = Expiring::with_capacity(10, usize::MAX, 10);
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
        let mut e: Expiring<String, u32> = Expiring::with_capacity(10, usize::MAX, 0);
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
        let mut e: Expiring<u32, u32> = Expiring::with_capacity(3, usize::MAX, 0);
        for i in 0..5 {
            e.insert(i, i, Timestamp(i as i64), 600);
        }
        assert_eq!(e.map.len(), 3);
        assert!(!e.map.contains_key(&0) && !e.map.contains_key(&1));
        assert!(e.map.contains_key(&4));
    }
}
