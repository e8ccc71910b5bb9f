//! The security report page: `GET /v1/reports/security` (admin API key)
//! answers one self-contained HTML page — inline CSS and inline SVG
//! charts drawn here in Rust ([`svg`]), no script, no external request
//! (the CSP says so) — printable on A4. The service gathers the figures
//! (`Service::security_report`); this module only words and draws them.
//! Every text is escaped: the template by minijinja's auto-escaping, the
//! charts by [`svg::escape`]. Rendering runs on the service's bounded
//! `cpu` pool (a full pool answers 503), though it is cheap: every list it
//! draws is bounded by the service (60 cities, 30 countries, 15 users and
//! addresses, 53 weeks, 366 days, 50 incidents).

pub mod svg;

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;
use warden_core::Timestamp;
use warden_service::reports::incidents::MAX_LISTED_INCIDENTS;
use warden_service::reports::{Answers, RiskyFigure, SecurityReport};
use warden_store::{Backend, RefusalKind};

use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;
use crate::types::reports::ReportParams;

const TEMPLATE: &str = "report.html";

/// How many of the largest cities the map names.
const MAP_LABELS: usize = 14;
/// How many countries and cities the tables list (the map shows every
/// city the service returned).
const TABLE_ROWS: usize = 20;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html`: every value is HTML-escaped unless marked safe (only the
        // SVG charts, which escape their own texts).
        env.add_template(TEMPLATE, include_str!("report.html"))
            .expect("the report's template parses");
        env.set_fuel(Some(2_000_000));
        env
    })
}

#[derive(Serialize)]
struct Card {
    key: &'static str,
    label: &'static str,
    value: u64,
}

#[derive(Serialize)]
struct PlaceRow {
    label: String,
    attempts: u64,
    successes: u64,
    denied: u64,
}

#[derive(Serialize, Default)]
struct WeekRow {
    start: String,
    yes: u64,
    no: u64,
    wrong: u64,
    unanswered: u64,
}

#[derive(Serialize)]
struct RiskyRow {
    key: String,
    country: String,
    denied: u64,
    challenged: u64,
    risk: String,
    others: u64,
}

#[derive(Serialize)]
struct KindTotal {
    key: &'static str,
    label: &'static str,
    count: u64,
}

#[derive(Serialize)]
struct AdoptionView {
    accounts: u64,
    with_totp: u64,
    with_codes: u64,
    totp_svg: String,
    codes_svg: String,
}

#[derive(Serialize)]
struct GradeRow {
    key: &'static str,
    grade: String,
    opened: usize,
    contained: usize,
    closed: usize,
    to_contain: String,
    to_close: String,
}

#[derive(Serialize)]
struct IncidentRow {
    grade: &'static str,
    opened: String,
    contained: String,
    closed: String,
    to_contain: String,
    to_close: String,
}

#[derive(Serialize)]
struct View {
    title: String,
    organisation: String,
    period: String,
    days: i64,
    tz: String,
    generated: String,
    cards: Vec<Card>,
    map_svg: String,
    on_map: usize,
    off_map: usize,
    countries_svg: String,
    countries: Vec<PlaceRow>,
    countries_more: usize,
    cities: Vec<PlaceRow>,
    cities_more: usize,
    cities_total: usize,
    alerts_svg: String,
    alert_weeks: Vec<WeekRow>,
    alert_total: WeekRow,
    risky_users: Vec<RiskyRow>,
    risky_addresses: Vec<RiskyRow>,
    refusals_svg: String,
    refusal_unit: &'static str,
    refusal_totals: Vec<KindTotal>,
    adoption: AdoptionView,
    incident_grades: Vec<GradeRow>,
    incidents: Vec<IncidentRow>,
    incidents_more: usize,
}

/// `UTC`, `UTC+8`, `UTC-3:30`.
pub fn tz_label(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "UTC".to_string();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.unsigned_abs();
    if m.is_multiple_of(60) {
        format!("UTC{sign}{}", m / 60)
    } else {
        format!("UTC{sign}{}:{:02}", m / 60, m % 60)
    }
}

/// `2026-11-03 14:05` at the offset.
fn local(t: Timestamp, offset: i32) -> String {
    let c = t.civil(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// A duration for people: `45 min`, `3.5 h`, `2.1 d`; `—` for none.
pub fn duration(secs: Option<i64>) -> String {
    match secs {
        None => "—".to_string(),
        Some(s) if s < 3_600 => format!("{} min", (s.max(0) + 59) / 60),
        Some(s) if s < 2 * 86_400 => format!("{:.1} h", s as f64 / 3_600.0),
        Some(s) => format!("{:.1} d", s as f64 / 86_400.0),
    }
}

fn kind_label(k: RefusalKind) -> &'static str {
    match k {
        RefusalKind::BruteForce => "Brute force (lockout)",
        RefusalKind::PasswordSpraying => "Password spraying",
        RefusalKind::CredentialStuffing => "Credential stuffing",
        RefusalKind::AccountUnderAttack => "Account under attack",
        RefusalKind::AccessDenied => "Access policy",
        RefusalKind::OtherRisk => "Other risk",
    }
}

fn kind_color(k: RefusalKind) -> &'static str {
    match k {
        RefusalKind::BruteForce => "#c0392b",
        RefusalKind::PasswordSpraying => "#e67e22",
        RefusalKind::CredentialStuffing => "#8e44ad",
        RefusalKind::AccountUnderAttack => "#d4ac0d",
        RefusalKind::AccessDenied => "#2f6fb3",
        RefusalKind::OtherRisk => "#7f8c8d",
    }
}

fn risky_row(r: &RiskyFigure) -> RiskyRow {
    RiskyRow {
        key: r.key.clone(),
        country: r.country_name.clone().unwrap_or_else(|| "—".into()),
        denied: r.denied,
        challenged: r.challenged,
        risk: format!("{:.2}", r.max_risk),
        others: r.others,
    }
}

fn week_row(start: String, a: &Answers) -> WeekRow {
    WeekRow {
        start,
        yes: a.yes,
        no: a.no,
        wrong: a.wrong_location,
        unanswered: a.unanswered,
    }
}

fn view(r: &SecurityReport) -> View {
    let offset = r.period.utc_offset_minutes;
    let period = r.period.to_string();
    let alerts_total = r
        .location_alerts
        .iter()
        .fold(Answers::default(), |a, b| Answers {
            yes: a.yes + b.values.yes,
            no: a.no + b.values.no,
            wrong_location: a.wrong_location + b.values.wrong_location,
            unanswered: a.unanswered + b.values.unanswered,
        });
    let summaries = r.incident_summaries();
    let cards = vec![
        Card {
            key: "attempts",
            label: "login attempts",
            value: r.totals.attempts,
        },
        Card {
            key: "successes",
            label: "successful",
            value: r.totals.successes,
        },
        Card {
            key: "denied",
            label: "denied by Warden",
            value: r.totals.denied,
        },
        Card {
            key: "challenged",
            label: "challenged",
            value: r.totals.challenged,
        },
        Card {
            key: "users",
            label: "users who logged in or tried",
            value: r.totals.users,
        },
        Card {
            key: "countries",
            label: "countries",
            value: r.countries.iter().filter(|c| c.country.is_some()).count() as u64,
        },
        Card {
            key: "location-alerts",
            label: "unusual-location alerts",
            value: alerts_total.total(),
        },
        Card {
            key: "incidents",
            label: "incidents opened",
            value: r.incidents.len() as u64,
        },
    ];
    let points: Vec<svg::MapPoint> = r
        .cities
        .iter()
        .filter_map(|c| {
            let (lat, lon) = c.coords?;
            Some(svg::MapPoint {
                lat,
                lon,
                value: c.attempts,
                refused_share: if c.attempts == 0 {
                    0.0
                } else {
                    c.denied as f64 / c.attempts as f64
                },
                label: c.city.clone().unwrap_or_else(|| c.label()),
            })
        })
        .collect();
    let place_row = |p: &warden_service::reports::PlaceFigure, label: String| PlaceRow {
        label,
        attempts: p.attempts,
        successes: p.successes,
        denied: p.denied,
    };
    let country_bars: Vec<(String, u64)> = r
        .countries
        .iter()
        .take(12)
        .map(|c| (c.country_name.clone(), c.attempts))
        .collect();
    let answer_series = [
        svg::Series {
            name: "Yes, it was me",
            color: "#2e8b57",
        },
        svg::Series {
            name: "No, it wasn't me",
            color: "#c0392b",
        },
        svg::Series {
            name: "Wrong location",
            color: "#d4ac0d",
        },
        svg::Series {
            name: "Unanswered",
            color: "#a0aab2",
        },
    ];
    let weeks: Vec<(String, Vec<u64>)> = r
        .location_alerts
        .iter()
        .map(|b| {
            let a = &b.values;
            (
                b.start.strftime("%b %d").to_string(),
                vec![a.yes, a.no, a.wrong_location, a.unanswered],
            )
        })
        .collect();
    let kind_series: Vec<svg::Series<'_>> = RefusalKind::ALL
        .iter()
        .map(|k| svg::Series {
            name: kind_label(*k),
            color: kind_color(*k),
        })
        .collect();
    let refusal_columns: Vec<(String, Vec<u64>)> = r
        .refusals
        .iter()
        .map(|b| (b.start.strftime("%b %d").to_string(), b.values.to_vec()))
        .collect();
    let refusal_totals = RefusalKind::ALL
        .iter()
        .enumerate()
        .map(|(i, k)| KindTotal {
            key: k.as_str(),
            label: kind_label(*k),
            count: r.refusals.iter().map(|b| b.values[i]).sum(),
        })
        .collect();
    let a = &r.adoption;
    View {
        title: format!("Security report — {} — {period}", r.organisation),
        organisation: r.organisation.clone(),
        days: r.period.days(),
        period,
        tz: tz_label(offset),
        generated: local(r.generated_at, offset),
        cards,
        on_map: points.len(),
        off_map: r.cities.len() - points.len(),
        map_svg: svg::bubble_map(&points, MAP_LABELS, "Map of login attempts by city"),
        countries_svg: svg::bars(&country_bars, "#2f6fb3", "Login attempts by country"),
        countries: r
            .countries
            .iter()
            .take(TABLE_ROWS)
            .map(|c| place_row(c, c.country_name.clone()))
            .collect(),
        countries_more: r.countries.len().saturating_sub(TABLE_ROWS),
        cities: r
            .cities
            .iter()
            .take(TABLE_ROWS)
            .map(|c| place_row(c, c.label()))
            .collect(),
        cities_more: r.cities.len().saturating_sub(TABLE_ROWS),
        cities_total: r.cities.len(),
        alerts_svg: svg::stacked_columns(
            &weeks,
            &answer_series,
            "Unusual-location alerts per week by answer",
        ),
        alert_weeks: r
            .location_alerts
            .iter()
            .map(|b| week_row(b.start.to_string(), &b.values))
            .collect(),
        alert_total: week_row(String::new(), &alerts_total),
        risky_users: r.risky_users.iter().map(risky_row).collect(),
        risky_addresses: r.risky_addresses.iter().map(risky_row).collect(),
        refusals_svg: svg::stacked_columns(
            &refusal_columns,
            &kind_series,
            "Refused logins over time by kind",
        ),
        refusal_unit: if r.refusal_bucket_days == 1 {
            "day"
        } else {
            "week"
        },
        refusal_totals,
        adoption: AdoptionView {
            accounts: a.accounts,
            with_totp: a.with_totp,
            with_codes: a.with_codes,
            totp_svg: svg::meter(a.with_totp, a.accounts, "#2e8b57", "Accounts with TOTP"),
            codes_svg: svg::meter(
                a.with_codes,
                a.accounts,
                "#2f6fb3",
                "Accounts with authorization codes",
            ),
        },
        incident_grades: summaries
            .iter()
            .map(|s| GradeRow {
                key: s.grade.map_or("total", |g| g.as_str()),
                grade: s.grade.map_or("All".to_string(), |g| {
                    format!("{} — {}", g.as_str(), g.meaning())
                }),
                opened: s.opened,
                contained: s.contained,
                closed: s.closed,
                to_contain: duration(s.median_to_contain),
                to_close: duration(s.median_to_close),
            })
            .collect(),
        incidents: r
            .incidents
            .iter()
            .take(MAX_LISTED_INCIDENTS)
            .map(|i| IncidentRow {
                grade: i.grade.as_str(),
                opened: local(i.opened_at, offset),
                contained: i.contained_at.map_or("—".into(), |t| local(t, offset)),
                closed: i.closed_at.map_or("—".into(), |t| local(t, offset)),
                to_contain: duration(i.to_contain()),
                to_close: duration(i.to_close()),
            })
            .collect(),
        incidents_more: r.incidents.len().saturating_sub(MAX_LISTED_INCIDENTS),
    }
}

/// The report as one HTML page.
pub fn render(report: &SecurityReport) -> Result<String, ApiError> {
    env()
        .get_template(TEMPLATE)
        .and_then(|t| t.render(view(report)))
        .map_err(|e| ApiError::Internal(format!("the security report did not render: {e}")))
}

/// The page with its headers: HTML, never cached, never framed, and a CSP
/// that allows nothing but the inline styles (no script, no request).
fn html(body: String) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// The security report of a period as one self-contained HTML page.
#[utoipa::path(
    get,
    path = "/v1/reports/security",
    tag = "reports",
    params(ReportParams),
    responses(
        (status = 200, description = "The report: one self-contained HTML page (inline CSS and SVG, no script, no external request)", content_type = "text/html", body = String),
        (status = 400, description = "A date that is not YYYY-MM-DD or not a real day, only one of from and to, from after to, or a period over 366 days", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn security<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let report = state
        .service
        .security_report(p.from.as_deref(), p.to.as_deref())
        .await?;
    let body = state.credentials.cpu.run(move || render(&report)).await??;
    Ok(html(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::Date;
    use warden_service::reports::{
        Bucket, IncidentFigure, IncidentGrade, Period, PlaceFigure, SecurityReport,
    };
    use warden_store::{Adoption, LoginTotals};

    fn report() -> SecurityReport {
        let period = Period::resolve(
            Some("2026-11-01"),
            Some("2026-11-30"),
            Timestamp(1_796_328_000),
            480,
        )
        .unwrap();
        let start = period.start().secs();
        SecurityReport {
            organisation: "<b>Acme</b> & Co".into(),
            period,
            generated_at: Timestamp(1_796_328_000),
            totals: LoginTotals {
                attempts: 10,
                successes: 7,
                denied: 2,
                challenged: 1,
                users: 3,
            },
            countries: vec![],
            cities: vec![PlaceFigure {
                country: Some("NG".into()),
                country_name: "Nigeria".into(),
                region: Some("Lagos".into()),
                city: Some("<img src=x onerror=alert(1)>".into()),
                attempts: 4,
                successes: 0,
                denied: 4,
                coords: Some((6.5, 3.4)),
            }],
            location_alerts: vec![Bucket {
                start: Date::constant(2026, 11, 1),
                values: Answers {
                    yes: 1,
                    no: 2,
                    wrong_location: 0,
                    unanswered: 3,
                },
            }],
            risky_users: vec![RiskyFigure {
                key: "\"><script>alert(1)</script>".into(),
                denied: 2,
                challenged: 0,
                max_risk: 0.934,
                others: 1,
                country_name: None,
            }],
            risky_addresses: vec![],
            refusals: vec![],
            refusal_bucket_days: 1,
            adoption: Adoption {
                accounts: 4,
                with_totp: 1,
                with_codes: 2,
            },
            incidents: vec![
                IncidentFigure {
                    grade: IncidentGrade::L1,
                    opened_at: Timestamp(start + 3_600),
                    contained_at: Some(Timestamp(start + 3_600 + 40 * 60)),
                    closed_at: Some(Timestamp(start + 3_600 + 3 * 86_400)),
                },
                IncidentFigure {
                    grade: IncidentGrade::L1,
                    opened_at: Timestamp(start + 86_400),
                    contained_at: Some(Timestamp(start + 86_400 + 20 * 60)),
                    closed_at: None,
                },
                IncidentFigure {
                    grade: IncidentGrade::L3,
                    opened_at: Timestamp(start + 2 * 86_400),
                    contained_at: None,
                    closed_at: None,
                },
            ],
        }
    }

    #[test]
    fn the_page_escapes_every_text_and_has_no_script_or_external_reference() {
        let html = render(&report()).unwrap();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;b&gt;Acme&lt;&#x2f;b&gt; &amp; Co"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
        // The only addresses are the SVG namespace and the DB-IP credit.
        for (i, _) in html.match_indices("http") {
            let rest = &html[i..];
            assert!(
                rest.starts_with("http://www.w3.org/2000/svg")
                    || rest.starts_with("https://db-ip.com"),
                "{}",
                &rest[..rest.len().min(60)]
            );
        }
        assert!(
            html.contains("Security report — &lt;b&gt;Acme"),
            "the title names the organisation"
        );
        assert!(html.contains("2026-11-01 – 2026-11-30"), "and the period");
        assert!(html.contains("UTC+8"));
    }

    #[test]
    fn incidents_are_summed_per_grade_with_median_times() {
        let html = render(&report()).unwrap();
        let v = view(&report());
        let l1 = &v.incident_grades[0];
        assert_eq!((l1.opened, l1.contained, l1.closed), (2, 2, 1));
        assert_eq!(l1.to_contain, "30 min", "median of 40 and 20 minutes");
        assert_eq!(l1.to_close, "3.0 d");
        assert_eq!(v.incident_grades[2].opened, 1);
        assert_eq!(v.incident_grades[2].to_contain, "—");
        assert_eq!(v.incident_grades[3].opened, 3, "the total");
        assert_eq!(v.incidents.len(), 3);
        assert_eq!(
            v.incidents[0].opened, "2026-11-01 01:00",
            "local time at UTC+8"
        );
        assert!(html.contains(r#"data-figure="incidents-L1">2<"#), "{html}");
        assert!(html.contains("L3 — data tampering or exfiltration"));
        // Without incidents the section says so.
        let mut none = report();
        none.incidents.clear();
        let html = render(&none).unwrap();
        assert!(html.contains("No incidents were opened in this period."));
    }

    #[test]
    fn tables_list_the_largest_places_and_the_map_shows_every_city() {
        let mut r = report();
        let city = r.cities[0].clone();
        r.cities = (0..25)
            .map(|i| PlaceFigure {
                city: Some(format!("City {i}")),
                attempts: 100 - i,
                coords: (i % 5 != 0).then_some((i as f32, i as f32)),
                ..city.clone()
            })
            .collect();
        let v = view(&r);
        assert_eq!(v.cities.len(), TABLE_ROWS);
        assert_eq!((v.cities_more, v.cities_total), (5, 25));
        assert_eq!((v.on_map, v.off_map), (20, 5), "five have no coordinates");
        assert_eq!(v.map_svg.matches("<circle").count(), 20);
        let html = render(&r).unwrap();
        assert!(html.contains("And 5 more cities (on the map)."), "{html}");
        assert!(
            html.contains("20 of 25 cities placed; 5 not placed"),
            "{html}"
        );
    }

    #[test]
    fn durations_and_offsets_read_well() {
        assert_eq!(duration(None), "—");
        assert_eq!(duration(Some(0)), "0 min");
        assert_eq!(duration(Some(61)), "2 min");
        assert_eq!(duration(Some(5_400)), "1.5 h");
        assert_eq!(duration(Some(3 * 86_400)), "3.0 d");
        assert_eq!(tz_label(0), "UTC");
        assert_eq!(tz_label(480), "UTC+8");
        assert_eq!(tz_label(-210), "UTC-3:30");
    }
}
