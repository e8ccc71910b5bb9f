//! The [`ReportStore`] trait: the aggregations of the security report over
//! one period — logins by country and by city, the riskiest users and
//! addresses, refused logins by kind over time, the unusual-location
//! alerts and their answers over time, and 2FA and authorization-code
//! adoption. Every read is one `GROUP BY` over the period (the events' `ts`
//! index), bounded by a `LIMIT`, so a report of a busy year returns a
//! bounded answer.

use std::future::Future;

use warden_core::Timestamp;

use crate::error::StoreError;

/// The most rows any one list of a report returns.
pub const MAX_REPORT_ROWS: u32 = 1_000;

/// A half-open period `[from, to)` and how it is cut into buckets: an
/// event at `ts` is in bucket `(ts - from) / bucket_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportWindow {
    pub from: Timestamp,
    /// The first second after the period.
    pub to: Timestamp,
    /// The length of one bucket of the time series (a day, a week); at
    /// least one second.
    pub bucket_secs: i64,
}

impl ReportWindow {
    /// How many buckets the period spans.
    pub fn buckets(&self) -> usize {
        let len = self.to.since(self.from).max(0);
        let b = self.bucket_secs.max(1);
        ((len + b - 1) / b) as usize
    }
}

/// What the period's login attempts came to.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoginTotals {
    pub attempts: u64,
    pub successes: u64,
    /// Attempts Warden denied.
    pub denied: u64,
    /// Attempts Warden challenged.
    pub challenged: u64,
    /// Distinct users who tried.
    pub users: u64,
}

/// The attempts from one place (a country, or a country, region and city).
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceCount {
    /// ISO code, upper case; `None`: unknown.
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub attempts: u64,
    pub successes: u64,
    pub denied: u64,
    /// One address the place was recorded for (the smallest in text
    /// order), to look its coordinates up again; `None` for countries.
    pub sample_ip: Option<String>,
}

/// A user or an address with denied or challenged logins.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskyKey {
    /// The user name, or the canonical address.
    pub key: String,
    pub denied: u64,
    pub challenged: u64,
    /// The highest risk of its denied or challenged attempts.
    pub max_risk: f64,
    /// Distinct users (for an address) or addresses (for a user) involved.
    pub others: u64,
    /// The country of the attempts (the greatest code among them).
    pub country: Option<String>,
}

/// Why a denied login was refused, from its reasons (the first that
/// applies, in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefusalKind {
    BruteForce,
    PasswordSpraying,
    CredentialStuffing,
    AccountUnderAttack,
    AccessDenied,
    /// Any other risk (an unusual place, an anonymizer...).
    OtherRisk,
}

impl RefusalKind {
    pub const ALL: [RefusalKind; 6] = [
        RefusalKind::BruteForce,
        RefusalKind::PasswordSpraying,
        RefusalKind::CredentialStuffing,
        RefusalKind::AccountUnderAttack,
        RefusalKind::AccessDenied,
        RefusalKind::OtherRisk,
    ];

    /// The wire name (also the SQL's label).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::BruteForce => "brute_force",
            RefusalKind::PasswordSpraying => "password_spraying",
            RefusalKind::CredentialStuffing => "credential_stuffing",
            RefusalKind::AccountUnderAttack => "account_under_attack",
            RefusalKind::AccessDenied => "access_denied",
            RefusalKind::OtherRisk => "other_risk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        RefusalKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Denied logins of one kind in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalCount {
    pub bucket: i64,
    pub kind: RefusalKind,
    pub count: u64,
}

/// The unusual-location alerts (unusual place, impossible travel) of the
/// logins in one bucket, by how their users answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnswerCount {
    pub bucket: i64,
    /// "Yes, it was me".
    pub yes: u64,
    /// "No, it wasn't me".
    pub no: u64,
    /// "It was me, the place is wrong".
    pub wrong_location: u64,
    pub unanswered: u64,
}

/// How many accounts use a second factor or authorization codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Adoption {
    pub accounts: u64,
    /// Accounts with a confirmed TOTP enrolment.
    pub with_totp: u64,
    /// Accounts with at least one authorization code neither revoked nor
    /// expired at the time asked.
    pub with_codes: u64,
}

/// The security report's reads.
pub trait ReportStore: Send + Sync + 'static {
    /// The totals of the period's login attempts.
    fn login_totals(
        &self,
        w: &ReportWindow,
    ) -> impl Future<Output = Result<LoginTotals, StoreError>> + Send;

    /// Attempts by country, most first, at most `limit` (capped at
    /// [`MAX_REPORT_ROWS`]).
    fn logins_by_country(
        &self,
        w: &ReportWindow,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PlaceCount>, StoreError>> + Send;

    /// Attempts by country, region and city, most first, each with one of
    /// its addresses, at most `limit`.
    fn logins_by_city(
        &self,
        w: &ReportWindow,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PlaceCount>, StoreError>> + Send;

    /// Users by denied then challenged logins (then highest risk), at most
    /// `limit`; users with neither are left out.
    fn risky_users(
        &self,
        w: &ReportWindow,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RiskyKey>, StoreError>> + Send;

    /// Addresses the same way.
    fn risky_addresses(
        &self,
        w: &ReportWindow,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RiskyKey>, StoreError>> + Send;

    /// Denied logins by bucket and [`RefusalKind`], in bucket order.
    fn refusals(
        &self,
        w: &ReportWindow,
    ) -> impl Future<Output = Result<Vec<RefusalCount>, StoreError>> + Send;

    /// Unusual-location and impossible-travel alerts whose login is in the
    /// period, by the login's bucket and the answer, in bucket order.
    fn location_alert_answers(
        &self,
        w: &ReportWindow,
    ) -> impl Future<Output = Result<Vec<AnswerCount>, StoreError>> + Send;

    /// Accounts, and those with TOTP and with live codes at `at`.
    fn adoption(&self, at: Timestamp) -> impl Future<Output = Result<Adoption, StoreError>> + Send;
}
