//! The statements of the [`PolicyStore`](crate::PolicyStore), in the same
//! portable subset as [`crate::sql`].

/// The policy columns in the order every `SELECT` returns them.
macro_rules! policy_columns {
    () => {
        "scope, target, version, name, mode, removed, allowlist, geo_allow, geo_block, \
         protocols, tls_required, hours_days, hours_from, hours_to, hours_offset, \
         login_protection, new_device_approval, step_up_minutes, actor, ip, comment, \
         created_at, restored_from"
    };
}

/// Inserts a version only when it is the next one of its scope and target
/// (`$3` = newest + 1).
pub(crate) const INSERT_POLICY_VERSION: &str = concat!(
    "INSERT INTO policy_versions (",
    policy_columns!(),
    ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
     $18, $19, $20, $21, $22, $23 \
     WHERE (SELECT COALESCE(MAX(version), 0) FROM policy_versions \
            WHERE scope = $1 AND target = $2) = $3 - 1"
);

pub(crate) const CURRENT_POLICIES: &str = concat!(
    "SELECT ",
    policy_columns!(),
    " FROM policy_versions p WHERE version = (SELECT MAX(version) FROM policy_versions q \
     WHERE q.scope = p.scope AND q.target = p.target) ORDER BY scope, target"
);

pub(crate) const POLICY_VERSION: &str = concat!(
    "SELECT ",
    policy_columns!(),
    " FROM policy_versions WHERE scope = $1 AND target = $2 AND version = $3"
);

pub(crate) const POLICY_HISTORY: &str = concat!(
    "SELECT ",
    policy_columns!(),
    " FROM policy_versions WHERE scope = $1 AND target = $2 ORDER BY version DESC LIMIT $3"
);

pub(crate) const DELETE_USER_GROUPS: &str = "DELETE FROM group_members WHERE user_name = $1";

pub(crate) const INSERT_GROUP_MEMBER: &str =
    "INSERT INTO group_members (group_name, user_name, added_at) VALUES ($1, $2, $3) \
     ON CONFLICT (group_name, user_name) DO NOTHING";

pub(crate) const GROUP_MEMBERS: &str =
    "SELECT group_name, user_name FROM group_members ORDER BY group_name, user_name";

pub(crate) const ACCOUNT_ORGS: &str = "SELECT user_name, org FROM accounts ORDER BY user_name";

/// The event columns as `sql::event_columns!` lists them (the decoder
/// reads them by name).
macro_rules! login_columns {
    () => {
        "id, ts, user_name, ip, protocol, outcome, device, user_agent, country, region, city, \
         asn, decision, risk, risk_level, alert, reasons, auth_reason"
    };
}

pub(crate) const LOGINS_SINCE: &str = concat!(
    "SELECT ",
    login_columns!(),
    " FROM login_events WHERE ts >= $1 AND id < $2 ORDER BY id DESC LIMIT $3"
);
