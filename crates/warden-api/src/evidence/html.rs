//! The printable HTML report of an evidence bundle: the same bundle as the
//! signed file, read for people (incident, steps with their SLA, timeline,
//! logins with places and networks, alerts and answers, actions, review,
//! and the proof: the key's fingerprint and how to verify the file).
//!
//! Rendered by minijinja with auto-escaping (every value from the bundle
//! is escaped; nothing is marked safe), inline CSS with print rules, no
//! script and no external request (the page is served with a CSP that
//! allows inline styles only).

use std::sync::OnceLock;

use minijinja::Environment;
use serde::Serialize;
use warden_audit::bundle::EvidenceBundle;
use warden_core::{countries, Country, Timestamp};

use crate::types::rfc3339;

const TEMPLATE: &str = "report.html";

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html`: every value is HTML-escaped unless marked safe (none is).
        env.add_template(TEMPLATE, include_str!("report.html"))
            .expect("the evidence report's template parses");
        env.set_fuel(Some(50_000_000));
        env
    })
}

#[derive(Serialize)]
struct Stage {
    name: &'static str,
    at: String,
}

#[derive(Serialize)]
struct Step<'a> {
    title: &'a str,
    owner: &'a str,
    kind: &'a str,
    due_at: String,
    done_at: Option<String>,
    done_by: Option<&'a str>,
    late: bool,
    note: &'a str,
}

#[derive(Serialize)]
struct IncidentView<'a> {
    id: i64,
    title: &'a str,
    grade: &'a str,
    grade_text: &'a str,
    status: &'a str,
    assignee: Option<&'a str>,
    opened_at: String,
    opened_by: &'a str,
    trigger: &'a str,
    stages: Vec<Stage>,
    users: &'a [String],
    addresses: &'a [String],
    devices: &'a [String],
    steps: Vec<Step<'a>>,
}

#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    at: String,
    summary: &'a str,
    actor: &'a str,
    user: &'a str,
    ip: &'a str,
}

#[derive(Serialize)]
struct Reason<'a> {
    code: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct Login<'a> {
    at: String,
    user: &'a str,
    ip: &'a str,
    place: String,
    network: String,
    protocol: &'a str,
    outcome: &'a str,
    decision: &'a str,
    risk: String,
    reasons: Vec<Reason<'a>>,
}

#[derive(Serialize)]
struct AlertLine<'a> {
    id: i64,
    at: String,
    kind: &'a str,
    grade: &'a str,
    user: &'a str,
    ip: &'a str,
    state: &'a str,
    answer: &'a str,
    answered_at: Option<String>,
}

#[derive(Serialize)]
struct Action<'a> {
    seq: u64,
    at: String,
    action: &'a str,
    by: &'a str,
    user: &'a str,
    result: &'a str,
}

#[derive(Serialize)]
struct ReviewView<'a> {
    root_cause: &'a str,
    what_worked: &'a str,
    what_to_change: &'a str,
    by: &'a str,
    at: String,
}

#[derive(Serialize)]
struct Proof {
    first: u64,
    last: u64,
    whole: usize,
    redacted: usize,
    signed_seq: u64,
    signed_at: String,
}

#[derive(Serialize)]
struct View<'a> {
    i: IncidentView<'a>,
    generated_at: String,
    generated_by: &'a str,
    timeline: Vec<Line<'a>>,
    logins: Vec<Login<'a>>,
    alerts: Vec<AlertLine<'a>>,
    actions: Vec<Action<'a>>,
    review: Option<ReviewView<'a>>,
    proof: Proof,
    key: String,
    fingerprint: &'a str,
}

fn t(ts: Timestamp) -> String {
    rfc3339(ts)
}

fn place(country: Option<&str>, region: Option<&str>, city: Option<&str>) -> String {
    let country = country.map(|c| match Country::new(c) {
        Ok(code) => format!("{} ({c})", countries::name_en(code)),
        Err(_) => c.to_owned(),
    });
    [city, region, country.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

fn view(b: &EvidenceBundle) -> View<'_> {
    let i = &b.incident;
    let stages = [
        ("Contained", i.contained_at),
        ("Eradicated", i.eradicated_at),
        ("Recovered", i.recovered_at),
        ("Closed", i.closed_at),
    ]
    .into_iter()
    .filter_map(|(name, at)| at.map(|at| Stage { name, at: t(at) }))
    .collect();
    let summary = b.summary();
    View {
        i: IncidentView {
            id: i.id,
            title: &i.title,
            grade: &i.grade,
            grade_text: &i.grade_text,
            status: &i.status,
            assignee: i.assignee.as_deref(),
            opened_at: t(i.opened_at),
            opened_by: &i.opened_by,
            trigger: &i.trigger,
            stages,
            users: &i.affected.users,
            addresses: &i.affected.addresses,
            devices: &i.affected.devices,
            steps: i
                .steps
                .iter()
                .map(|s| Step {
                    title: &s.title,
                    owner: &s.owner,
                    kind: &s.kind,
                    due_at: t(s.due_at),
                    done_at: s.done_at.map(t),
                    done_by: s.done_by.as_deref(),
                    late: s.done_at.is_some_and(|d| d > s.due_at),
                    note: s.note.as_deref().unwrap_or(""),
                })
                .collect(),
        },
        generated_at: t(b.generated_at),
        generated_by: &b.generated_by,
        timeline: b
            .timeline
            .iter()
            .map(|e| Line {
                seq: e.seq,
                at: t(e.at),
                summary: &e.summary,
                actor: &e.actor,
                user: e.user.as_deref().unwrap_or(""),
                ip: e.ip.as_deref().unwrap_or(""),
            })
            .collect(),
        logins: b
            .logins
            .iter()
            .map(|l| Login {
                at: t(l.at),
                user: &l.user,
                ip: &l.ip,
                place: place(l.country.as_deref(), l.region.as_deref(), l.city.as_deref()),
                network: match (l.asn, &l.network) {
                    (Some(asn), Some(n)) => format!("AS{asn} {n}"),
                    (Some(asn), None) => format!("AS{asn}"),
                    (None, Some(n)) => n.clone(),
                    (None, None) => String::new(),
                },
                protocol: &l.protocol,
                outcome: &l.outcome,
                decision: l.decision.as_deref().unwrap_or(""),
                risk: l.risk.map(|r| format!("{r:.2}")).unwrap_or_default(),
                reasons: l
                    .reasons
                    .iter()
                    .map(|r| Reason {
                        code: &r.code,
                        text: &r.text,
                    })
                    .collect(),
            })
            .collect(),
        alerts: b
            .alerts
            .iter()
            .map(|a| AlertLine {
                id: a.id,
                at: t(a.at),
                kind: &a.kind,
                grade: &a.grade,
                user: a.user.as_deref().unwrap_or(""),
                ip: a.ip.as_deref().unwrap_or(""),
                state: &a.state,
                answer: a.answer.as_deref().unwrap_or(""),
                answered_at: a.answered_at.map(t),
            })
            .collect(),
        actions: b
            .actions
            .iter()
            .map(|a| Action {
                seq: a.seq,
                at: t(a.at),
                action: &a.action,
                by: &a.by,
                user: a.user.as_deref().unwrap_or(""),
                result: &a.result,
            })
            .collect(),
        review: i.review.as_ref().map(|r| ReviewView {
            root_cause: &r.root_cause,
            what_worked: &r.what_worked,
            what_to_change: &r.what_to_change,
            by: &r.by,
            at: t(r.at),
        }),
        proof: Proof {
            first: b.excerpt.after_seq + 1,
            last: b.excerpt.after_seq + b.excerpt.items.len() as u64,
            whole: summary.whole,
            redacted: summary.redacted,
            signed_seq: summary.signed_seq,
            signed_at: t(summary.signed_at),
        },
        key: b.instance.public_key.to_hex(),
        fingerprint: &b.instance.fingerprint,
    }
}

/// The bundle as one HTML page.
pub fn render(bundle: &EvidenceBundle) -> Result<String, minijinja::Error> {
    env().get_template(TEMPLATE)?.render(view(bundle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_audit::AuditSigner;

    #[test]
    fn the_report_escapes_every_value_and_shows_the_proof() {
        let signer = AuditSigner::from_seed(&[5; 32]).unwrap();
        let (mut b, _) = super::super::fixture::signed(&signer);
        b.incident.assignee = Some("\"><img src=x onerror=alert(1)>".into());
        b.logins.push(warden_audit::bundle::BundleLogin {
            at: Timestamp(150),
            user: "alice@example.com".into(),
            ip: "105.112.7.7".into(),
            protocol: "imap".into(),
            outcome: "success".into(),
            country: Some("NG".into()),
            region: Some("Lagos".into()),
            city: Some("<b>Ikeja</b>".into()),
            asn: Some(36873),
            network: Some("Airtel & Co".into()),
            decision: Some("allow".into()),
            risk: Some(0.81),
            reasons: vec![warden_audit::bundle::BundleReason {
                code: "unusual_country".into(),
                text: "a country <script>".into(),
            }],
            audit_seq: None,
        });
        let page = render(&b).unwrap();
        for raw in ["<script>", "<img", "<b>Ikeja"] {
            assert!(!page.contains(raw), "{raw} unescaped");
        }
        assert!(page.contains("Alice &lt;script&gt;"), "{page}");
        assert!(
            page.contains("&lt;b&gt;Ikeja&lt;&#x2f;b&gt;, Lagos, Nigeria (NG)"),
            "{page}"
        );
        assert!(page.contains("AS36873 Airtel &amp; Co"));
        assert!(page.contains("IP geolocation by <a href=\"https://db-ip.com\">DB-IP</a>"));
        assert!(page.contains(&b.instance.fingerprint));
        assert!(page.contains("warden audit verify --bundle FILE"));
        assert!(page.contains("@media print"));
        assert_eq!(
            page.matches("<tr><td class=\"mono\">#").count(),
            6,
            "3 timeline lines and 3 actions"
        );
    }
}
