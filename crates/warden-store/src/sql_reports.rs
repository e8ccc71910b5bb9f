//! The statements of the [`ReportStore`](crate::ReportStore), in the same
//! portable subset as [`crate::sql`]: `COUNT`, `SUM(CASE ...)`, `MIN`,
//! `MAX`, `LIKE`, integer division for buckets, `GROUP BY` by ordinal and
//! `LIMIT`. `$1` and `$2` are always the period's `from` and `to`.

/// The columns counting a group's attempts, successes and denials.
macro_rules! counted {
    () => {
        "COUNT(*) AS attempts, \
         SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS successes, \
         SUM(CASE WHEN decision = 'deny' THEN 1 ELSE 0 END) AS denied"
    };
}

pub(crate) const LOGIN_TOTALS: &str = "SELECT COUNT(*) AS attempts, \
     COALESCE(SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END), 0) AS successes, \
     COALESCE(SUM(CASE WHEN decision = 'deny' THEN 1 ELSE 0 END), 0) AS denied, \
     COALESCE(SUM(CASE WHEN decision = 'challenge' THEN 1 ELSE 0 END), 0) AS challenged, \
     COUNT(DISTINCT user_name) AS users \
     FROM login_events WHERE ts >= $1 AND ts < $2";

/// `$3`: limit.
pub(crate) const LOGINS_BY_COUNTRY: &str = concat!(
    "SELECT country, ",
    counted!(),
    " FROM login_events WHERE ts >= $1 AND ts < $2 \
     GROUP BY country ORDER BY attempts DESC, country LIMIT $3"
);

/// `$3`: limit.
pub(crate) const LOGINS_BY_CITY: &str = concat!(
    "SELECT country, region, city, MIN(ip) AS sample_ip, ",
    counted!(),
    " FROM login_events WHERE ts >= $1 AND ts < $2 \
     GROUP BY country, region, city ORDER BY attempts DESC, country, region, city LIMIT $3"
);

/// The columns of a risky user or address (`k` the key, `others` the
/// distinct values of the other column).
macro_rules! risky {
    ($key:literal, $other:literal) => {
        concat!(
            "SELECT ",
            $key,
            " AS k, SUM(CASE WHEN decision = 'deny' THEN 1 ELSE 0 END) AS denied, \
             SUM(CASE WHEN decision = 'challenge' THEN 1 ELSE 0 END) AS challenged, \
             MAX(risk) AS max_risk, COUNT(DISTINCT ",
            $other,
            ") AS others, MAX(country) AS country \
             FROM login_events WHERE ts >= $1 AND ts < $2 AND decision IN ('deny', 'challenge') \
             GROUP BY ",
            $key,
            " ORDER BY denied DESC, challenged DESC, max_risk DESC, k LIMIT $3"
        )
    };
}

/// `$3`: limit.
pub(crate) const RISKY_USERS: &str = risky!("user_name", "ip");

/// `$3`: limit.
pub(crate) const RISKY_ADDRESSES: &str = risky!("ip", "user_name");

/// `$3`: the bucket length in seconds; `$4`: limit. The kind is the first
/// of the attack reasons the row carries ([`crate::RefusalKind`]).
pub(crate) const REFUSALS: &str = "SELECT (ts - $1) / $3 AS bucket, \
     CASE WHEN reasons LIKE '%brute_force_lockout%' THEN 'brute_force' \
          WHEN reasons LIKE '%password_spraying%' THEN 'password_spraying' \
          WHEN reasons LIKE '%credential_stuffing%' THEN 'credential_stuffing' \
          WHEN reasons LIKE '%account_under_attack%' THEN 'account_under_attack' \
          WHEN reasons LIKE '%access_denied%' THEN 'access_denied' \
          ELSE 'other_risk' END AS kind, \
     COUNT(*) AS n \
     FROM login_events WHERE ts >= $1 AND ts < $2 AND decision = 'deny' \
     GROUP BY 1, 2 ORDER BY 1, 2 LIMIT $4";

/// `$3`: the bucket length in seconds; `$4`: limit. `answer` is NULL for
/// an alert not answered.
pub(crate) const LOCATION_ALERT_ANSWERS: &str = "SELECT (ts - $1) / $3 AS bucket, \
     answer, COUNT(*) AS n FROM alerts \
     WHERE kind IN ('unusual_location', 'impossible_travel') AND ts >= $1 AND ts < $2 \
     GROUP BY 1, 2 ORDER BY 1 LIMIT $4";

/// `$1`: the time codes must be live at.
pub(crate) const ADOPTION: &str = "SELECT \
     (SELECT COUNT(*) FROM accounts) AS accounts, \
     (SELECT COUNT(*) FROM totp WHERE confirmed_at IS NOT NULL) AS with_totp, \
     (SELECT COUNT(DISTINCT user_name) FROM app_passwords \
        WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)) AS with_codes";
