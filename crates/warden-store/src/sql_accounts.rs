//! The statements of the [`AccountStore`](crate::AccountStore), in the same
//! portable subset as [`crate::sql`]: `$n` placeholders, `ON CONFLICT ...
//! DO UPDATE` with `excluded`, `RETURNING`, `LIMIT`, no backend-specific
//! functions. Transactions are begun by the backend.

/// The org columns in the order every `SELECT` returns them.
macro_rules! org_columns {
    () => {
        "name, display_name, two_factor, app_passwords_required, created_at, updated_at"
    };
}

/// The account columns in the order every `SELECT` returns them.
macro_rules! account_columns {
    () => {
        "user_name, org, display_name, email, phone, role, status, status_reason, \
         password_hash, password_changed_at, must_change_password, two_factor_changed_at, \
         created_at, updated_at, lang"
    };
}

/// The authorization code columns in the order every `SELECT` returns them.
macro_rules! app_password_columns {
    () => {
        "id, user_name, name, digest, protocols, created_at, last_used_at, last_used_ip, \
         expires_at, revoked_at"
    };
}

macro_rules! totp_columns {
    () => {
        "user_name, sealed_secret, created_at, confirmed_at, last_step"
    };
}

macro_rules! session_columns {
    () => {
        "digest, user_name, created_at, expires_at, ip, user_agent, revoked_at"
    };
}

macro_rules! security_event_columns {
    () => {
        "id, ts, user_name, kind, actor, ip, detail"
    };
}

// ------------------------------------------------------------------ orgs

pub(crate) const UPSERT_ORG: &str = concat!(
    "INSERT INTO orgs (",
    org_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (name) DO UPDATE SET \
     display_name = excluded.display_name, two_factor = excluded.two_factor, \
     app_passwords_required = excluded.app_passwords_required, \
     created_at = excluded.created_at, updated_at = excluded.updated_at"
);

pub(crate) const ORG: &str = concat!("SELECT ", org_columns!(), " FROM orgs WHERE name = $1");

pub(crate) const ORGS: &str = concat!("SELECT ", org_columns!(), " FROM orgs ORDER BY name");

// -------------------------------------------------------------- accounts

pub(crate) const ACCOUNT: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM accounts WHERE user_name = $1"
);

/// Binds: after (NULL for the first page), limit.
pub(crate) const ACCOUNTS: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM accounts WHERE ($1 IS NULL OR user_name > $1) ORDER BY user_name LIMIT $2"
);

/// Binds: org, after (NULL for the first page), limit.
pub(crate) const ACCOUNTS_OF_ORG: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM accounts WHERE org = $1 AND ($2 IS NULL OR user_name > $2) \
     ORDER BY user_name LIMIT $3"
);

/// Users with confirmed TOTP from $1 to $2 (a page of accounts).
pub(crate) const TWO_FACTOR_USERS: &str = "SELECT user_name FROM totp \
     WHERE confirmed_at IS NOT NULL AND user_name >= $1 AND user_name <= $2";

/// Binds the account columns in order; fails on the primary key when the
/// user exists.
pub(crate) const INSERT_ACCOUNT: &str = concat!(
    "INSERT INTO accounts (",
    account_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
);

/// Binds the account columns in order (`$1` is the key); changes nothing
/// when the user does not exist.
pub(crate) const UPDATE_ACCOUNT: &str = "UPDATE accounts SET \
     org = $2, display_name = $3, email = $4, phone = $5, role = $6, status = $7, \
     status_reason = $8, password_hash = $9, password_changed_at = $10, \
     must_change_password = $11, two_factor_changed_at = $12, created_at = $13, \
     updated_at = $14, lang = $15 \
     WHERE user_name = $1";

pub(crate) const DELETE_ACCOUNT: &str = "DELETE FROM accounts WHERE user_name = $1";

// ------------------------------------------------------ password history

/// Binds: user, hash, set_at.
pub(crate) const INSERT_PASSWORD_HISTORY: &str =
    "INSERT INTO password_history (user_name, hash, set_at) VALUES ($1, $2, $3)";

/// Deletes all but the newest `$2` entries of user `$1`.
pub(crate) const TRIM_PASSWORD_HISTORY: &str = "DELETE FROM password_history \
     WHERE user_name = $1 AND id NOT IN \
     (SELECT id FROM password_history WHERE user_name = $1 ORDER BY id DESC LIMIT $2)";

pub(crate) const PASSWORD_HISTORY: &str = "SELECT user_name, hash FROM password_history \
     WHERE user_name = $1 ORDER BY id DESC LIMIT $2";

pub(crate) const DELETE_PASSWORD_HISTORY: &str =
    "DELETE FROM password_history WHERE user_name = $1";

// --------------------------------------------------- authorization codes

/// Binds every column but `id`, in order; returns the assigned id.
pub(crate) const INSERT_APP_PASSWORD: &str = "INSERT INTO app_passwords \
     (user_name, name, digest, protocols, created_at, last_used_at, last_used_ip, expires_at, \
     revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

pub(crate) const APP_PASSWORDS: &str = concat!(
    "SELECT ",
    app_password_columns!(),
    " FROM app_passwords WHERE user_name = $1 ORDER BY created_at DESC, id DESC"
);

pub(crate) const FIND_APP_PASSWORD: &str = concat!(
    "SELECT ",
    app_password_columns!(),
    " FROM app_passwords WHERE user_name = $1 AND digest = $2"
);

/// Binds: id, at, ip.
pub(crate) const TOUCH_APP_PASSWORD: &str =
    "UPDATE app_passwords SET last_used_at = $2, last_used_ip = $3 WHERE id = $1";

/// Revokes code `$2` of user `$1` at `$3` if it is live then.
pub(crate) const REVOKE_APP_PASSWORD: &str = "UPDATE app_passwords SET revoked_at = $3 \
     WHERE id = $2 AND user_name = $1 AND revoked_at IS NULL \
     AND (expires_at IS NULL OR expires_at > $3)";

/// Revokes every code of user `$1` that is live at `$2`.
pub(crate) const REVOKE_APP_PASSWORDS: &str = "UPDATE app_passwords SET revoked_at = $2 \
     WHERE user_name = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)";

pub(crate) const DELETE_APP_PASSWORDS: &str = "DELETE FROM app_passwords WHERE user_name = $1";

// ------------------------------------------------------------------ TOTP

/// Binds the TOTP columns in order.
pub(crate) const UPSERT_TOTP: &str = concat!(
    "INSERT INTO totp (",
    totp_columns!(),
    ") VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (user_name) DO UPDATE SET \
     sealed_secret = excluded.sealed_secret, created_at = excluded.created_at, \
     confirmed_at = excluded.confirmed_at, last_step = excluded.last_step"
);

pub(crate) const TOTP: &str = concat!(
    "SELECT ",
    totp_columns!(),
    " FROM totp WHERE user_name = $1"
);

/// Takes step `$2` for user `$1`: only on a confirmed enrolment and only if
/// it is later than the last step taken. One statement, so two logins with
/// the same code cannot both change a row.
pub(crate) const USE_TOTP_STEP: &str = "UPDATE totp SET last_step = $2 \
     WHERE user_name = $1 AND confirmed_at IS NOT NULL \
     AND (last_step IS NULL OR last_step < $2)";

/// Confirms user `$1`'s pending enrolment at `$2` with first step `$3`.
pub(crate) const CONFIRM_TOTP: &str = "UPDATE totp SET confirmed_at = $2, last_step = $3 \
     WHERE user_name = $1 AND confirmed_at IS NULL";

pub(crate) const DELETE_TOTP: &str = "DELETE FROM totp WHERE user_name = $1";

/// Every user holding a sealed TOTP secret, confirmed or pending.
pub(crate) const TOTP_USERS: &str = "SELECT user_name FROM totp ORDER BY user_name";

// ------------------------------------------------------------------ meta

pub(crate) const META: &str = "SELECT value FROM meta WHERE key = $1";

pub(crate) const SET_META: &str = "INSERT INTO meta (key, value) VALUES ($1, $2) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

// -------------------------------------------------------- recovery codes

/// Binds: user, digest, used_at.
pub(crate) const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_name, digest, used_at) VALUES ($1, $2, $3)";

pub(crate) const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE user_name = $1";

/// Marks user `$1`'s unused code `$2` used at `$3`.
pub(crate) const USE_RECOVERY_CODE: &str = "UPDATE recovery_codes SET used_at = $3 \
     WHERE user_name = $1 AND digest = $2 AND used_at IS NULL";

pub(crate) const RECOVERY_CODES_LEFT: &str =
    "SELECT COUNT(*) FROM recovery_codes WHERE user_name = $1 AND used_at IS NULL";

// -------------------------------------------------------------- sessions

/// Binds the session columns in order.
pub(crate) const INSERT_SESSION: &str = concat!(
    "INSERT INTO web_sessions (",
    session_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
);

pub(crate) const SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM web_sessions WHERE digest = $1"
);

/// Revokes every session of user `$1` that is live at `$2`.
pub(crate) const REVOKE_SESSIONS: &str = "UPDATE web_sessions SET revoked_at = $2 \
     WHERE user_name = $1 AND revoked_at IS NULL AND expires_at > $2";

pub(crate) const DELETE_SESSIONS: &str = "DELETE FROM web_sessions WHERE user_name = $1";

// ------------------------------------------------------- security events

/// Binds every column but `id`, in order.
pub(crate) const INSERT_SECURITY_EVENT: &str = "INSERT INTO security_events \
     (ts, user_name, kind, actor, ip, detail) VALUES ($1, $2, $3, $4, $5, $6)";

pub(crate) const SECURITY_EVENTS: &str = concat!(
    "SELECT ",
    security_event_columns!(),
    " FROM security_events WHERE user_name = $1 ORDER BY ts DESC, id DESC LIMIT $2"
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$n` of a statement from 1 to its highest, none skipped.
    fn placeholders(sql: &str) -> Vec<usize> {
        let mut found: Vec<usize> = sql
            .split('$')
            .skip(1)
            .map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().expect("a number after $")
            })
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    #[test]
    fn placeholders_are_numbered_without_gaps_and_never_positional() {
        let all = [
            UPSERT_ORG,
            ORG,
            ACCOUNT,
            ACCOUNTS,
            ACCOUNTS_OF_ORG,
            INSERT_ACCOUNT,
            UPDATE_ACCOUNT,
            DELETE_ACCOUNT,
            INSERT_PASSWORD_HISTORY,
            TRIM_PASSWORD_HISTORY,
            PASSWORD_HISTORY,
            DELETE_PASSWORD_HISTORY,
            INSERT_APP_PASSWORD,
            APP_PASSWORDS,
            FIND_APP_PASSWORD,
            TOUCH_APP_PASSWORD,
            REVOKE_APP_PASSWORD,
            REVOKE_APP_PASSWORDS,
            DELETE_APP_PASSWORDS,
            UPSERT_TOTP,
            TOTP,
            USE_TOTP_STEP,
            CONFIRM_TOTP,
            DELETE_TOTP,
            INSERT_RECOVERY_CODE,
            DELETE_RECOVERY_CODES,
            USE_RECOVERY_CODE,
            RECOVERY_CODES_LEFT,
            TOTP_USERS,
            META,
            SET_META,
            INSERT_SESSION,
            SESSION,
            REVOKE_SESSIONS,
            DELETE_SESSIONS,
            INSERT_SECURITY_EVENT,
            SECURITY_EVENTS,
        ];
        for sql in all {
            assert!(!sql.contains('?'), "{sql}");
            let n = placeholders(sql);
            assert_eq!(n, (1..=n.len()).collect::<Vec<_>>(), "{sql}");
        }
        assert_eq!(placeholders(INSERT_ACCOUNT).len(), 15);
        assert_eq!(placeholders(UPDATE_ACCOUNT).len(), 15);
    }
}
