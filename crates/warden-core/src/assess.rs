//! Combining the detectors' reasons into one score, level, decision and
//! alert flag. This is the pure function at the heart of Warden:
//! `assess(attempt, ip info, profile, signals, policy) -> Assessment`.

use crate::decision::{Decision, Level, ReasonCode};
use crate::detect::{self, Input};
use crate::reason::Reason;

/// The engine's answer for one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub decision: Decision,
    /// Risk in `[0, 1]`.
    pub risk: f32,
    pub level: Level,
    /// The user and the admin should be told if this login succeeds.
    pub alert: bool,
    /// Strongest first; informational reasons (weight 0) last.
    pub reasons: Vec<Reason>,
}

/// True for the reasons that speak of an attack on the account or from the
/// address (lockouts, access rules, spraying, stuffing), not of habits.
pub fn is_attack(code: ReasonCode) -> bool {
    matches!(
        code,
        ReasonCode::BruteForceLockout
            | ReasonCode::AccessDenied
            | ReasonCode::AccountUnderAttack
            | ReasonCode::PasswordSpraying
            | ReasonCode::CredentialStuffing
    )
}

impl Assessment {
    /// True when a reason speaks of an attack ([`is_attack`]).
    pub fn has_attack_signal(&self) -> bool {
        self.reasons.iter().any(|r| is_attack(r.code))
    }
}

/// Scores one attempt. Pure: same input, same answer.
pub fn assess(i: &Input<'_>) -> Assessment {
    let mut reasons = Vec::new();
    let p = i.policy;
    let learning = detect::learning_period(i);
    let damping = if learning.is_some() {
        p.learning.learning_damping
    } else {
        1.0
    };

    // Profile-based signals: softened while learning.
    let mut profile_reasons = Vec::new();
    detect::unusual_location(i, &mut profile_reasons);
    detect::new_device_or_client(i, &mut profile_reasons);
    detect::unusual_hour(i, &mut profile_reasons);
    detect::statistical(i, &mut profile_reasons);
    for r in &mut profile_reasons {
        r.weight *= damping;
    }
    reasons.append(&mut profile_reasons);
    let travel = detect::impossible_travel(i, &mut reasons);
    detect::concurrent_sessions(i, travel, &mut reasons);
    detect::network(i, &mut reasons);
    let org = detect::known_org_ip(i);
    detect::attacks(i, org.is_some(), &mut reasons);
    reasons.extend(detect::access(i));

    // Independent evidence: 1 - Π(1 - w). Trust in an organisation address
    // removes part of the habit/network risk, never the attack risk.
    let keep = |attack: bool| {
        reasons
            .iter()
            .filter(|r| is_attack(r.code) == attack)
            .fold(1.0f32, |acc, r| acc * (1.0 - r.weight.clamp(0.0, 1.0)))
    };
    let trust = org.as_ref().map_or(0.0, |r| r.weight);
    let habit_risk = (1.0 - keep(false)) * (1.0 - trust);
    let risk = (1.0 - (1.0 - habit_risk) * keep(true)).clamp(0.0, 1.0);

    let t = &p.thresholds;
    let mut level = if risk >= t.high {
        Level::High
    } else if risk >= t.medium {
        Level::Medium
    } else {
        Level::Low
    };
    let mut decision = match level {
        Level::Low => Decision::Allow,
        Level::Medium => Decision::Challenge,
        Level::High => Decision::Deny,
    };
    if reasons.iter().any(|r| {
        matches!(
            r.code,
            ReasonCode::BruteForceLockout | ReasonCode::AccessDenied
        )
    }) {
        decision = Decision::Deny;
        level = Level::High;
    } else if reasons
        .iter()
        .any(|r| r.code == ReasonCode::AccountUnderAttack)
        && decision == Decision::Allow
    {
        decision = Decision::Challenge;
        level = Level::Medium;
    }

    let alert = org.is_none() && reasons.iter().any(|r| r.alert);

    reasons.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    reasons.extend(org);
    reasons.extend(learning);
    Assessment {
        decision,
        risk,
        level,
        alert,
        reasons,
    }
}
