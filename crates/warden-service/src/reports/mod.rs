//! The security report: `Service::security_report` gathers a period's
//! figures — logins by country and city (each city placed on the map by
//! looking one of its recorded addresses up again in the live IP data),
//! the unusual-location alerts and their answers per week, the riskiest
//! users and addresses, refused logins by kind over time, 2FA and
//! authorization-code adoption, and incidents with their times to contain
//! and close — as typed, cleaned and bounded figures. No HTML here: the
//! API renders them (`warden_api::report_page`).

pub mod incidents;
pub mod period;

use jiff::civil::Date;
use warden_core::{countries, text, Country, Timestamp};
use warden_store::{
    Adoption, Backend, LoginTotals, PlaceCount, RefusalKind, ReportWindow, RiskyKey,
};

pub use incidents::{IncidentFigure, IncidentGrade, IncidentSummary};

/// The most incidents of a period the report reads.
pub const MAX_REPORTED_INCIDENTS: usize = 10_000;
pub use period::{Period, PeriodError, MAX_PERIOD_DAYS};

use crate::error::ServiceError;
use crate::Service;

/// The most countries the report lists.
pub const MAX_COUNTRIES: u32 = 30;
/// The most cities the report lists and maps.
pub const MAX_CITIES: u32 = 60;
/// The most users and addresses in each "top risky" list.
pub const MAX_RISKY: u32 = 15;
/// The longest name (user, city, region, organisation) a report shows.
pub const MAX_NAME_CHARS: usize = 64;

const DAY: i64 = 86_400;

/// A country's or a city's logins.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceFigure {
    /// ISO code, `None` when unknown.
    pub country: Option<String>,
    /// The country's English name ("Unknown" when unknown).
    pub country_name: String,
    pub region: Option<String>,
    pub city: Option<String>,
    pub attempts: u64,
    pub successes: u64,
    pub denied: u64,
    /// Latitude and longitude of the city, when the IP data places one of
    /// its recorded addresses there today.
    pub coords: Option<(f32, f32)>,
}

impl PlaceFigure {
    /// "Shenzhen, Guangdong, China", as much as is known.
    pub fn label(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(c) = &self.city {
            parts.push(c);
        }
        if let Some(r) = self
            .region
            .as_deref()
            .filter(|r| Some(*r) != self.city.as_deref())
        {
            parts.push(r);
        }
        parts.push(&self.country_name);
        parts.join(", ")
    }
}

/// A user or an address with denied or challenged logins.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskyFigure {
    /// The user name or the address, cleaned and bounded.
    pub key: String,
    pub denied: u64,
    pub challenged: u64,
    pub max_risk: f64,
    /// Addresses of a user, users of an address.
    pub others: u64,
    pub country_name: Option<String>,
}

/// One bucket of a time series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket<T> {
    /// The local date the bucket starts on.
    pub start: Date,
    pub values: T,
}

/// The unusual-location alerts of a week by answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answers {
    pub yes: u64,
    pub no: u64,
    pub wrong_location: u64,
    pub unanswered: u64,
}

impl Answers {
    pub fn total(&self) -> u64 {
        self.yes + self.no + self.wrong_location + self.unanswered
    }
}

/// The security report's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityReport {
    /// The organisations' names (cleaned), or "Warden" without any.
    pub organisation: String,
    pub period: Period,
    pub generated_at: Timestamp,
    pub totals: LoginTotals,
    pub countries: Vec<PlaceFigure>,
    pub cities: Vec<PlaceFigure>,
    /// Location alerts per week of the period (every week, even empty).
    pub location_alerts: Vec<Bucket<Answers>>,
    pub risky_users: Vec<RiskyFigure>,
    pub risky_addresses: Vec<RiskyFigure>,
    /// Refused logins per bucket of `refusal_bucket_days`, by
    /// [`RefusalKind`] in [`RefusalKind::ALL`] order (every bucket).
    pub refusals: Vec<Bucket<[u64; 6]>>,
    pub refusal_bucket_days: i64,
    pub adoption: Adoption,
    /// The incidents opened in the period.
    pub incidents: Vec<IncidentFigure>,
}

impl SecurityReport {
    /// The incidents per grade and in total.
    pub fn incident_summaries(&self) -> Vec<IncidentSummary> {
        incidents::summarise(&self.incidents)
    }
}

fn clean(s: &str) -> String {
    text::one_line(s, MAX_NAME_CHARS)
}

fn country_name(code: Option<&str>) -> String {
    match code.and_then(|c| Country::new(c).ok()) {
        Some(c) if countries::is_known(c) => countries::name_en(c).to_string(),
        Some(c) => c.as_str().to_string(),
        None => "Unknown".to_string(),
    }
}

fn risky(r: RiskyKey) -> RiskyFigure {
    RiskyFigure {
        key: clean(&r.key),
        denied: r.denied,
        challenged: r.challenged,
        max_risk: r.max_risk.clamp(0.0, 1.0),
        others: r.others,
        country_name: r.country.as_deref().map(|c| country_name(Some(c))),
    }
}

impl<S: Backend> Service<S> {
    /// The security report of the period asked for (`from`/`to` as
    /// `YYYY-MM-DD`, both or neither: the previous calendar month), in the
    /// organisation's UTC offset. A bad or too long period is
    /// [`ServiceError::Invalid`] and reads nothing.
    pub async fn security_report(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<SecurityReport, ServiceError> {
        let now = self.clock.now();
        let period = Period::resolve(from, to, now, self.utc_offset())?;
        let store = &*self.store;
        let whole = ReportWindow {
            from: period.start(),
            to: period.end(),
            bucket_secs: 7 * DAY,
        };
        let refusal_days = period.refusal_bucket_days();
        let daily = ReportWindow {
            bucket_secs: refusal_days * DAY,
            ..whole
        };
        let totals = store.login_totals(&whole).await?;
        let countries = store
            .logins_by_country(&whole, MAX_COUNTRIES)
            .await?
            .into_iter()
            .map(|p| self.place(p))
            .collect();
        let cities = store
            .logins_by_city(&whole, MAX_CITIES)
            .await?
            .into_iter()
            .map(|p| self.place(p))
            .collect();
        let weeks = whole.buckets();
        let mut location_alerts: Vec<Bucket<Answers>> = (0..weeks)
            .map(|n| Bucket {
                start: period.bucket_start(n as i64, 7),
                values: Answers::default(),
            })
            .collect();
        for a in store.location_alert_answers(&whole).await? {
            if let Some(b) = usize::try_from(a.bucket)
                .ok()
                .and_then(|i| location_alerts.get_mut(i))
            {
                b.values = Answers {
                    yes: a.yes,
                    no: a.no,
                    wrong_location: a.wrong_location,
                    unanswered: a.unanswered,
                };
            }
        }
        let mut refusals: Vec<Bucket<[u64; 6]>> = (0..daily.buckets())
            .map(|n| Bucket {
                start: period.bucket_start(n as i64, refusal_days),
                values: [0; 6],
            })
            .collect();
        for r in store.refusals(&daily).await? {
            let kind = RefusalKind::ALL.iter().position(|k| *k == r.kind);
            if let (Some(b), Some(k)) = (
                usize::try_from(r.bucket)
                    .ok()
                    .and_then(|i| refusals.get_mut(i)),
                kind,
            ) {
                b.values[k] += r.count;
            }
        }
        let risky_users = store
            .risky_users(&whole, MAX_RISKY)
            .await?
            .into_iter()
            .map(risky)
            .collect();
        let risky_addresses = store
            .risky_addresses(&whole, MAX_RISKY)
            .await?
            .into_iter()
            .map(risky)
            .collect();
        let adoption = store.adoption(now).await?;
        let orgs = store.orgs().await?;
        let mut names: Vec<String> = orgs
            .iter()
            .take(3)
            .map(|o| clean(&o.display_name))
            .filter(|n| !n.is_empty())
            .collect();
        if orgs.len() > 3 {
            names.push(format!("{} more", orgs.len() - 3));
        }
        let organisation = if names.is_empty() {
            "Warden".to_string()
        } else {
            names.join(", ")
        };
        Ok(SecurityReport {
            organisation,
            period,
            generated_at: now,
            totals,
            countries,
            cities,
            location_alerts,
            risky_users,
            risky_addresses,
            refusals,
            refusal_bucket_days: refusal_days,
            adoption,
            incidents: self.period_incidents(&period).await?,
        })
    }

    /// The incidents opened in the period, read newest first from the
    /// incident store page by page until one opened before it (at most
    /// [`MAX_REPORTED_INCIDENTS`]: the summary says so when that many).
    async fn period_incidents(&self, period: &Period) -> Result<Vec<IncidentFigure>, ServiceError> {
        let (start, end) = (period.start(), period.end());
        let mut out = Vec::new();
        let mut before_id = None;
        'pages: loop {
            let page = self
                .store
                .list_incidents(&warden_store::IncidentQuery {
                    before_id,
                    limit: warden_store::MAX_INCIDENTS_PAGE,
                    ..Default::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            before_id = Some(last.id);
            for i in &page {
                if i.opened_at < start {
                    break 'pages;
                }
                if i.opened_at < end {
                    out.push(IncidentFigure {
                        grade: i.grade.into(),
                        opened_at: i.opened_at,
                        contained_at: i.contained_at,
                        closed_at: i.closed_at,
                    });
                    if out.len() >= MAX_REPORTED_INCIDENTS {
                        break 'pages;
                    }
                }
            }
        }
        Ok(out)
    }

    /// A place's figure; a city gets its coordinates by looking its sample
    /// address up again, kept only when the IP data still puts that
    /// address in the same country and city.
    fn place(&self, p: PlaceCount) -> PlaceFigure {
        let coords = p
            .sample_ip
            .as_deref()
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
            .and_then(|ip| {
                let loc = self.intel.lookup(ip).location;
                let same_country = loc.country.map(|c| c.as_str().to_string()) == p.country;
                let same_city = loc.city.as_deref() == p.city.as_deref();
                (same_country && same_city && p.city.is_some())
                    .then_some(loc.coords)
                    .flatten()
            })
            .map(|c| (c.lat, c.lon));
        PlaceFigure {
            country_name: country_name(p.country.as_deref()),
            country: p.country.filter(|c| Country::new(c).is_ok()),
            region: p.region.as_deref().map(clean),
            city: p.city.as_deref().map(clean),
            attempts: p.attempts,
            successes: p.successes,
            denied: p.denied,
            coords,
        }
    }
}
