//! The statements, written once in the SQL subset that SQLite and PostgreSQL
//! both accept: `$n` placeholders, `INSERT ... ON CONFLICT (...) DO UPDATE`
//! with `excluded`, `LIMIT`, multi-row `VALUES`, no backend-specific
//! functions.

use std::sync::OnceLock;

/// The event columns in the order every `SELECT` returns them.
macro_rules! event_columns {
    () => {
        "id, ts, user_name, ip, protocol, outcome, device, user_agent, country, region, city, \
         asn, decision, risk, risk_level, alert, reasons, auth_reason"
    };
}

/// The correction columns in the order every `SELECT` returns them.
macro_rules! correction_columns {
    () => {
        "network, country, region, city, city_zh, region_zh, lat, lon, accuracy_km, time_zone, \
         note, created_at"
    };
}

pub(crate) const PING: &str = "SELECT 1";

pub(crate) const HISTORY_LATEST: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM login_events WHERE user_name = $1 ORDER BY ts DESC, id DESC LIMIT $2"
);

pub(crate) const HISTORY_AFTER_CURSOR: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM login_events WHERE user_name = $1 AND (ts < $2 OR (ts = $2 AND id < $3)) \
     ORDER BY ts DESC, id DESC LIMIT $4"
);

pub(crate) const HISTORY_BEFORE: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM login_events WHERE user_name = $1 AND ts < $2 ORDER BY ts DESC, id DESC LIMIT $3"
);

/// Deletes up to `$2` events older than `$1`; repeated until it deletes fewer.
pub(crate) const PRUNE_CHUNK: &str = "DELETE FROM login_events WHERE id IN \
     (SELECT id FROM login_events WHERE ts < $1 LIMIT $2)";

pub(crate) const LOAD_PROFILES: &str =
    "SELECT user_name, snapshot, updated_at, through_event FROM profiles ORDER BY user_name";

pub(crate) const LOAD_PROFILE: &str =
    "SELECT user_name, snapshot, updated_at, through_event FROM profiles WHERE user_name = $1";

/// The id of the newest event (0 when there is none).
pub(crate) const LAST_EVENT_ID: &str = "SELECT COALESCE(MAX(id), 0) FROM login_events";

/// A profile flush begins: remember the newest event written before it.
pub(crate) const MARK_BEGIN: &str = "UPDATE replay_marks SET event_id = $1 WHERE name = 'flush'";

/// The flush is complete: what it began with becomes the replay mark.
pub(crate) const MARK_END: &str = "UPDATE replay_marks SET event_id = \
     (SELECT event_id FROM replay_marks WHERE name = 'flush') WHERE name = 'profiles'";

/// Every snapshot has learned from every event up to this id.
pub(crate) const REPLAY_MARK: &str = "SELECT event_id FROM replay_marks WHERE name = 'profiles'";

/// Successful logins after an event id, oldest first.
pub(crate) const SUCCESSES_AFTER: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM login_events WHERE id > $1 AND outcome = 'success' ORDER BY id LIMIT $2"
);

/// Login events of every outcome after an event id, oldest first (the
/// alert worker's reading).
pub(crate) const EVENTS_AFTER: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM login_events WHERE id > $1 ORDER BY id LIMIT $2"
);

pub(crate) const LIST_CORRECTIONS: &str = concat!(
    "SELECT ",
    correction_columns!(),
    " FROM geo_corrections ORDER BY network"
);

pub(crate) const UPSERT_CORRECTION: &str = concat!(
    "INSERT INTO geo_corrections (",
    correction_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
     ON CONFLICT (network) DO UPDATE SET \
     country = excluded.country, region = excluded.region, city = excluded.city, \
     city_zh = excluded.city_zh, region_zh = excluded.region_zh, \
     lat = excluded.lat, lon = excluded.lon, accuracy_km = excluded.accuracy_km, \
     time_zone = excluded.time_zone, note = excluded.note, created_at = excluded.created_at"
);

pub(crate) const DELETE_CORRECTION: &str = "DELETE FROM geo_corrections WHERE network = $1";

/// Rows per multi-row `INSERT`: a batch is cut into the largest of these
/// that fit, so at most a handful of distinct statements is ever prepared.
/// 128 rows x 16 columns stays far below both SQLite's (32,766) and
/// PostgreSQL's (65,535) limit on bind parameters.
pub(crate) const INSERT_CHUNKS: [usize; 8] = [128, 64, 32, 16, 8, 4, 2, 1];

/// Columns bound per event row by `insert_events`.
pub(crate) const EVENT_INSERT_COLUMNS: usize = 17;
/// Columns bound per snapshot row by `upsert_profiles`.
pub(crate) const PROFILE_UPSERT_COLUMNS: usize = 4;

/// How to cut `rows` into statement sizes from [`INSERT_CHUNKS`].
pub(crate) fn chunk_sizes(mut rows: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let size = INSERT_CHUNKS.into_iter().find(|&c| c <= rows)?;
        rows -= size;
        Some(size)
    })
}

/// How bind parameters are written in generated multi-row statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `$1, $2, ...`: PostgreSQL's only form (its backend comes next).
    #[cfg_attr(not(test), allow(dead_code))]
    Numbered,
    /// `?, ?, ...`: SQLite's cheap form. SQLite looks up named and numbered
    /// parameters by a linear scan, which makes binding a statement with
    /// thousands of `$n` O(n²); anonymous ones cost nothing to look up.
    Positional,
}

impl Placeholders {
    fn index(self) -> usize {
        match self {
            Placeholders::Numbered => 0,
            Placeholders::Positional => 1,
        }
    }
}

/// `rows` tuples of `columns` placeholders: `($1, $2), ($3, $4)` or
/// `(?, ?), (?, ?)`.
fn values(style: Placeholders, rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            match style {
                Placeholders::Numbered => {
                    out.push('$');
                    out.push_str(&(r * columns + c + 1).to_string());
                }
                Placeholders::Positional => out.push('?'),
            }
        }
        out.push(')');
    }
    out
}

/// Statements for every size in [`INSERT_CHUNKS`] and both placeholder
/// styles, built on first use.
type ChunkCache = [OnceLock<Vec<String>>; 2];

fn chunked(
    cache: &'static ChunkCache,
    style: Placeholders,
    rows: usize,
    build: fn(Placeholders, usize) -> String,
) -> &'static str {
    debug_assert!(
        INSERT_CHUNKS.contains(&rows),
        "unsupported chunk size {rows}"
    );
    let all = cache[style.index()]
        .get_or_init(|| INSERT_CHUNKS.into_iter().map(|n| build(style, n)).collect());
    let at = INSERT_CHUNKS
        .iter()
        .position(|&c| c == rows)
        .unwrap_or(INSERT_CHUNKS.len() - 1);
    &all[at]
}

/// Inserts `rows` events (`rows` from [`INSERT_CHUNKS`]); binds are the
/// [`EVENT_INSERT_COLUMNS`] columns of each row in turn.
pub(crate) fn insert_events(style: Placeholders, rows: usize) -> &'static str {
    static SQL: ChunkCache = [OnceLock::new(), OnceLock::new()];
    chunked(&SQL, style, rows, |style, rows| {
        format!(
            "INSERT INTO login_events \
             (ts, user_name, ip, protocol, outcome, device, user_agent, country, region, city, \
             asn, decision, risk, risk_level, alert, reasons, auth_reason) VALUES {}",
            values(style, rows, EVENT_INSERT_COLUMNS)
        )
    })
}

/// Upserts `rows` profile snapshots (`rows` from [`INSERT_CHUNKS`], user
/// names distinct); binds are user, snapshot, updated_at, through_event of
/// each row.
pub(crate) fn upsert_profiles(style: Placeholders, rows: usize) -> &'static str {
    static SQL: ChunkCache = [OnceLock::new(), OnceLock::new()];
    chunked(&SQL, style, rows, |style, rows| {
        format!(
            "INSERT INTO profiles (user_name, snapshot, updated_at, through_event) VALUES {} \
             ON CONFLICT (user_name) DO UPDATE SET \
             snapshot = excluded.snapshot, updated_at = excluded.updated_at, \
             through_event = excluded.through_event",
            values(style, rows, PROFILE_UPSERT_COLUMNS)
        )
    })
}

/// SQLite only: take the write lock at the start, not at the first write.
pub(crate) const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";
pub(crate) const COMMIT: &str = "COMMIT";
pub(crate) const ROLLBACK: &str = "ROLLBACK";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_into_known_sizes() {
        assert_eq!(chunk_sizes(0).count(), 0);
        assert_eq!(chunk_sizes(1).collect::<Vec<_>>(), [1]);
        assert_eq!(chunk_sizes(512).collect::<Vec<_>>(), [128; 4]);
        assert_eq!(chunk_sizes(300).collect::<Vec<_>>(), [128, 128, 32, 8, 4]);
        for n in 0..1000 {
            assert_eq!(chunk_sizes(n).sum::<usize>(), n);
        }
    }

    #[test]
    fn statements_have_one_placeholder_per_value() {
        use Placeholders::{Numbered, Positional};
        assert_eq!(values(Numbered, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values(Positional, 2, 2), "(?, ?), (?, ?)");
        for rows in INSERT_CHUNKS {
            let sql = insert_events(Numbered, rows);
            let last = format!("${})", rows * EVENT_INSERT_COLUMNS);
            assert!(sql.ends_with(&last), "{sql}");
            let sql = upsert_profiles(Numbered, rows);
            assert!(sql.contains(&format!("${})", rows * PROFILE_UPSERT_COLUMNS)));
            let sql = insert_events(Positional, rows);
            assert_eq!(sql.matches('?').count(), rows * EVENT_INSERT_COLUMNS);
            assert!(!sql.contains('$'));
            let sql = upsert_profiles(Positional, rows);
            assert_eq!(sql.matches('?').count(), rows * PROFILE_UPSERT_COLUMNS);
        }
    }
}
