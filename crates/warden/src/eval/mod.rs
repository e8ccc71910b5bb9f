//! `warden eval --events F --labels F [--out DIR] [--baseline freeman]`:
//! replays a labelled login stream (from `warden simulate`) through the
//! engine exactly as `warden replay` does, and reports how well it catches
//! the attacks at what friction for legit users ([`metrics`]). With the
//! baseline, the plain Freeman model of `warden_core::stats` scores every
//! event too, so both catch rates are printed side by side at the same
//! friction. Output: a readable table, `summary.json` and `roc.svg`, each
//! saying whether geo data was used ([`GeoMode`]: the command refuses to
//! run without it unless given `--no-geo`) and how successes were learned
//! ([`LearnMode`]: by default as under enforcement, so an attacker's later
//! logins are judged against a profile that did not learn the first one).
//! The baseline learns from the same successes Warden learned as trusted
//! (every success in literal mode), so both judge the same history.

pub mod metrics;
pub mod plot;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use warden_core::stats::Freeman;
use warden_core::{Engine, Policy};
use warden_geo::IpIntel;

pub use metrics::{Label, LabelKind, Report, Scored};

use crate::replay::{observe, parse_event, GeoMode, LearnMode};

/// What to evaluate and where to write.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub events: PathBuf,
    pub labels: PathBuf,
    pub out: Option<PathBuf>,
    /// Also score with the plain Freeman model.
    pub baseline: bool,
    /// The geo data the events are judged with (named in the outputs).
    pub geo: GeoMode,
    /// How successes teach the profiles (named in the outputs).
    pub learn: LearnMode,
}

/// `summary.json`: the report and the geo data it was made with.
#[derive(serde::Serialize)]
struct Summary<'a> {
    geo: String,
    learn: &'static str,
    #[serde(flatten)]
    report: &'a Report,
}

/// Scores every event of the stream; errors name the line.
pub fn score<E: BufRead, L: BufRead>(
    events: E,
    labels: L,
    policy: Policy,
    intel: &IpIntel,
    baseline: bool,
    learn: LearnMode,
) -> anyhow::Result<Vec<Scored>> {
    let mut engine = Engine::new(policy)?;
    let mut freeman = baseline.then(Freeman::new);
    let mut out = Vec::new();
    let mut labels = labels.lines();
    for (i, line) in events.lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("reading events line {n}"))?;
        let label = labels
            .next()
            .with_context(|| format!("labels end before events line {n}"))?
            .with_context(|| format!("reading labels line {n}"))?;
        let label: Label = serde_json::from_str(&label)
            .with_context(|| format!("labels line {n} is not a label"))?;
        if label.label == LabelKind::Attack && label.campaign.is_none() {
            bail!("labels line {n}: an attack without a campaign");
        }
        let event = parse_event(&line).with_context(|| format!("events line {n}"))?;
        if label.label == LabelKind::Attack && event.challenge_passed {
            bail!("events line {n}: an attacker's login cannot pass a challenge");
        }
        let (attempt, outcome) = (&event.attempt, event.outcome);
        let ip = intel.lookup(attempt.ip);
        let b = freeman.as_ref().map(|f| f.score(attempt, &ip));
        let (a, learned) = observe(&mut engine, &event, &ip, learn);
        let trusted = learned.is_success()
            && (learn == LearnMode::Literal
                || warden_core::Trust::of(&a, event.challenge_passed).is_trusted());
        if let Some(f) = freeman.as_mut().filter(|_| trusted) {
            f.learn(attempt, &ip);
        }
        if n % 10_000 == 0 {
            engine.prune(attempt.ts);
        }
        out.push(Scored {
            label,
            success: outcome.is_success(),
            decision: a.decision,
            risk: f64::from(a.risk),
            alert: a.alert,
            baseline: b,
        });
    }
    if labels.next().is_some() {
        bail!("labels has more lines than events ({})", out.len());
    }
    Ok(out)
}

fn pct(r: f64) -> String {
    format!("{:.1} %", r * 100.0)
}

fn share(s: &metrics::Share) -> String {
    if s.of == 0 {
        "—".into()
    } else {
        format!("{} ({}/{})", pct(s.rate()), s.hits, s.of)
    }
}

/// The report as a readable table.
pub fn table(r: &Report) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} events, {} legit successful logins, {} attack events\n",
        r.events, r.legit_logins, r.attack_events
    );
    let baseline = r.baseline.is_some();
    let freeman = |s: Option<metrics::Share>| {
        if baseline {
            format!(" {} |", share(&s.unwrap_or_default()))
        } else {
            String::new()
        }
    };
    let _ = writeln!(
        t,
        "| attack | campaigns | first login caught |{} every attacker login caught |{} campaigns alerted | guesses denied | brute force after 10th denied |",
        if baseline { " Freeman, same friction |" } else { "" },
        if baseline { " Freeman, same friction |" } else { "" }
    );
    let _ = writeln!(
        t,
        "|---|---|---|{}---|{}---|---|---|",
        if baseline { "---|" } else { "" },
        if baseline { "---|" } else { "" }
    );
    for (kind, a) in &r.attacks {
        let _ = writeln!(
            t,
            "| {kind} | {} | {} |{} {} |{} {} | {} | {} |",
            a.campaigns,
            share(&a.first_login_caught),
            freeman(a.baseline_first_login_caught),
            share(&a.every_login_caught),
            freeman(a.baseline_every_login_caught),
            share(&a.campaigns_alerted),
            share(&a.guesses_denied),
            share(&a.after_tenth_denied)
        );
    }
    let sum = |f: fn(&metrics::AttackStats) -> Option<metrics::Share>| {
        r.attacks.values().filter_map(f).fold(None, |acc, s| {
            let mut all: metrics::Share = acc.unwrap_or_default();
            all.hits += s.hits;
            all.of += s.of;
            Some(all)
        })
    };
    let _ = writeln!(
        t,
        "| **all** | | {} |{} {} |{} {} | {} | |\n",
        share(&r.first_login_caught),
        freeman(sum(|a| a.baseline_first_login_caught)),
        share(&r.every_login_caught),
        freeman(sum(|a| a.baseline_every_login_caught)),
        share(&r.campaigns_alerted),
        share(&r.guesses_denied)
    );
    let _ = writeln!(
        t,
        "| legit behaviour | friction (challenged or denied) | alerts |"
    );
    let _ = writeln!(t, "|---|---|---|");
    for (kind, l) in &r.legit {
        let _ = writeln!(
            t,
            "| {kind} | {} | {} |",
            share(&l.friction),
            share(&l.alerts)
        );
    }
    let _ = writeln!(
        t,
        "| **all** | {} | {:.2} per 1000 |\n",
        share(&r.friction),
        r.alerts_per_1000
    );
    let _ = writeln!(
        t,
        "| first-login catch rate at friction | Warden (risk score) | Freeman baseline |"
    );
    let _ = writeln!(t, "|---|---|---|");
    for (i, (f, w)) in r.warden.catch_at.iter().enumerate() {
        let b = r
            .baseline
            .as_ref()
            .and_then(|b| b.catch_at.get(i))
            .map_or("—".to_string(), |(_, c)| pct(*c));
        let label = if i == r.warden.catch_at.len() - 1 {
            format!("{} (Warden's own decisions)", pct(*f))
        } else {
            pct(*f)
        };
        let _ = writeln!(t, "| {label} | {} | {b} |", pct(*w));
    }
    let _ = writeln!(
        t,
        "| AUC | {:.4} | {} |",
        r.warden.auc,
        r.baseline
            .as_ref()
            .map_or("—".to_string(), |b| format!("{:.4}", b.auc))
    );
    t
}

/// Runs the evaluation; writes `summary.json`, `table.md` and `roc.svg`
/// into `out` when given. Returns the report and its table, which starts
/// with the geo mode.
pub fn run(
    opts: &EvalOptions,
    policy: Policy,
    intel: &IpIntel,
) -> anyhow::Result<(Report, String)> {
    let open = |p: &Path| -> anyhow::Result<BufReader<File>> {
        Ok(BufReader::new(
            File::open(p).with_context(|| format!("opening {}", p.display()))?,
        ))
    };
    let scored = score(
        open(&opts.events)?,
        open(&opts.labels)?,
        policy,
        intel,
        opts.baseline,
        opts.learn,
    )?;
    let report = metrics::report(&scored);
    let text = format!("{}\n{}\n\n{}", opts.geo, opts.learn, table(&report));
    if let Some(dir) = &opts.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let summary = Summary {
            geo: opts.geo.to_string(),
            learn: opts.learn.as_str(),
            report: &report,
        };
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(&summary)?,
        )?;
        std::fs::write(dir.join("table.md"), &text)?;
        std::fs::write(dir.join("roc.svg"), plot::roc_svg(&report))?;
    }
    Ok((report, text))
}
