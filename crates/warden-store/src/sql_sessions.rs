//! The statements of the [`SessionStore`](crate::SessionStore), in the same
//! portable subset as [`crate::sql`] (`ON CONFLICT ... DO UPDATE` with
//! `excluded`, `CASE` instead of `MAX`/`GREATEST`).

macro_rules! session_columns {
    () => {
        "user_name, device, client, os, protocol, ip, country, city, first_seen, last_seen, \
         state, state_at, state_by, trusted_until"
    };
}

pub(crate) const RECORD_SESSION: &str = concat!(
    "INSERT INTO device_sessions (",
    session_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
     ON CONFLICT (user_name, device) DO UPDATE SET \
     client = excluded.client, os = excluded.os, protocol = excluded.protocol, \
     ip = excluded.ip, country = excluded.country, city = excluded.city, \
     last_seen = CASE WHEN excluded.last_seen > device_sessions.last_seen \
     THEN excluded.last_seen ELSE device_sessions.last_seen END"
);

/// `$1`: the user; `$2`: rows kept.
pub(crate) const KEEP_NEWEST: &str = "DELETE FROM device_sessions WHERE user_name = $1 \
     AND id NOT IN (SELECT id FROM device_sessions WHERE user_name = $1 \
     ORDER BY last_seen DESC, id DESC LIMIT $2)";

/// `$15`: the most pending rows of the user.
pub(crate) const INSERT_PENDING: &str = concat!(
    "INSERT INTO device_sessions (",
    session_columns!(),
    ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
     WHERE (SELECT COUNT(*) FROM device_sessions WHERE user_name = $1 AND state = 'pending') < $15 \
     ON CONFLICT (user_name, device) DO NOTHING"
);

pub(crate) const DEVICE_SESSION: &str = concat!(
    "SELECT id, ",
    session_columns!(),
    " FROM device_sessions WHERE user_name = $1 AND device = $2"
);

pub(crate) const DEVICE_SESSIONS: &str = concat!(
    "SELECT id, ",
    session_columns!(),
    " FROM device_sessions WHERE user_name = $1 ORDER BY last_seen DESC, id DESC LIMIT $2"
);

pub(crate) const SESSIONS_IN_STATE: &str = concat!(
    "SELECT id, ",
    session_columns!(),
    " FROM device_sessions WHERE state = $1 ORDER BY id LIMIT $2"
);

/// `$1` user, `$2` device or NULL for all, `$3` state, `$4` at, `$5` by,
/// `$6` whether to set the trust, `$7` the trust, `$8`..`$10` the states
/// changed from (NULL for none).
pub(crate) const SET_STATE: &str = "UPDATE device_sessions SET state = $3, state_at = $4, \
     state_by = $5, trusted_until = CASE WHEN $6 = 1 THEN $7 ELSE trusted_until END \
     WHERE user_name = $1 AND ($2 IS NULL OR device = $2) AND state IN ($8, $9, $10)";

pub(crate) const DELETE_SESSION: &str =
    "DELETE FROM device_sessions WHERE user_name = $1 AND device = $2";

pub(crate) const PRUNE_SESSIONS: &str = "DELETE FROM device_sessions WHERE last_seen < $1 \
     AND state_at < $1 AND (trusted_until IS NULL OR trusted_until < $1)";
