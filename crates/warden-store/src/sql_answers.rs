//! The statements of the [`AnswerStore`](crate::AnswerStore), in the same
//! portable subset as [`crate::sql`].

pub(crate) const INSERT_SOURCE_BLOCK: &str = "INSERT INTO source_blocks \
     (user_name, network, alert_id, created_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (user_name, network) DO NOTHING";

pub(crate) const DELETE_SOURCE_BLOCK: &str =
    "DELETE FROM source_blocks WHERE user_name = $1 AND network = $2";

pub(crate) const SOURCE_BLOCKS: &str = "SELECT user_name, network, alert_id, created_at \
     FROM source_blocks ORDER BY created_at, user_name, network";

macro_rules! correction_columns {
    () => {
        "alert_id, user_name, ip, country, region, city, comment, state, created_at, \
         decided_at, decided_by"
    };
}

pub(crate) const QUEUE_CORRECTION: &str = concat!(
    "INSERT INTO correction_requests (",
    correction_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"
);

pub(crate) const QUEUED_CORRECTION: &str = concat!(
    "SELECT id, ",
    correction_columns!(),
    " FROM correction_requests WHERE id = $1"
);

/// `$1`: a state or NULL for all; `$2`: the id to list after; `$3`: limit.
pub(crate) const QUEUED_CORRECTIONS: &str = concat!(
    "SELECT id, ",
    correction_columns!(),
    " FROM correction_requests WHERE ($1 IS NULL OR state = $1) AND id > $2 \
     ORDER BY id LIMIT $3"
);

pub(crate) const DECIDE_CORRECTION: &str = "UPDATE correction_requests \
     SET state = $2, decided_at = $3, decided_by = $4 WHERE id = $1 AND state = 'pending'";

/// `$1`: the user; `$2`: limit.
pub(crate) const ANSWERED_ALERTS: &str = concat!(
    "SELECT id, ",
    alert_columns!(),
    " FROM alerts WHERE user_name = $1 AND answer IS NOT NULL ORDER BY id DESC LIMIT $2"
);

/// `$1`: since; `$2`: logins scanned at most; `$3`: the address; `$4`: the
/// user left out; `$5`: limit.
pub(crate) const USERS_SEEN_FROM: &str = "SELECT DISTINCT user_name FROM \
     (SELECT user_name, ip FROM login_events WHERE ts >= $1 ORDER BY ts DESC LIMIT $2) \
     WHERE ip = $3 AND user_name <> $4 ORDER BY user_name LIMIT $5";
