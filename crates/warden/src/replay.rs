//! Offline replay: `warden replay --input FILE.jsonl [--output FILE.jsonl]
//! [--db FILE] [--strict]`.
//!
//! Each input line is one login as JSON:
//!
//! ```json
//! {"ts": "2026-03-01T09:12:03+08:00", "user": "alice@corp.example.com",
//!  "ip": "113.88.1.10", "protocol": "imap", "outcome": "success",
//!  "device": "alice-laptop", "user_agent": "Foxmail 7.2"}
//! ```
//!
//! `ts` is RFC 3339 with an offset (fractions of a second are dropped),
//! `protocol` one of imap, pop3, smtp, web, im, api, dav, `outcome` `success` or
//! `failure`; `device`, `user_agent` and `failure_reason` (wrong_password,
//! unknown_user, challenge_failed, blocked, other; `wrong_password` when a
//! failure gives none) are optional, and so is `challenge_passed` (a
//! boolean: the input knows that, had Warden challenged this login, the
//! user passed). Other fields are ignored.
//!
//! What a success teaches depends on the [`LearnMode`]. By default
//! ([`LearnMode::Enforced`]) the replay tells the truth about enforcement:
//! a success Warden denies could not have happened, so it is learned as
//! refused (a blocked failure; with `challenge_passed` the user confirms
//! afterwards that it was them, which teaches its place as
//! [`Engine::confirm`] does); one it challenges or alerts on is learned
//! only when `challenge_passed` is true, else kept as an unconfirmed
//! observation ([`warden_core::Trust`]). [`LearnMode::Literal`] learns
//! every success as it happened (a backtest of monitoring mode, where
//! Warden only watches). The summary names the mode.
//!
//! For every line, in file order, the replay builds the attempt, looks the
//! address up, asks the engine for a decision *at the event's own time*
//! (never the wall clock), then records the outcome, and writes one output
//! line in the same position:
//!
//! ```json
//! {"decision":"challenge","risk":0.4125,"level":"medium","alert":true,
//!  "reasons":[{"code":"unusual_country","text":"Login from Lagos, NG; ..."}]}
//! ```
//!
//! A line that cannot be used gets `{"line": N, "error": "..."}` in its
//! place (N counts from 1) and the replay goes on; nothing is skipped
//! silently. An empty line is an error too, except the end of a file that
//! ends with a newline. The [`ReplaySummary`] counts the error lines; with
//! `--strict` the caller exits non-zero when there are any
//! ([`ReplaySummary::should_fail`]).
//!
//! Events are processed in file order, even when their times are not in
//! order: a late event is judged against everything before it in the file,
//! as a live service would have seen it (the summary counts them). The
//! engine's sliding-window counters are pruned every [`PRUNE_EVERY`] events
//! at the current event's time.
//!
//! Without a database nothing is stored. With one, every event (with its
//! decision) is written to it through [`SqliteStore`] in large batches from
//! a writer thread with its own small Tokio runtime, and at the end the
//! profile of every user who logged in successfully is stored. Profiles
//! already in the database are not loaded first: the replay starts from an
//! empty engine, and its snapshots replace the stored ones.
//!
//! Without geo data every address is unknown, so hardly any detector can
//! fire and almost every login is allowed: [`offline_intel`] refuses to run
//! without it unless asked to (`--no-geo`), and [`GeoMode`] says which of
//! the two ran.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustc_hash::FxHashMap;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use warden_core::{
    Assessment, Decision, Engine, FailureReason, InvalidAttempt, IpInfo, LoginAttempt, Name,
    Outcome, Policy, Protocol, Timestamp, Trust, UnknownFailureReason, UnknownProtocol,
};
use warden_geo::IpIntel;
use warden_store::{LoginEvent, ProfileSnapshot, SqliteStore, Store, StoreError, WriteBatch};

/// Engine counters are pruned after this many events.
pub const PRUNE_EVERY: u64 = 10_000;
/// Events per database transaction.
pub const DB_BATCH: usize = 20_000;
/// Addresses kept in the lookup cache before it is cleared.
const IP_CACHE_MAX: usize = 1 << 16;
/// The progress bar is moved every this many lines.
const PROGRESS_EVERY: u64 = 4_096;

/// Which IP intelligence an offline run (`warden replay`, `warden eval`)
/// judged the logins with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeoMode {
    /// Geo data was loaded; the text says from where.
    Loaded(String),
    /// Asked to run without geo data (`--no-geo`).
    Without,
}

impl fmt::Display for GeoMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GeoMode::Loaded(from) => write!(f, "geo data: {from}"),
            GeoMode::Without => f.write_str(
                "no geo data (--no-geo): every location and network is unknown, \
                 so the place, travel and network checks never fire",
            ),
        }
    }
}

/// The IP intelligence for `warden replay` and `warden eval`: the configured
/// geo data (as `warden serve` loads it), which must hold a city database;
/// or, when `no_geo`, none at all (no geo folder, MaxMind file, anonymizer
/// lists or organisation ranges). Without geo data nearly every login
/// would be allowed, which must not pass silently for a result.
pub fn offline_intel(
    cfg: &crate::config::Config,
    no_geo: bool,
) -> anyhow::Result<(IpIntel, GeoMode)> {
    if no_geo {
        let intel = IpIntel::builder()
            .build()
            .context("building empty IP intelligence")?;
        return Ok((intel, GeoMode::Without));
    }
    let dir = cfg.geo_dir();
    let missing = |what: &str| {
        anyhow::anyhow!(
            "{what}: without geo data every location and network is unknown and nearly \
             every login is allowed. Fetch the data with `scripts/fetch-geo.sh {dir}` (or \
             point --geo-dir or geo.dir at it), or pass --no-geo to run without geo data",
            dir = dir.display()
        )
    };
    if cfg.geo.maxmind_city.is_none() && !dir.is_dir() {
        return Err(missing(&format!(
            "the geo data folder {} does not exist",
            dir.display()
        )));
    }
    let intel = crate::serve::load_intel(cfg)?;
    let stats = intel.describe();
    if !stats.has_city() {
        return Err(missing(&format!(
            "no city database in the geo data folder {} (looked for {}, {} and {} or {})",
            dir.display(),
            warden_geo::files::DBIP_V4,
            warden_geo::files::DBIP_V6,
            warden_geo::files::GEOLITE2_CITY,
            warden_geo::files::GEOIP2_CITY,
        )));
    }
    let paths = |ps: &mut dyn Iterator<Item = &Path>| {
        ps.map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let city = paths(&mut stats.city_files.iter().map(|f| f.path.as_path()));
    let asn = match &stats.asn {
        Some(a) => paths(&mut a.files.iter().map(PathBuf::as_path)),
        None => "none".to_string(),
    };
    let mut from = format!("city {city}; ASN {asn}");
    if stats.needs_attribution() {
        from.push_str(&format!(
            " ({}, {})",
            warden_geo::ATTRIBUTION,
            warden_geo::ATTRIBUTION_URL
        ));
    }
    Ok((intel, GeoMode::Loaded(from)))
}

/// What `warden replay` was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// The JSON Lines input; `-` reads standard input.
    pub input: PathBuf,
    /// Where the decisions go; standard output when `None` or `-`.
    pub output: Option<PathBuf>,
    /// A SQLite file to store the events and final profiles in.
    pub db: Option<PathBuf>,
    /// Error lines make the run fail (see [`ReplaySummary::should_fail`]).
    pub strict: bool,
    /// Show a progress bar on stderr (it stays hidden anyway when stderr is
    /// not a terminal).
    pub progress: bool,
    /// How successes teach the profiles.
    pub learn: LearnMode,
}

/// How a replayed success teaches the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LearnMode {
    /// As under enforcement: a denied success is learned as refused, a
    /// challenged or alerted one only with `challenge_passed` (else it is
    /// kept unconfirmed).
    #[default]
    Enforced,
    /// Every success as it happened (monitoring mode: Warden only watched).
    Literal,
}

impl LearnMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LearnMode::Enforced => "enforced",
            LearnMode::Literal => "literal",
        }
    }
}

impl fmt::Display for LearnMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LearnMode::Enforced => {
                "learning: enforced (denied successes learned as refused, challenged or alerted ones only when confirmed)"
            }
            LearnMode::Literal => "learning: literal (every success learned as it happened)",
        })
    }
}

/// One parsed input line.
#[derive(Debug, Clone)]
pub struct ParsedEvent {
    pub attempt: LoginAttempt,
    pub outcome: Outcome,
    /// The input says the user would pass a challenge.
    pub challenge_passed: bool,
}

/// Evaluates an event, then records it as `mode` says (see [`LearnMode`]).
/// Returns the assessment and the outcome the engine learned.
pub fn observe(
    engine: &mut Engine,
    e: &ParsedEvent,
    info: &IpInfo,
    mode: LearnMode,
) -> (Assessment, Outcome) {
    let a = engine.evaluate(&e.attempt, info);
    let learned = match mode {
        LearnMode::Literal => {
            engine.record(&e.attempt, info, e.outcome);
            e.outcome
        }
        LearnMode::Enforced if e.outcome.is_success() && a.decision == Decision::Deny => {
            let refused = Outcome::Failure(FailureReason::Blocked);
            engine.record(&e.attempt, info, refused);
            if e.challenge_passed {
                // Refused all the same; the user then confirms it was
                // them (the "yes" of the alert, or an admin on the
                // phone), which teaches its place for the next login.
                engine.confirm(&e.attempt, info);
            }
            refused
        }
        LearnMode::Enforced => {
            let trust = Trust::of(&a, e.challenge_passed);
            engine.record_as(&e.attempt, info, e.outcome, None, trust);
            e.outcome
        }
    };
    (a, learned)
}

/// Why one input line could not be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("empty line")]
    Empty,
    #[error("line is not valid UTF-8")]
    NotUtf8,
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Well-formed JSON that is not a login event (missing field, wrong type).
    #[error("invalid event: {0}")]
    Event(String),
    #[error("invalid ts {value:?}: {reason}")]
    Timestamp { value: String, reason: String },
    #[error("invalid ip {0:?}: expected an IPv4 or IPv6 address")]
    Ip(String),
    #[error(transparent)]
    Protocol(#[from] UnknownProtocol),
    #[error("invalid outcome {0:?}: expected success or failure")]
    Outcome(String),
    #[error(transparent)]
    FailureReason(#[from] UnknownFailureReason),
    #[error("failure_reason {0:?} given with outcome \"success\"")]
    ReasonOnSuccess(String),
    #[error("invalid attempt: {0}")]
    Attempt(#[from] InvalidAttempt),
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("invalid policy: {0}")]
    Policy(#[from] warden_core::policy::InvalidPolicy),
    #[error("reading the input: {0}")]
    Read(#[source] io::Error),
    #[error("writing the output: {0}")]
    Write(#[source] io::Error),
    #[error("database {path}: {source}")]
    Store {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("database {path}: {message}")]
    Database { path: PathBuf, message: String },
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Input lines (an empty last line after the final newline not counted).
    pub lines: u64,
    /// Lines replayed as events.
    pub events: u64,
    /// Lines answered with an error line.
    pub errors: u64,
    /// The first error line: its number and message.
    pub first_error: Option<(u64, String)>,
    pub allow: u64,
    pub challenge: u64,
    pub deny: u64,
    /// Events with `alert: true`.
    pub alerts: u64,
    /// How successes were learned.
    pub learn: LearnMode,
    /// Successes learned as refused (Warden would have denied them).
    pub refused_successes: u64,
    /// Successes kept as unconfirmed observations (challenged or alerted,
    /// no challenge passed).
    pub unconfirmed_successes: u64,
    /// Events older than an event before them in the file.
    pub out_of_order: u64,
    /// Users with a profile at the end (at least one successful login).
    pub profiles: usize,
    /// Events written to the database (0 without one).
    pub stored_events: u64,
    /// Profile snapshots written to the database.
    pub stored_profiles: u64,
}

impl ReplaySummary {
    /// Whether the run must end with a non-zero exit status: only in strict
    /// mode, and only when some line was an error line.
    pub fn should_fail(&self, strict: bool) -> bool {
        strict && self.errors > 0
    }
}

impl fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} lines: {} events ({} allow, {} challenge, {} deny, {} alerts), {} errors, {} profiles",
            self.lines,
            self.events,
            self.allow,
            self.challenge,
            self.deny,
            self.alerts,
            self.errors,
            self.profiles
        )?;
        if self.out_of_order > 0 {
            write!(f, ", {} out of time order", self.out_of_order)?;
        }
        write!(f, "; {}", self.learn)?;
        if self.learn == LearnMode::Enforced {
            write!(
                f,
                ": {} successes refused, {} unconfirmed",
                self.refused_successes, self.unconfirmed_successes
            )?;
        }
        if let Some((line, msg)) = &self.first_error {
            write!(f, "; first error on line {line}: {msg}")?;
        }
        Ok(())
    }
}

/// A string field, borrowed from the line unless it holds escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// One input line as written.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow)]
    ts: Text<'a>,
    #[serde(borrow)]
    user: Text<'a>,
    #[serde(borrow)]
    ip: Text<'a>,
    #[serde(borrow)]
    protocol: Text<'a>,
    #[serde(borrow)]
    outcome: Text<'a>,
    #[serde(borrow, default)]
    device: Option<Text<'a>>,
    #[serde(borrow, default)]
    user_agent: Option<Text<'a>>,
    #[serde(borrow, default)]
    failure_reason: Option<Text<'a>>,
    #[serde(default)]
    challenge_passed: Option<bool>,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The first `"`, `\\` or control character in `b`, eight bytes at a time
/// (SWAR: a byte's high bit is set in the mask where it matches; borrows can
/// only add false hits above a true one, so the lowest hit is exact).
fn find_special(b: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(LO) & !x;
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let hits = (zero(x ^ (LO * u64::from(b'"')))
            | zero(x ^ (LO * u64::from(b'\\')))
            | (x.wrapping_sub(LO * 0x20) & !x))
            & HI;
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| at + p)
}

/// A JSON string without escapes or control characters starting at `i`;
/// returns it and the index after its closing quote.
fn plain_string(line: &str, i: usize) -> Option<(&str, usize)> {
    let b = line.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let len = find_special(&b[start..])?;
    // A backslash (escape) or a control character: not for the fast path.
    if b[start + len] != b'"' {
        return None;
    }
    Some((line.get(start..start + len)?, start + len + 1))
}

/// The fast path for the usual line: one flat object whose values are
/// strings without escapes (or `null` for the optional fields). Anything
/// else — escapes, other value types, duplicate or missing fields, syntax
/// errors — answers `None`, and the line goes through `serde_json`, which
/// accepts the same lines with the same result and words the errors.
fn scan(line: &str) -> Option<RawEvent<'_>> {
    let b = line.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    // In `RawEvent` order, the five required fields first. Outer `None`:
    // not seen; inner `None`: null.
    let mut found: [Option<Option<&str>>; 8] = [None; 8];
    let mut passed: Option<Option<bool>> = None;
    i += 1;
    loop {
        let (key, j) = plain_string(line, skip_ws(b, i))?;
        i = skip_ws(b, j);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        if key == "challenge_passed" {
            let (v, j) = if b[i..].starts_with(b"true") {
                (Some(true), i + 4)
            } else if b[i..].starts_with(b"false") {
                (Some(false), i + 5)
            } else if b[i..].starts_with(b"null") {
                (None, i + 4)
            } else {
                return None;
            };
            if passed.replace(v).is_some() {
                return None;
            }
            i = skip_ws(b, j);
            match b.get(i) {
                Some(b',') => {
                    i += 1;
                    continue;
                }
                Some(b'}') => break,
                _ => return None,
            }
        }
        let (value, j) = if b[i..].starts_with(b"null") {
            (None, i + 4)
        } else {
            let (v, j) = plain_string(line, i)?;
            (Some(v), j)
        };
        let slot = match key {
            "ts" => Some(0),
            "user" => Some(1),
            "ip" => Some(2),
            "protocol" => Some(3),
            "outcome" => Some(4),
            "device" => Some(5),
            "user_agent" => Some(6),
            "failure_reason" => Some(7),
            _ => None,
        };
        match slot {
            Some(k) if found[k].is_some() || (k < 5 && value.is_none()) => return None,
            Some(k) => found[k] = Some(value),
            None => {
                value?;
            }
        }
        i = skip_ws(b, j);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => break,
            _ => return None,
        }
    }
    if skip_ws(b, i + 1) != b.len() {
        return None;
    }
    let text = |k: usize| found[k].flatten().map(|v| Text(Cow::Borrowed(v)));
    Some(RawEvent {
        ts: text(0)?,
        user: text(1)?,
        ip: text(2)?,
        protocol: text(3)?,
        outcome: text(4)?,
        device: text(5),
        user_agent: text(6),
        failure_reason: text(7),
        challenge_passed: passed.flatten(),
    })
}

/// serde_json's message without its "at line 1 column N" (every input line
/// is line 1 to it); the column is kept for syntax errors.
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let msg = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => &full,
    };
    match e.classify() {
        serde_json::error::Category::Data => msg.to_string(),
        _ => format!("{msg} at column {}", e.column()),
    }
}

const REQUIRED: [&str; 5] = ["ts", "user", "ip", "protocol", "outcome"];
const OPTIONAL: [&str; 3] = ["device", "user_agent", "failure_reason"];
const FLAGS: [&str; 1] = ["challenge_passed"];

/// A clear message for a line that did not deserialize: serde_json's data
/// errors ("invalid type: integer `5`, expected a string") do not say which
/// field, so the line is looked at again (only on this error path).
fn json_error(line: &str, e: &serde_json::Error) -> LineError {
    use serde_json::Value;
    if e.classify() != serde_json::error::Category::Data {
        return LineError::Json(json_message(e));
    }
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let msg = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => REQUIRED
            .iter()
            .map(|f| (f, map.get(*f), true))
            .chain(OPTIONAL.iter().map(|f| (f, map.get(*f), false)))
            .find_map(|(f, v, required)| match v {
                None if required => Some(format!("missing field `{f}`")),
                Some(Value::Null) if !required => None,
                Some(v) if !v.is_string() => {
                    Some(format!("field `{f}` must be a string, not {}", kind(v)))
                }
                _ => None,
            })
            .or_else(|| {
                FLAGS.iter().find_map(|f| match map.get(*f) {
                    Some(v) if !v.is_boolean() && !v.is_null() => {
                        Some(format!("field `{f}` must be a boolean, not {}", kind(v)))
                    }
                    _ => None,
                })
            }),
        Ok(v) => Some(format!("expected a JSON object, not {}", kind(&v))),
        Err(_) => None,
    };
    LineError::Event(msg.unwrap_or_else(|| json_message(e)))
}

fn parse_outcome(outcome: &str, reason: Option<&str>) -> Result<Outcome, LineError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if outcome.eq_ignore_ascii_case("success") {
        match reason {
            None => Ok(Outcome::Success),
            Some(r) => Err(LineError::ReasonOnSuccess(r.to_string())),
        }
    } else if outcome.eq_ignore_ascii_case("failure") {
        let r = match reason {
            None => FailureReason::WrongPassword,
            Some(r) => r.parse()?,
        };
        Ok(Outcome::Failure(r))
    } else {
        Err(LineError::Outcome(outcome.to_string()))
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The common RFC 3339 shapes, `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`, in
/// whole seconds (fractions dropped), without going through jiff's general
/// parser. Anything unusual (leap seconds, `-00:00`, other separators...)
/// answers `None` and is left to jiff, which also words the errors.
fn fast_ts(s: &[u8]) -> Option<i64> {
    if s.len() < 20 {
        return None;
    }
    let digit = |i: usize| s[i].is_ascii_digit().then(|| i64::from(s[i] - b'0'));
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let year = two(0)? * 100 + two(2)?;
    if s[4] != b'-' || s[7] != b'-' || s[10] != b'T' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (month, day, hour, minute, second) = (two(5)?, two(8)?, two(11)?, two(14)?, two(17)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    if s[i] == b'.' {
        let digits = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        i += 1 + digits;
    }
    let offset = match &s[i..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (two(i + 1)?, two(i + 4)?);
            if h > 23 || m > 59 || (*sign == b'-' && h == 0 && m == 0) {
                return None;
            }
            let secs = h * 3_600 + m * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second - offset)
}

fn parse_ts(s: &str) -> Result<Timestamp, LineError> {
    let bad = |reason: String| LineError::Timestamp {
        value: s.to_string(),
        reason,
    };
    let secs = match fast_ts(s.as_bytes()) {
        Some(secs) => secs,
        None => s
            .trim()
            .parse::<jiff::Timestamp>()
            .map_err(|e| bad(e.to_string()))?
            .as_second(),
    };
    // Profiles keep times as unsigned 32-bit seconds.
    if !(0..=i64::from(u32::MAX)).contains(&secs) {
        return Err(bad(
            "outside 1970-01-01..2106-02-07, which profiles can hold".into(),
        ));
    }
    Ok(Timestamp::from_secs(secs))
}

/// Parses one line into an attempt and its outcome.
pub fn parse_line(line: &str) -> Result<(LoginAttempt, Outcome), LineError> {
    parse_event(line).map(|e| (e.attempt, e.outcome))
}

/// Parses one line into an attempt, its outcome and whether a challenge
/// would have been passed (`challenge_passed`, false when absent).
pub fn parse_event(line: &str) -> Result<ParsedEvent, LineError> {
    if line.trim().is_empty() {
        return Err(LineError::Empty);
    }
    let raw = match scan(line) {
        Some(raw) => raw,
        None => serde_json::from_str(line).map_err(|e| json_error(line, &e))?,
    };
    let ts = parse_ts(&raw.ts.0)?;
    let ip: IpAddr = raw
        .ip
        .0
        .trim()
        .parse()
        .map_err(|_| LineError::Ip(raw.ip.0.to_string()))?;
    let protocol: Protocol = raw.protocol.0.trim().parse()?;
    let outcome = parse_outcome(
        raw.outcome.0.trim(),
        raw.failure_reason.as_ref().map(|r| &*r.0),
    )?;
    let attempt = LoginAttempt::new(
        ts,
        &raw.user.0,
        ip,
        protocol,
        raw.device.as_ref().map(|d| &*d.0),
        raw.user_agent.as_ref().map(|u| &*u.0),
    )?;
    if raw.challenge_passed == Some(true) && !outcome.is_success() {
        return Err(LineError::Event(
            "challenge_passed is only meaningful on a success".into(),
        ));
    }
    Ok(ParsedEvent {
        attempt,
        outcome,
        challenge_passed: raw.challenge_passed == Some(true),
    })
}

/// Writes `s` as a JSON string.
fn json_str<W: Write>(out: &mut W, s: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *out, s).map_err(io::Error::from)
}

/// Writes the output line for an assessment.
fn write_assessment<W: Write>(out: &mut W, a: &Assessment, utc_offset: i32) -> io::Result<()> {
    let risk = (f64::from(a.risk) * 10_000.0).round() / 10_000.0;
    out.write_all(b"{\"decision\":\"")?;
    out.write_all(a.decision.as_str().as_bytes())?;
    out.write_all(b"\",\"risk\":")?;
    serde_json::to_writer(&mut *out, &risk).map_err(io::Error::from)?;
    out.write_all(b",\"level\":\"")?;
    out.write_all(a.level.as_str().as_bytes())?;
    out.write_all(if a.alert {
        b"\",\"alert\":true,\"reasons\":["
    } else {
        b"\",\"alert\":false,\"reasons\":["
    })?;
    for (i, r) in a.reasons.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(b"{\"code\":\"")?;
        out.write_all(r.code.as_str().as_bytes())?;
        out.write_all(b"\",\"text\":")?;
        json_str(out, &r.text_en(utc_offset))?;
        out.write_all(b"}")?;
    }
    out.write_all(b"]}\n")
}

fn write_error<W: Write>(out: &mut W, line: u64, err: &LineError) -> io::Result<()> {
    write!(out, "{{\"line\":{line},\"error\":")?;
    json_str(out, &err.to_string())?;
    out.write_all(b"}\n")
}

/// The database writer thread: owns a current-thread Tokio runtime and the
/// store, and appends each batch it receives.
struct DbWriter {
    path: PathBuf,
    tx: Option<SyncSender<WriteBatch>>,
    handle: Option<JoinHandle<Result<(u64, u64), ReplayError>>>,
    batch: WriteBatch,
}

impl DbWriter {
    fn start(path: &Path) -> Result<Self, ReplayError> {
        let path = path.to_path_buf();
        let (tx, rx) = sync_channel::<WriteBatch>(2);
        let thread_path = path.clone();
        let handle = std::thread::Builder::new()
            .name("replay-db".into())
            .spawn(move || db_thread(&thread_path, rx))
            .map_err(|e| ReplayError::Database {
                path: path.clone(),
                message: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(DbWriter {
            path,
            tx: Some(tx),
            handle: Some(handle),
            batch: WriteBatch::default(),
        })
    }

    fn push_event(&mut self, e: LoginEvent) -> Result<(), ReplayError> {
        self.batch.events.push(e);
        if self.batch.events.len() >= DB_BATCH {
            self.send()?;
        }
        Ok(())
    }

    fn push_profile(&mut self, p: ProfileSnapshot) -> Result<(), ReplayError> {
        self.batch.profiles.push(p);
        if self.batch.profiles.len() >= DB_BATCH {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), ReplayError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(batch).is_ok());
        if sent {
            Ok(())
        } else {
            // The writer stopped: its own error says why.
            self.finish().map(|_| ())
        }
    }

    /// Flushes, waits for the writer and returns (events, profiles) stored.
    fn finish(&mut self) -> Result<(u64, u64), ReplayError> {
        if !self.batch.is_empty() {
            if let Some(tx) = &self.tx {
                let _ = tx.send(std::mem::take(&mut self.batch));
            }
        }
        self.tx = None;
        match self.handle.take() {
            Some(h) => h.join().unwrap_or_else(|_| {
                Err(ReplayError::Database {
                    path: self.path.clone(),
                    message: "the writer thread panicked".into(),
                })
            }),
            None => Err(ReplayError::Database {
                path: self.path.clone(),
                message: "the writer has already stopped".into(),
            }),
        }
    }
}

impl Drop for DbWriter {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn db_thread(path: &Path, rx: Receiver<WriteBatch>) -> Result<(u64, u64), ReplayError> {
    let store_err = |source| ReplayError::Store {
        path: path.to_path_buf(),
        source,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ReplayError::Database {
            path: path.to_path_buf(),
            message: format!("cannot start a Tokio runtime: {e}"),
        })?;
    rt.block_on(async {
        let store = SqliteStore::open(path).await.map_err(store_err)?;
        let result = async {
            store.migrate().await.map_err(store_err)?;
            let (mut events, mut profiles) = (0u64, 0u64);
            while let Ok(batch) = rx.recv() {
                store.append(&batch).await.map_err(store_err)?;
                events += batch.events.len() as u64;
                profiles += batch.profiles.len() as u64;
            }
            Ok((events, profiles))
        }
        .await;
        store.close().await;
        result
    })
}

/// A replay in progress: the engine, the address cache and the options.
/// Build one with [`Replayer::new`], then [`Replayer::run`] a stream through
/// it; the engine stays available afterwards.
pub struct Replayer<'a> {
    engine: Engine,
    intel: &'a IpIntel,
    cache: FxHashMap<IpAddr, IpInfo>,
    utc_offset: i32,
    db: Option<PathBuf>,
    progress: Option<ProgressBar>,
    learn: LearnMode,
}

impl<'a> Replayer<'a> {
    /// A replayer with an empty engine under `policy`.
    pub fn new(policy: Policy, intel: &'a IpIntel) -> Result<Self, ReplayError> {
        let utc_offset = policy.learning.utc_offset_minutes;
        Ok(Replayer {
            engine: Engine::new(policy)?,
            intel,
            cache: FxHashMap::default(),
            utc_offset,
            db: None,
            progress: None,
            learn: LearnMode::default(),
        })
    }

    /// How successes teach the profiles (default: enforced).
    pub fn with_learn(mut self, mode: LearnMode) -> Self {
        self.learn = mode;
        self
    }

    /// Also store events and final profiles in this SQLite file.
    pub fn with_db(mut self, path: impl Into<PathBuf>) -> Self {
        self.db = Some(path.into());
        self
    }

    /// Advance this progress bar by input bytes.
    pub fn with_progress(mut self, bar: ProgressBar) -> Self {
        self.progress = Some(bar);
        self
    }

    /// The engine, with everything learned so far.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn lookup(&mut self, ip: IpAddr) -> &IpInfo {
        if self.cache.len() >= IP_CACHE_MAX && !self.cache.contains_key(&ip) {
            self.cache.clear();
        }
        let intel = self.intel;
        self.cache.entry(ip).or_insert_with(|| intel.lookup(ip))
    }

    /// Replays `input` line by line, writing one line per input line to
    /// `output` (buffered here; pass the raw writer).
    pub fn run<R: BufRead, W: Write>(
        &mut self,
        mut input: R,
        output: W,
    ) -> Result<ReplaySummary, ReplayError> {
        let mut out = BufWriter::with_capacity(1 << 16, output);
        let mut db = match &self.db {
            Some(path) => Some(DbWriter::start(path)?),
            None => None,
        };
        let mut s = ReplaySummary {
            learn: self.learn,
            ..ReplaySummary::default()
        };
        let mut buf: Vec<u8> = Vec::with_capacity(1024);
        let mut bytes = 0u64;
        let mut newest = Timestamp::from_secs(i64::MIN);
        loop {
            buf.clear();
            let n = input
                .read_until(b'\n', &mut buf)
                .map_err(ReplayError::Read)?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            s.lines += 1;
            let line_no = s.lines;
            if let Some(bar) = &self.progress {
                if line_no.is_multiple_of(PROGRESS_EVERY) {
                    bar.set_position(bytes);
                }
            }
            let mut line = &buf[..];
            if let [rest @ .., b'\n'] = line {
                line = rest;
            }
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            let parsed = match std::str::from_utf8(line) {
                Ok(text) => parse_event(text),
                Err(_) => Err(LineError::NotUtf8),
            };
            let event = match parsed {
                Ok(v) => v,
                Err(e) => {
                    s.errors += 1;
                    if s.first_error.is_none() {
                        s.first_error = Some((line_no, e.to_string()));
                    }
                    write_error(&mut out, line_no, &e).map_err(ReplayError::Write)?;
                    continue;
                }
            };
            let attempt = &event.attempt;
            s.events += 1;
            if attempt.ts < newest {
                s.out_of_order += 1;
            } else {
                newest = attempt.ts;
            }
            if s.events.is_multiple_of(PRUNE_EVERY) {
                self.engine.prune(attempt.ts);
            }
            // The cache and the engine are separate fields: look up, then
            // evaluate and record against the cached entry without cloning.
            self.lookup(attempt.ip);
            let info = &self.cache[&attempt.ip];
            let (a, outcome) = observe(&mut self.engine, &event, info, self.learn);
            if event.outcome.is_success() && self.learn == LearnMode::Enforced {
                if !outcome.is_success() {
                    s.refused_successes += 1;
                } else if !Trust::of(&a, event.challenge_passed).is_trusted() {
                    s.unconfirmed_successes += 1;
                }
            }
            match a.decision {
                Decision::Allow => s.allow += 1,
                Decision::Challenge => s.challenge += 1,
                Decision::Deny => s.deny += 1,
            }
            s.alerts += u64::from(a.alert);
            write_assessment(&mut out, &a, self.utc_offset).map_err(ReplayError::Write)?;
            if let Some(db) = &mut db {
                db.push_event(LoginEvent::of(attempt, info, &a, outcome))?;
            }
        }
        out.flush().map_err(ReplayError::Write)?;
        if let Some(bar) = &self.progress {
            bar.set_position(bytes);
        }
        s.profiles = self.engine.stats().profiles;
        if let Some(mut db) = db {
            let mut users: Vec<(&Name, Timestamp)> = self
                .engine
                .profiles()
                .map(|(user, p)| (user, Timestamp(p.last_success.map_or(0, |l| l.ts as i64))))
                .collect();
            users.sort_unstable();
            for (user, at) in users {
                if let Some(blob) = self.engine.snapshot(user) {
                    db.push_profile(ProfileSnapshot {
                        user: user.to_string(),
                        blob,
                        updated_at: at,
                        through_event: 0,
                    })?;
                }
            }
            let (events, profiles) = db.finish()?;
            s.stored_events = events;
            s.stored_profiles = profiles;
        }
        Ok(s)
    }
}

/// Replays `input` into `output` with a fresh engine under `policy` and no
/// database: the function tests and benchmarks call.
pub fn replay<R: BufRead, W: Write>(
    input: R,
    output: W,
    policy: Policy,
    intel: &IpIntel,
) -> Result<ReplaySummary, ReplayError> {
    Replayer::new(policy, intel)?.run(input, output)
}

fn progress_bar(total: Option<u64>) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} replay [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// `warden replay`: reads `opts.input`, writes decisions to `opts.output`
/// (stdout by default), optionally stores into `opts.db`. Returns the
/// summary; the caller reports it and decides the exit status with
/// [`ReplaySummary::should_fail`]`(opts.strict)`.
pub fn run(opts: &ReplayOptions, policy: Policy, intel: &IpIntel) -> anyhow::Result<ReplaySummary> {
    let stdin = opts.input == Path::new("-");
    let (input, size): (Box<dyn BufRead>, Option<u64>) = if stdin {
        (Box::new(io::stdin().lock()), None)
    } else {
        let file =
            File::open(&opts.input).with_context(|| format!("opening {}", opts.input.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 16, file)), size)
    };
    let output: Box<dyn Write> = match opts.output.as_deref() {
        None => Box::new(io::stdout().lock()),
        Some(p) if p == Path::new("-") => Box::new(io::stdout().lock()),
        // Decisions name users and addresses: private like the database.
        Some(p) => Box::new(
            warden_store::private::create_file(p)
                .with_context(|| format!("creating {}", p.display()))?,
        ),
    };
    let mut replayer = Replayer::new(policy, intel)?.with_learn(opts.learn);
    if let Some(db) = &opts.db {
        replayer = replayer.with_db(db);
    }
    let bar = opts.progress.then(|| progress_bar(size));
    if let Some(bar) = &bar {
        replayer = replayer.with_progress(bar.clone());
    }
    let summary = replayer.run(input, output);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    summary.with_context(|| format!("replaying {}", opts.input.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_with_defaults_and_escapes() {
        let (a, o) = parse_line(
            r#"{"ts":"2026-03-01T09:00:00+08:00","user":"Alice","ip":"::ffff:1.2.3.4","protocol":"IMAP","outcome":"failure","user_agent":"(\"name\" \"Thunderbird\")","extra":1}"#,
        )
        .unwrap();
        assert_eq!(a.ts, Timestamp::from_secs(1_772_326_800));
        assert_eq!(&*a.user, "alice");
        assert_eq!(a.ip, "1.2.3.4".parse::<IpAddr>().unwrap());
        assert_eq!(a.protocol, Protocol::Imap);
        assert_eq!(a.user_agent.as_deref(), Some("(\"name\" \"Thunderbird\")"));
        assert_eq!(o, Outcome::Failure(FailureReason::WrongPassword));
    }

    #[test]
    fn the_timestamp_fast_path_agrees_with_jiff() {
        let cases = [
            "2026-03-01T09:00:00Z",
            "2026-03-01T09:00:00.999Z",
            "2026-03-01T09:00:00.123456789+08:00",
            "2024-02-29T23:59:59-05:30",
            "2000-02-29T00:00:00+14:00",
            "1970-01-01T00:00:00Z",
            "2106-02-07T06:28:15Z",
            "2026-12-31T23:59:59+00:00",
        ];
        for c in cases {
            let jiff: jiff::Timestamp = c.parse().unwrap();
            assert_eq!(fast_ts(c.as_bytes()), Some(jiff.as_second()), "{c}");
        }
        // Left to jiff: valid but unusual, or invalid.
        for c in [
            "2026-03-01 09:00:00Z",
            "2026-03-01T09:00:00z",
            "2026-03-01T09:00:60Z",
            "2026-03-01T09:00:00-00:00",
            "2026-02-29T09:00:00Z",
            "2026-03-01T09:00:00",
            "2026-03-01T09:00:00.Z",
            "2026-03-01T09:00:00+0800",
            "2026-03-01T09:00Z",
        ] {
            assert_eq!(fast_ts(c.as_bytes()), None, "{c}");
        }
        // Both paths agree on every second of a leap day in another offset.
        let start: jiff::Timestamp = "2024-02-28T20:00:00Z".parse().unwrap();
        for k in 0..3_000 {
            let t = start + jiff::SignedDuration::from_secs(k * 97);
            let text = t
                .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(-3)))
                .timestamp()
                .display_with_offset(jiff::tz::offset(-3))
                .to_string();
            assert_eq!(fast_ts(text.as_bytes()), Some(t.as_second()), "{text}");
        }
    }

    #[test]
    fn special_bytes_are_found_at_every_offset() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        for len in 0..40 {
            for at in 0..=len {
                for special in [b'"', b'\\', b'\n', 0, 0x1f] {
                    // Filler bytes next to the specials: 0x20, 0x21, 0x5b, 0x5d, UTF-8.
                    let mut v: Vec<u8> = (0..len)
                        .map(|i| [0x20, 0x21, 0x5b, 0x5d, 0xe6][i % 5])
                        .collect();
                    if at < len {
                        v[at] = special;
                        if at + 1 < len {
                            v[at + 1] = b'"';
                        }
                    }
                    assert_eq!(find_special(&v), naive(&v), "{v:?}");
                }
            }
        }
    }

    fn fields(raw: &RawEvent<'_>) -> Vec<Option<String>> {
        let t = |x: &Text<'_>| Some(x.0.to_string());
        let o = |x: &Option<Text<'_>>| x.as_ref().map(|x| x.0.to_string());
        vec![
            t(&raw.ts),
            t(&raw.user),
            t(&raw.ip),
            t(&raw.protocol),
            t(&raw.outcome),
            o(&raw.device),
            o(&raw.user_agent),
            o(&raw.failure_reason),
            raw.challenge_passed.map(|b| b.to_string()),
        ]
    }

    #[test]
    fn the_fast_scanner_agrees_with_serde_or_steps_aside() {
        let base = r#""ts":"2026-03-01T00:00:00Z","user":"a","ip":"1.2.3.4","protocol":"imap","outcome":"success""#;
        let fast = [
            format!("{{{base}}}"),
            format!(" {{ {base} , \"device\" : \"d\" ,\"user_agent\":null}} \r"),
            format!("{{{base},\"tag\":\"spray\",\"failure_reason\":\"\"}}"),
            format!("{{{base},\"device\":\"深圳 laptop\"}}"),
            format!("{{{base},\"challenge_passed\":true}}"),
            format!("{{\"challenge_passed\" : false ,{base}}}"),
            format!("{{{base},\"challenge_passed\":null,\"device\":\"d\"}}"),
        ];
        for line in &fast {
            let scanned = scan(line).unwrap_or_else(|| panic!("fast path missed {line}"));
            let serde: RawEvent<'_> = serde_json::from_str(line).unwrap();
            assert_eq!(fields(&scanned), fields(&serde), "{line}");
        }
        // Left to serde_json (which accepts some and rejects others).
        let slow = [
            format!("{{{base},\"device\":\"a\\\"b\"}}"),
            format!("{{{base},\"extra\":1}}"),
            format!("{{{base},\"extra\":{{\"x\":\"y\"}}}}"),
            format!("{{{base},\"ts\":\"again\"}}"),
            format!("{{{base},\"challenge_passed\":\"yes\"}}"),
            format!("{{{base},\"challenge_passed\":1}}"),
            format!("{{{base},\"challenge_passed\":true,\"challenge_passed\":true}}"),
            format!("{{{base},\"challenge_passed\":truex}}"),
            format!("{{{base}}} x"),
            format!("{{{base},}}"),
            format!("{{{base}"),
            format!("{{{}}}", base.replace("\"a\"", "null")),
            format!("{{{}}}", base.replace("\"user\"", "\"us\\u0065r\"")),
            format!("{{{}}}", base.replace("\"a\"", "\"a\tb\"")),
            r#"{"ts":"2026-03-01T00:00:00Z"}"#.to_string(),
            "{}".to_string(),
            "[]".to_string(),
        ];
        for line in &slow {
            assert!(scan(line).is_none(), "fast path took {line}");
        }
        let escaped: RawEvent<'_> = serde_json::from_str(&slow[0]).unwrap();
        assert_eq!(escaped.device.unwrap().0, "a\"b");
        let extra: RawEvent<'_> = serde_json::from_str(&slow[1]).unwrap();
        assert_eq!(extra.user.0, "a");
    }

    #[test]
    fn challenge_passed_parses_on_both_paths_and_only_on_a_success() {
        let base = r#""ts":"2026-03-01T00:00:00Z","user":"a","ip":"1.2.3.4","protocol":"imap""#;
        let fast = format!(r#"{{{base},"outcome":"success","challenge_passed":true}}"#);
        // The same line with an escape in it goes through serde_json.
        let slow =
            format!(r#"{{{base},"outcome":"success","device":"a\"b","challenge_passed":true}}"#);
        assert!(scan(&fast).is_some() && scan(&slow).is_none());
        for line in [&fast, &slow] {
            assert!(parse_event(line).unwrap().challenge_passed, "{line}");
        }
        let absent = format!(r#"{{{base},"outcome":"success"}}"#);
        assert!(!parse_event(&absent).unwrap().challenge_passed);
        let err = |l: &str| parse_event(l).unwrap_err().to_string();
        assert!(err(&format!(
            r#"{{{base},"outcome":"failure","challenge_passed":true}}"#
        ))
        .contains("only meaningful on a success"));
        assert!(err(&format!(
            r#"{{{base},"outcome":"success","challenge_passed":"yes"}}"#
        ))
        .contains("field `challenge_passed` must be a boolean, not a string"));
    }

    #[test]
    fn bad_lines_name_the_problem() {
        let base = r#""user":"a","ip":"1.2.3.4","protocol":"imap","outcome":"success""#;
        let err = |l: &str| parse_line(l).unwrap_err().to_string();
        assert!(err(&format!(r#"{{"ts":"yesterday",{base}}}"#)).contains("invalid ts"));
        assert!(err(&format!(r#"{{"ts":"1960-01-01T00:00:00Z",{base}}}"#)).contains("1970"));
        assert!(err(r#"{"ts":"2026-03-01T00:00:00Z","user":"a"}"#).contains("missing field `ip`"));
        assert!(err("{\"ts\":").contains("column"));
        assert_eq!(err("  "), "empty line");
        let reason =
            format!(r#"{{"ts":"2026-03-01T00:00:00Z",{base},"failure_reason":"blocked"}}"#);
        assert!(err(&reason).contains("failure_reason"));
    }
}
