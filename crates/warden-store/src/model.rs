//! The values the store reads and writes: login events, profile snapshots,
//! write batches and history queries.

use std::collections::HashMap;
use std::net::IpAddr;

use warden_core::{
    Assessment, Country, Decision, IpInfo, Level, LoginAttempt, Outcome, Protocol, ReasonCode,
    Timestamp, VerifyReason,
};

/// The most events one [`HistoryQuery`] returns, whatever it asks for.
pub const MAX_HISTORY_LIMIT: u32 = 1000;

/// One evaluated login attempt, as kept in the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginEvent {
    /// Assigned by the database on insert; ignored by `append`, always set on
    /// events read back.
    pub id: Option<i64>,
    pub ts: Timestamp,
    pub user: String,
    pub ip: IpAddr,
    pub protocol: Protocol,
    pub outcome: Outcome,
    pub device: Option<String>,
    pub user_agent: Option<String>,
    pub country: Option<Country>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub asn: Option<u32>,
    pub decision: Decision,
    pub risk: f32,
    pub level: Level,
    pub alert: bool,
    pub reasons: Vec<ReasonCode>,
    /// Why a credential check by Warden refused the login (`None` when it
    /// was accepted or reported by the mail server).
    pub auth_reason: Option<VerifyReason>,
}

impl LoginEvent {
    /// The history row for an evaluated attempt and its outcome.
    pub fn of(attempt: &LoginAttempt, ip: &IpInfo, a: &Assessment, outcome: Outcome) -> Self {
        let s = |v: &Option<warden_core::Name>| v.as_deref().map(str::to_string);
        LoginEvent {
            id: None,
            ts: attempt.ts,
            user: attempt.user.to_string(),
            ip: attempt.ip,
            protocol: attempt.protocol,
            outcome,
            device: s(&attempt.device),
            user_agent: s(&attempt.user_agent),
            country: ip.location.country,
            region: s(&ip.location.region),
            city: s(&ip.location.city),
            asn: ip.network.asn,
            decision: a.decision,
            risk: a.risk,
            level: a.level,
            alert: a.alert,
            reasons: a.reasons.iter().map(|r| r.code).collect(),
            auth_reason: None,
        }
    }
}

/// The latest serialised behaviour profile of one user. The store treats the
/// blob as opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSnapshot {
    pub user: String,
    pub blob: Vec<u8>,
    pub updated_at: Timestamp,
    /// The newest event the snapshot has learned from: the id of the last
    /// event written before it (0: none). Assigned by the store on write
    /// (ignored there), always set on snapshots read back. The user's
    /// events after it are what start-up learns again (see
    /// [`Store::replay_mark`](crate::Store::replay_mark)).
    pub through_event: i64,
}

/// A step of a profile flush that moves the replay mark (see
/// [`Store::replay_mark`](crate::Store::replay_mark)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkStep {
    /// A flush of every changed profile starts here: remember the id of the
    /// last event written before this point.
    Begin,
    /// The flush begun last is complete: the remembered id becomes the
    /// replay mark.
    End,
}

/// Events and profile snapshots written together in one transaction.
///
/// When several snapshots for the same user are in one batch, the later one
/// (by position) wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    pub events: Vec<LoginEvent>,
    pub profiles: Vec<ProfileSnapshot>,
    /// For each snapshot of `profiles` (by index), how many of `events` were
    /// queued before it: the snapshot has learned from those and not from
    /// the rest. Snapshots past the end of this list come after every event.
    pub profile_after: Vec<usize>,
    /// Replay-mark steps with how many of `events` were queued before each,
    /// in queue order.
    pub marks: Vec<(usize, MarkStep)>,
}

impl WriteBatch {
    /// Adds one caller's write: its events, then its snapshots (which have
    /// learned from every event before them), then a mark step.
    pub fn push(
        &mut self,
        events: Vec<LoginEvent>,
        profiles: Vec<ProfileSnapshot>,
        mark: Option<MarkStep>,
    ) {
        self.events.extend(events);
        let at = self.events.len();
        self.profile_after.resize(self.profiles.len(), at);
        self.profile_after
            .extend(std::iter::repeat_n(at, profiles.len()));
        self.profiles.extend(profiles);
        if let Some(step) = mark {
            self.marks.push((at, step));
        }
    }

    /// How many of `events` were queued before snapshot `i`.
    pub fn events_before_profile(&self, i: usize) -> usize {
        self.profile_after
            .get(i)
            .copied()
            .unwrap_or(self.events.len())
            .min(self.events.len())
    }

    /// The points where the events must be cut, in order: every position
    /// after which a snapshot or a mark step comes (deduplicated).
    pub fn cuts(&self) -> Vec<usize> {
        let mut cuts: Vec<usize> = (0..self.profiles.len())
            .map(|i| self.events_before_profile(i))
            .chain(self.marks.iter().map(|&(at, _)| at.min(self.events.len())))
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }

    /// Number of rows (events plus snapshots) in the batch.
    pub fn len(&self) -> usize {
        self.events.len() + self.profiles.len()
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.profiles.is_empty() && self.marks.is_empty()
    }

    /// The snapshots to write: the last one per user, in batch order, with
    /// their index in `profiles`.
    pub fn last_profiles_indexed(&self) -> impl Iterator<Item = (usize, &ProfileSnapshot)> {
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(self.profiles.len());
        for (i, p) in self.profiles.iter().enumerate() {
            last.insert(p.user.as_str(), i);
        }
        self.profiles
            .iter()
            .enumerate()
            .filter(move |(i, p)| last.get(p.user.as_str()) == Some(i))
    }

    /// The snapshots to write: the last one per user, in batch order.
    pub fn last_profiles(&self) -> impl Iterator<Item = &ProfileSnapshot> {
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(self.profiles.len());
        for (i, p) in self.profiles.iter().enumerate() {
            last.insert(p.user.as_str(), i);
        }
        self.profiles
            .iter()
            .enumerate()
            .filter(move |(i, p)| last.get(p.user.as_str()) == Some(i))
            .map(|(_, p)| p)
    }
}

/// The event id recorded at cut `at` in `through` (`(cut, id)` pairs sorted
/// by cut, as a committer collects them for [`WriteBatch::cuts`]); 0 when
/// there is none.
pub(crate) fn through_at(through: &[(usize, i64)], at: usize) -> i64 {
    through
        .binary_search_by_key(&at, |&(cut, _)| cut)
        .map_or(0, |i| through[i].1)
}

/// Where a page of history starts: strictly after this event in the
/// newest-first order (`ts DESC, id DESC`), so events sharing a timestamp
/// are never skipped between pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub ts: Timestamp,
    pub id: i64,
}

/// Which page of a user's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only events strictly older than this; `None` starts from the newest.
    pub before: Option<Timestamp>,
    /// Only events after this one in newest-first order (wins over `before`).
    pub after: Option<Cursor>,
    /// At most this many events; capped at [`MAX_HISTORY_LIMIT`].
    pub limit: u32,
}

impl HistoryQuery {
    /// The newest `limit` events.
    pub fn latest(limit: u32) -> Self {
        HistoryQuery {
            before: None,
            after: None,
            limit,
        }
    }

    /// Events strictly older than `before`.
    pub fn before(before: Timestamp, limit: u32) -> Self {
        HistoryQuery {
            before: Some(before),
            after: None,
            limit,
        }
    }

    /// The page following `cursor`.
    pub fn after(cursor: Cursor, limit: u32) -> Self {
        HistoryQuery {
            before: None,
            after: Some(cursor),
            limit,
        }
    }

    /// The limit actually applied.
    pub fn effective_limit(&self) -> u32 {
        self.limit.min(MAX_HISTORY_LIMIT)
    }
}
