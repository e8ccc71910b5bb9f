//! The statements of the [`DeliveryStore`](crate::DeliveryStore) and the
//! [`TemplateStore`](crate::TemplateStore), in the same portable subset as
//! [`crate::sql`].

/// The delivery columns in the order every `SELECT` returns them.
macro_rules! delivery_columns {
    () => {
        "id, alert_id, audience, channel, recipient, state, attempts, next_at, last_error, \
         created_at, sent_at"
    };
}

pub(crate) const DELIVERY_MARK: &str = "SELECT alert_id FROM delivery_mark WHERE id = 1";

/// Binds: from, to. Moves the mark only from where the caller read it.
pub(crate) const MOVE_DELIVERY_MARK: &str =
    "UPDATE delivery_mark SET alert_id = $2 WHERE id = 1 AND alert_id = $1";

/// Binds: after, limit. The alert columns as in `sql_alerts`.
pub(crate) const ALERTS_AFTER: &str = "SELECT id, kind, grade, state, user_name, created_at, \
     ts, last_ts, count, dedupe_key, notify_user, notify_admins, ip, country, region, city, \
     asn, isp, device, client, protocol, decision, succeeded, reasons, event_id, answer, \
     answered_at, answered_ip, note FROM alerts WHERE id > $1 ORDER BY id LIMIT $2";

pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO deliveries (alert_id, audience, channel, \
     recipient, state, attempts, next_at, last_error, created_at, sent_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Binds: now, limit.
pub(crate) const DUE_DELIVERIES: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM deliveries WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id LIMIT $2"
);

pub(crate) const NEXT_DUE: &str = "SELECT MIN(next_at) FROM deliveries WHERE state = 'pending'";

/// Binds: id, at.
pub(crate) const DELIVERY_SENT: &str = "UPDATE deliveries SET state = 'sent', \
     attempts = attempts + 1, sent_at = $2, last_error = NULL \
     WHERE id = $1 AND state = 'pending'";

/// Binds: id, state, attempts, next_at, error.
pub(crate) const DELIVERY_FAILED: &str = "UPDATE deliveries SET state = $2, attempts = $3, \
     next_at = $4, last_error = $5 WHERE id = $1 AND state = 'pending'";

pub(crate) const DELIVERY: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM deliveries WHERE id = $1"
);

/// Binds: alert id or NULL, state or NULL, before or NULL, limit.
pub(crate) const DELIVERIES: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM deliveries WHERE ($1 IS NULL OR alert_id = $1) AND ($2 IS NULL OR state = $2) \
     AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
);

pub(crate) const DELIVERY_COUNTS: &str =
    "SELECT state, COUNT(*) FROM deliveries GROUP BY state ORDER BY state";

// ------------------------------------------------------------- templates

pub(crate) const TEMPLATE: &str = "SELECT name, lang, body, updated_at, updated_by \
     FROM alert_templates WHERE name = $1 AND lang = $2";

pub(crate) const TEMPLATES: &str = "SELECT name, lang, body, updated_at, updated_by \
     FROM alert_templates ORDER BY name, lang";

pub(crate) const PUT_TEMPLATE: &str = "INSERT INTO alert_templates \
     (name, lang, body, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (name, lang) DO UPDATE SET body = excluded.body, \
     updated_at = excluded.updated_at, updated_by = excluded.updated_by";

pub(crate) const DELETE_TEMPLATE: &str =
    "DELETE FROM alert_templates WHERE name = $1 AND lang = $2";
