//! The detection metrics of `warden eval`, from scored and labelled events:
//! catch rates per attack kind, friction per legit behaviour, alerts, the
//! ROC curve with its AUC, and catch rates at fixed friction. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use warden_core::Decision;

/// One line of `labels.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// `legit` or `attack`.
    pub label: LabelKind,
    /// The behaviour or attack kind (`office`, `stuffing`, ...).
    pub kind: String,
    /// The attack campaign; `null` for legit events.
    #[serde(default)]
    pub campaign: Option<String>,
    /// `guess`, `login`, `use` (attacks) or `legit`.
    #[serde(default = "legit_phase")]
    pub phase: String,
}

fn legit_phase() -> String {
    "legit".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    Legit,
    Attack,
}

/// What the evaluation saw for one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub label: Label,
    pub success: bool,
    pub decision: Decision,
    pub risk: f64,
    pub alert: bool,
    /// The baseline model's score (higher is more suspicious), when run.
    pub baseline: Option<f64>,
}

impl Scored {
    fn caught(&self) -> bool {
        self.decision != Decision::Allow
    }
}

/// A share with its parts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Share {
    pub hits: u64,
    pub of: u64,
}

impl Share {
    fn add(&mut self, hit: bool) {
        self.of += 1;
        self.hits += u64::from(hit);
    }

    /// The share in [0, 1]; 0 when there is nothing to share.
    pub fn rate(&self) -> f64 {
        if self.of == 0 {
            0.0
        } else {
            self.hits as f64 / self.of as f64
        }
    }
}

/// Per attack kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AttackStats {
    /// Campaigns whose first successful attacker login was challenged or
    /// denied (of the campaigns that had a successful login).
    pub first_login_caught: Share,
    /// Every successful attacker login challenged or denied.
    pub every_login_caught: Share,
    /// Campaigns with at least one successful login of which at least one
    /// raised an alert (the user and the admins are told).
    pub campaigns_alerted: Share,
    /// Guessing attempts (phase `guess`) denied.
    pub guesses_denied: Share,
    /// Brute force only: attempts after the tenth of a campaign denied.
    pub after_tenth_denied: Share,
    pub campaigns: u64,
    /// First logins the baseline flags at the friction of Warden's own
    /// decisions (only with a baseline).
    pub baseline_first_login_caught: Option<Share>,
    /// Every successful attacker login the baseline flags at that friction.
    pub baseline_every_login_caught: Option<Share>,
}

/// Per legit behaviour.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LegitStats {
    /// Successful logins challenged or denied.
    pub friction: Share,
    /// Successful logins with an alert.
    pub alerts: Share,
}

/// A point of a ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RocPoint {
    /// Share of legit successful logins at or above the threshold.
    pub fpr: f64,
    /// Share of first attacker logins at or above the threshold.
    pub tpr: f64,
}

/// A score's ROC curve, AUC and catch rates at fixed friction.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Roc {
    pub auc: f64,
    /// (friction, catch rate) at 0.1 %, 0.5 %, 1 %, 2 % and at Warden's own
    /// decision friction.
    pub catch_at: Vec<(f64, f64)>,
    pub points: Vec<RocPoint>,
}

/// Everything `warden eval` reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub events: u64,
    pub legit_logins: u64,
    pub attack_events: u64,
    pub attacks: BTreeMap<String, AttackStats>,
    pub legit: BTreeMap<String, LegitStats>,
    /// Over every attack kind.
    pub first_login_caught: Share,
    pub every_login_caught: Share,
    pub campaigns_alerted: Share,
    pub guesses_denied: Share,
    /// Over every legit behaviour.
    pub friction: Share,
    pub alerts_per_1000: f64,
    pub warden: Roc,
    pub baseline: Option<Roc>,
}

/// Friction levels the catch rate is reported at.
pub const FRICTIONS: [f64; 4] = [0.001, 0.005, 0.01, 0.02];

/// Kinds whose attempts are guesses at passwords.
const GUESSING: [&str; 3] = ["stuffing", "spraying", "brute_force"];

/// Computes the report from the scored events, in event order.
pub fn report(scored: &[Scored]) -> Report {
    let mut r = Report {
        events: scored.len() as u64,
        ..Report::default()
    };
    let mut first_seen: BTreeMap<&str, bool> = BTreeMap::new();
    // Per campaign with a successful login: its kind and whether any of
    // its successes raised an alert.
    let mut alerted: BTreeMap<&str, (&str, bool)> = BTreeMap::new();
    // Baseline scores of every successful attacker login, with the kind.
    let mut success_scores = Vec::new();
    let mut attempts: BTreeMap<&str, u64> = BTreeMap::new();
    // (score, baseline score) of legit logins and of first attacker logins.
    let mut legit_scores = Vec::new();
    let mut first_scores = Vec::new();
    for s in scored {
        match s.label.label {
            LabelKind::Legit => {
                if !s.success {
                    continue;
                }
                r.legit_logins += 1;
                let l = r.legit.entry(s.label.kind.clone()).or_default();
                l.friction.add(s.caught());
                l.alerts.add(s.alert);
                r.friction.add(s.caught());
                legit_scores.push((s.risk, s.baseline));
            }
            LabelKind::Attack => {
                r.attack_events += 1;
                let campaign = s.label.campaign.as_deref().unwrap_or("");
                let a = r.attacks.entry(s.label.kind.clone()).or_default();
                let n = attempts.entry(campaign).or_insert(0);
                if *n == 0 {
                    a.campaigns += 1;
                }
                *n += 1;
                if s.label.phase == "guess" && GUESSING.contains(&s.label.kind.as_str()) {
                    let denied = s.decision == Decision::Deny;
                    a.guesses_denied.add(denied);
                    r.guesses_denied.add(denied);
                    if s.label.kind == "brute_force" && *n > 10 {
                        a.after_tenth_denied.add(denied);
                    }
                }
                if s.success {
                    a.every_login_caught.add(s.caught());
                    r.every_login_caught.add(s.caught());
                    alerted
                        .entry(campaign)
                        .or_insert((s.label.kind.as_str(), false))
                        .1 |= s.alert;
                    success_scores.push((s.baseline, s.label.kind.as_str()));
                    if !first_seen.contains_key(campaign) {
                        first_seen.insert(campaign, true);
                        a.first_login_caught.add(s.caught());
                        r.first_login_caught.add(s.caught());
                        first_scores.push((s.risk, s.baseline, s.label.kind.as_str()));
                    }
                }
            }
        }
    }
    for (kind, told) in alerted.into_values() {
        r.attacks
            .entry(kind.to_string())
            .or_default()
            .campaigns_alerted
            .add(told);
        r.campaigns_alerted.add(told);
    }
    let alerts: u64 = r.legit.values().map(|l| l.alerts.hits).sum();
    r.alerts_per_1000 = if r.legit_logins == 0 {
        0.0
    } else {
        alerts as f64 * 1000.0 / r.legit_logins as f64
    };
    let own_friction = r.friction.rate();
    let warden_legit: Vec<f64> = legit_scores.iter().map(|s| s.0).collect();
    let warden_first: Vec<f64> = first_scores.iter().map(|s| s.0).collect();
    r.warden = roc(&warden_legit, &warden_first, own_friction);
    if scored.iter().any(|s| s.baseline.is_some()) {
        let b_legit: Vec<f64> = legit_scores.iter().filter_map(|s| s.1).collect();
        let b_first: Vec<f64> = first_scores.iter().filter_map(|s| s.1).collect();
        let flagged = flagged_within(&b_legit, own_friction);
        for &(_, b, kind) in &first_scores {
            let a = r.attacks.entry(kind.to_string()).or_default();
            a.baseline_first_login_caught
                .get_or_insert_with(Share::default)
                .add(b.is_some_and(&flagged));
        }
        for &(b, kind) in &success_scores {
            let a = r.attacks.entry(kind.to_string()).or_default();
            a.baseline_every_login_caught
                .get_or_insert_with(Share::default)
                .add(b.is_some_and(&flagged));
        }
        r.baseline = Some(roc(&b_legit, &b_first, own_friction));
    }
    r
}

/// Which scores the best threshold flags while flagging at most `friction`
/// of `negatives`: those above the highest negative score it must let pass.
fn flagged_within(negatives: &[f64], friction: f64) -> impl Fn(f64) -> bool {
    let mut sorted = negatives.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let allowed = (friction * sorted.len() as f64 + 1e-9).floor() as usize;
    let pass = sorted.get(allowed).copied().unwrap_or(f64::NEG_INFINITY);
    move |score| score > pass
}

/// The ROC curve of `positives` against `negatives` (higher score =
/// flagged), its AUC, and the catch rate at each of [`FRICTIONS`] and at
/// `own_friction`: the largest true-positive rate whose false-positive rate
/// does not exceed the friction.
pub fn roc(negatives: &[f64], positives: &[f64], own_friction: f64) -> Roc {
    if negatives.is_empty() || positives.is_empty() {
        return Roc::default();
    }
    let mut all: Vec<(f64, bool)> = negatives
        .iter()
        .map(|&s| (s, false))
        .chain(positives.iter().map(|&s| (s, true)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (n, p) = (negatives.len() as f64, positives.len() as f64);
    let mut points = vec![RocPoint { fpr: 0.0, tpr: 0.0 }];
    let (mut fp, mut tp) = (0.0, 0.0);
    let mut i = 0;
    while i < all.len() {
        // Ties move together: one threshold admits them all.
        let score = all[i].0;
        while i < all.len() && all[i].0 == score {
            if all[i].1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        points.push(RocPoint {
            fpr: fp / n,
            tpr: tp / p,
        });
    }
    let auc = points
        .windows(2)
        .map(|w| (w[1].fpr - w[0].fpr) * (w[1].tpr + w[0].tpr) / 2.0)
        .sum();
    let catch = |f: f64| {
        points
            .iter()
            .filter(|pt| pt.fpr <= f + 1e-12)
            .map(|pt| pt.tpr)
            .fold(0.0, f64::max)
    };
    let mut catch_at: Vec<(f64, f64)> = FRICTIONS.iter().map(|&f| (f, catch(f))).collect();
    catch_at.push((own_friction, catch(own_friction)));
    Roc {
        auc,
        catch_at,
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_score_has_auc_one_and_a_useless_one_half() {
        let perfect = roc(&[0.1, 0.2, 0.3], &[0.8, 0.9], 0.0);
        assert!((perfect.auc - 1.0).abs() < 1e-12);
        assert_eq!(perfect.catch_at[0].1, 1.0);
        let useless = roc(&[0.5, 0.5], &[0.5, 0.5], 0.0);
        assert!((useless.auc - 0.5).abs() < 1e-12);
        // At zero friction nothing tied with a legit login is caught.
        assert_eq!(useless.catch_at.last().unwrap().1, 0.0);
    }

    #[test]
    fn catch_rate_at_friction_takes_the_best_threshold_within_it() {
        // 100 legit at 0..99, attackers at 98.5 and 200.
        let legit: Vec<f64> = (0..100).map(f64::from).collect();
        let r = roc(&legit, &[98.5, 200.0], 0.0);
        // No friction allowed: only the attacker above every legit login.
        let at_01 = r.catch_at.iter().find(|(f, _)| *f == 0.001).unwrap().1;
        assert_eq!(at_01, 0.5, "{:?}", r.catch_at);
        // 1 % admits the legit 99, and with it the attacker at 98.5.
        let at_1 = r.catch_at.iter().find(|(f, _)| *f == 0.01).unwrap().1;
        assert_eq!(at_1, 1.0, "{:?}", r.catch_at);
    }
}
