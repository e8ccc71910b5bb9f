//! The statements, written once in the SQL subset that SQLite and PostgreSQL
//! both accept: `$n` placeholders, `INSERT ... ON CONFLICT (...) DO UPDATE`
//! with `excluded`, `LIMIT`, no backend-specific functions.

/// The event columns in the order every `SELECT` returns them.
macro_rules! event_columns {
    () => {
        "id, ts, user_name, ip, protocol, outcome, device, user_agent, country, region, city, \
         asn, decision, risk, risk_level, alert, reasons"
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

pub(crate) const INSERT_EVENT: &str = "INSERT INTO login_events \
     (ts, user_name, ip, protocol, outcome, device, user_agent, country, region, city, \
      asn, decision, risk, risk_level, alert, reasons) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

pub(crate) const HISTORY_LATEST: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM login_events WHERE user_name = $1 ORDER BY ts DESC, id DESC LIMIT $2"
);

pub(crate) const HISTORY_BEFORE: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM login_events WHERE user_name = $1 AND ts < $2 ORDER BY ts DESC, id DESC LIMIT $3"
);

/// Deletes up to `$2` events older than `$1`; repeated until it deletes fewer.
pub(crate) const PRUNE_CHUNK: &str = "DELETE FROM login_events WHERE id IN \
     (SELECT id FROM login_events WHERE ts < $1 LIMIT $2)";

pub(crate) const UPSERT_PROFILE: &str = "INSERT INTO profiles (user_name, snapshot, updated_at) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (user_name) DO UPDATE SET \
     snapshot = excluded.snapshot, updated_at = excluded.updated_at";

pub(crate) const LOAD_PROFILES: &str =
    "SELECT user_name, snapshot, updated_at FROM profiles ORDER BY user_name";

pub(crate) const LOAD_PROFILE: &str =
    "SELECT user_name, snapshot, updated_at FROM profiles WHERE user_name = $1";

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
