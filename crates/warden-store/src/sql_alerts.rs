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

pub(crate) const ALERTS_MARK: &str = "SELECT event_id FROM replay_marks WHERE name = 'alerts'";

/// Moves the alerts mark, only from where the batch began.
pub(crate) const MOVE_ALERTS_MARK: &str =
    "UPDATE replay_marks SET event_id = $2 WHERE name = 'alerts' AND event_id = $1";

pub(crate) const LATEST_ALERT: &str = concat!(
    "SELECT id, ",
    alert_columns!(),
    " FROM alerts WHERE dedupe_key = $1 ORDER BY id DESC LIMIT 1"
);

pub(crate) const RECENT_ALERT_TIMES: &str =
    "SELECT ts FROM alerts WHERE kind = $1 AND ts >= $2 ORDER BY id DESC LIMIT $3";

pub(crate) const FOLD_ALERT: &str = "UPDATE alerts SET count = count + $2, \
     last_ts = CASE WHEN last_ts > $3 THEN last_ts ELSE $3 END, \
     note = COALESCE($4, note) WHERE id = $1";

/// Every filter is optional: a NULL parameter matches everything.
pub(crate) const LIST_ALERTS: &str = concat!(
    "SELECT id, ",
    alert_columns!(),
    " FROM alerts WHERE ($1 IS NULL OR user_name = $1) AND ($2 IS NULL OR kind = $2) \
     AND ($3 IS NULL OR state = $3) AND ($4 IS NULL OR ts >= $4) AND ($5 IS NULL OR ts < $5) \
     AND ($6 IS NULL OR id < $6) AND grade IN ($7, $8, $9) ORDER BY id DESC LIMIT $10"
);

/// Acknowledge: only an open alert. `$2` is the note to add (`''`: none),
/// `$3` the same after a line break.
pub(crate) const ACK_ALERT: &str = "UPDATE alerts SET state = 'acknowledged', \
     note = CASE WHEN $2 = '' THEN note WHEN note = '' THEN $2 ELSE note || $3 END \
     WHERE id = $1 AND state = 'open'";

pub(crate) const CLOSE_ALERT: &str = "UPDATE alerts SET state = 'closed', \
     note = CASE WHEN $2 = '' THEN note WHEN note = '' THEN $2 ELSE note || $3 END \
     WHERE id = $1 AND state <> 'closed'";

pub(crate) const REQUEST_RESEND: &str = "UPDATE alerts SET resend_at = $2 WHERE id = $1";

pub(crate) const RESENDS_DUE: &str = "SELECT id, resend_at FROM alerts \
     WHERE resend_at IS NOT NULL ORDER BY resend_at, id LIMIT $1";

pub(crate) const CLEAR_RESEND: &str =
    "UPDATE alerts SET resend_at = NULL WHERE id = $1 AND resend_at = $2";

/// One chunk of alerts past the retention that nothing refers to.
pub(crate) const PRUNE_ALERTS_CHUNK: &str = "DELETE FROM alerts WHERE id IN \
     (SELECT a.id FROM alerts a WHERE a.last_ts < $1 \
     AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id) \
     AND NOT EXISTS (SELECT 1 FROM correction_requests c WHERE c.alert_id = a.id) \
     LIMIT $2)";

/// The alerts of some kinds about some users since a time: `$1` the time,
/// then `kinds` kind and `users` user placeholders.
pub(crate) fn recent_user_alerts(kinds: usize, users: usize) -> String {
    let list = |from: usize, n: usize| {
        (from..from + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "SELECT id, {} FROM alerts WHERE ts >= $1 AND kind IN ({}) AND user_name IN ({}) ORDER BY id",
        alert_columns!(),
        list(2, kinds),
        list(2 + kinds, users)
    )
}
