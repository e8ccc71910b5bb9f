//! The statements of the [`AuditStore`](crate::AuditStore), in the same
//! portable subset as [`crate::sql`].

/// The record columns in the order every `SELECT` returns them and
/// `INSERT_RECORD` binds them.
macro_rules! record_columns {
    () => {
        "seq, at, kind, actor, user_name, ip, subject, incident_id, detail, prev_hash, hash"
    };
}

pub(crate) const INSERT_RECORD: &str = concat!(
    "INSERT INTO audit_log (",
    record_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);

pub(crate) const LAST_RECORD: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";

pub(crate) const FIRST_SEQ: &str = "SELECT MIN(seq) FROM audit_log";

pub(crate) const LAST_BEFORE: &str = "SELECT MAX(seq) FROM audit_log WHERE at < $1";

pub(crate) const RECORDS_FROM: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"
);

/// Every filter is optional: a NULL parameter matches everything. `$3` is
/// an exact kind, `$4` a prefix (`account.`) matched with a range so an
/// index serves it and no `LIKE` escaping is needed: `$4 <= kind < $5`.
pub(crate) const LIST_RECORDS: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM audit_log WHERE ($1 IS NULL OR user_name = $1) AND ($2 IS NULL OR ip = $2) \
     AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR (kind >= $4 AND kind < $5)) \
     AND ($6 IS NULL OR actor = $6) AND ($7 IS NULL OR incident_id = $7) \
     AND ($8 IS NULL OR at >= $8) AND ($9 IS NULL OR at < $9) \
     AND ($10 IS NULL OR seq < $10) ORDER BY seq DESC LIMIT $11"
);

pub(crate) const INSERT_CHECKPOINT: &str =
    "INSERT INTO audit_checkpoints (seq, hash, at, signature) VALUES ($1, $2, $3, $4)";

pub(crate) const CHECKPOINTS: &str = "SELECT seq, hash, at, signature FROM audit_checkpoints \
     WHERE seq >= $1 AND seq <= $2 ORDER BY seq";

pub(crate) const LATEST_CHECKPOINT: &str =
    "SELECT seq, hash, at, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1";

pub(crate) const CHECKPOINT_FROM: &str = "SELECT seq, hash, at, signature FROM audit_checkpoints \
     WHERE seq >= $1 ORDER BY seq LIMIT 1";

pub(crate) const CHECKPOINT_AT: &str = "SELECT seq FROM audit_checkpoints WHERE seq = $1";

pub(crate) const PRUNE_RECORDS: &str = "DELETE FROM audit_log WHERE seq <= $1";
