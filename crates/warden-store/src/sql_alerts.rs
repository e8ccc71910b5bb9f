//! The statements of the [`AlertStore`](crate::AlertStore), in the same
//! portable subset as [`crate::sql`].

/// The alert columns in the order every `SELECT` returns them and
/// `INSERT_ALERT` binds them (after `id`).
macro_rules! alert_columns {
    () => {
        "kind, grade, state, user_name, created_at, ts, last_ts, count, dedupe_key, \
         notify_user, notify_admins, ip, country, region, city, asn, isp, device, client, \
         protocol, decision, succeeded, reasons, event_id, answer, answered_at, answered_ip, note"
    };
}

pub(crate) const INSERT_ALERT: &str = concat!(
    "INSERT INTO alerts (",
    alert_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
     $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28) RETURNING id"
);

pub(crate) const ALERT: &str = concat!(
    "SELECT id, ",
    alert_columns!(),
    " FROM alerts WHERE id = $1"
);

pub(crate) const ANSWER_ALERT: &str = "UPDATE alerts SET answer = $2, answered_at = $3, \
     answered_ip = $4, state = 'closed' WHERE id = $1 AND answer IS NULL";
