//! The statements of the [`OperationStore`](crate::OperationStore), in the
//! same portable subset as [`crate::sql`].

/// The operation columns in the order every `SELECT` returns them and
/// `INSERT_OPERATION` binds them (after `id`).
macro_rules! operation_columns {
    () => {
        "user_name, kind, ts, received_at, ip, source, report_id, target, external, detail, \
         grade, reasons, login_event_id, alert_id"
    };
}

pub(crate) const INSERT_OPERATION: &str = concat!(
    "INSERT INTO sensitive_operations (",
    operation_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id"
);

pub(crate) const OPERATION: &str = concat!(
    "SELECT id, ",
    operation_columns!(),
    " FROM sensitive_operations WHERE id = $1"
);

/// `$1`: the source; `$2`: its report id.
pub(crate) const REPORTED: &str =
    "SELECT id, alert_id FROM sensitive_operations WHERE source = $1 AND report_id = $2";

/// Every filter is optional: a NULL parameter matches everything.
pub(crate) const LIST_OPERATIONS: &str = concat!(
    "SELECT id, ",
    operation_columns!(),
    " FROM sensitive_operations WHERE ($1 IS NULL OR user_name = $1) \
     AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR ts >= $3) \
     AND ($4 IS NULL OR id < $4) AND grade IN ($5, $6, $7) ORDER BY id DESC LIMIT $8"
);

pub(crate) const PRUNE_OPERATIONS: &str = "DELETE FROM sensitive_operations WHERE ts < $1";
