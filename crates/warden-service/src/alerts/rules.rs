//! Alert rules: which committed logins raise which alert, how serious it
//! is, and who is told. Pure: a rule reads a history row, nothing else.
//!
//! Every rule that matches an event counts: the highest grade among them
//! (the first such rule on a tie) gives the alert its kind, grade and
//! dedupe key; the user is told when any matching rule says so. The seeds'
//! default cannot be configured away: every successful login Warden flags
//! from an unusual place (country, region, city) or with impossible travel
//! tells the user ([`validate`] refuses rules that would not, and
//! [`AlertSettings::judge`](super::AlertSettings::judge) enforces it).

use warden_core::{AlertKind, Decision, Grade, Outcome, ReasonCode, VerifyReason};
use warden_store::LoginEvent;

/// Which outcomes a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeFilter {
    Success,
    Failure,
    Any,
}

impl OutcomeFilter {
    fn matches(self, o: Outcome) -> bool {
        match self {
            OutcomeFilter::Success => o.is_success(),
            OutcomeFilter::Failure => !o.is_success(),
            OutcomeFilter::Any => true,
        }
    }
}

/// What logins fold into one alert (within the fold window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBy {
    /// The user and the place (country, region, city): one alert per user,
    /// kind and place a day.
    UserPlace,
    /// The user: one alert per user and kind a day (an attack on one
    /// account).
    User,
    /// The source address: one alert per address and kind a day, about no
    /// user in particular (one address spraying many accounts).
    Source,
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// Matches an event carrying any of these reasons; empty: any event.
    pub reasons: Vec<ReasonCode>,
    pub outcome: OutcomeFilter,
    /// Matches only these decisions; empty: any.
    pub decisions: Vec<Decision>,
    /// Only logins the engine flagged for an alert (its `alert` flag: the
    /// learning period and the user's own devices damp it).
    pub flagged_only: bool,
    pub kind: AlertKind,
    pub grade: Grade,
    /// Tell the user the alert is about.
    pub notify_user: bool,
    pub key: KeyBy,
}

impl AlertRule {
    /// Whether the rule matches the history row `e`.
    pub fn matches(&self, e: &LoginEvent) -> bool {
        self.outcome.matches(e.outcome)
            && (self.decisions.is_empty() || self.decisions.contains(&e.decision))
            && (!self.flagged_only || e.alert)
            && (self.reasons.is_empty() || self.reasons.iter().any(|r| e.reasons.contains(r)))
    }
}

/// The reasons whose successful, flagged logins always tell the user.
pub const USER_MUST_KNOW: [ReasonCode; 4] = [
    ReasonCode::UnusualCountry,
    ReasonCode::UnusualRegion,
    ReasonCode::UnusualCity,
    ReasonCode::ImpossibleTravel,
];

/// Whether the seeds' default makes `e` an alert the user is told of.
/// A correct password that login protection held back
/// (`verification_required`): the user is asked at once whether it was
/// them, whatever the rules say, since "yes" is how a mail client that
/// cannot prompt gets in (issue 15).
pub fn held_for_verification(e: &LoginEvent) -> bool {
    !e.outcome.is_success() && e.auth_reason == Some(VerifyReason::VerificationRequired)
}

pub fn user_must_know(e: &LoginEvent) -> bool {
    e.outcome.is_success() && e.alert && e.reasons.iter().any(|r| USER_MUST_KNOW.contains(r))
}

fn rule(
    reasons: &[ReasonCode],
    outcome: OutcomeFilter,
    flagged_only: bool,
    kind: AlertKind,
    grade: Grade,
    notify_user: bool,
    key: KeyBy,
) -> AlertRule {
    AlertRule {
        reasons: reasons.to_vec(),
        outcome,
        decisions: Vec::new(),
        flagged_only,
        kind,
        grade,
        notify_user,
        key,
    }
}

/// The default rules.
pub fn default_rules() -> Vec<AlertRule> {
    use AlertKind as K;
    use Grade::*;
    use OutcomeFilter::*;
    use ReasonCode as R;
    vec![
        rule(
            &[R::ImpossibleTravel],
            Success,
            true,
            K::ImpossibleTravel,
            Critical,
            true,
            KeyBy::UserPlace,
        ),
        rule(
            &[R::UnusualCountry],
            Success,
            true,
            K::UnusualLocation,
            Warning,
            true,
            KeyBy::UserPlace,
        ),
        rule(
            &[R::UnusualRegion, R::UnusualCity],
            Success,
            true,
            K::UnusualLocation,
            Info,
            true,
            KeyBy::UserPlace,
        ),
        rule(
            &[
                R::ConcurrentDistantSessions,
                R::AnonymizerIp,
                R::DatacenterIp,
            ],
            Success,
            true,
            K::RiskyLogin,
            Warning,
            true,
            KeyBy::UserPlace,
        ),
        // A success right where an attack on accounts is going on.
        rule(
            &[
                R::PasswordSpraying,
                R::CredentialStuffing,
                R::BruteForceLockout,
            ],
            Success,
            false,
            K::RiskyLogin,
            Critical,
            true,
            KeyBy::UserPlace,
        ),
        rule(
            &[R::BruteForceLockout],
            Failure,
            false,
            K::BruteForce,
            Warning,
            false,
            KeyBy::User,
        ),
        rule(
            &[R::AccountUnderAttack],
            Failure,
            false,
            K::AccountUnderAttack,
            Warning,
            false,
            KeyBy::User,
        ),
        rule(
            &[R::PasswordSpraying],
            Failure,
            false,
            K::PasswordSpraying,
            Warning,
            false,
            KeyBy::Source,
        ),
        rule(
            &[R::CredentialStuffing],
            Failure,
            false,
            K::CredentialStuffing,
            Critical,
            false,
            KeyBy::Source,
        ),
    ]
}

/// A rule set that breaks the seeds' default or cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A rule says not to tell the user of a login they must hear of.
    #[error("alerts.rules[{index}].notify_user: a successful login from an unusual place or with impossible travel ({reason}) always notifies the user (the seeds' default); a rule may make alerts stricter but not silence the user: set notify_user = true or drop {reason} from its reasons")]
    Silences { index: usize, reason: &'static str },
    /// No rule raises the alert the user must get.
    #[error("alerts.rules: no rule tells the user of a successful login with {reason} (the seeds' default: every login from an unusual place or with impossible travel notifies the user); add a rule with reasons = [\"{reason}\"], outcome = \"success\" and notify_user = true")]
    Uncovered { reason: &'static str },
    /// A rule without reasons on successes would alert on every login.
    #[error("alerts.rules[{index}].reasons: a rule for successful logins needs at least one reason (an empty list matches every login)")]
    EveryLogin { index: usize },
    /// A summary is not a rule's to raise.
    #[error(
        "alerts.rules[{index}].kind: `{kind}` alerts are raised by Warden itself, not by a rule"
    )]
    ReservedKind { index: usize, kind: &'static str },
}

/// Checks a rule set: the user hears of every flagged successful login
/// from an unusual place or with impossible travel, whatever the decision.
pub fn validate(rules: &[AlertRule]) -> Result<(), RuleError> {
    for (index, r) in rules.iter().enumerate() {
        if matches!(r.kind, AlertKind::Summary | AlertKind::LoginDisowned) {
            return Err(RuleError::ReservedKind {
                index,
                kind: r.kind.as_str(),
            });
        }
        if r.reasons.is_empty() && r.outcome != OutcomeFilter::Failure {
            return Err(RuleError::EveryLogin { index });
        }
        if !r.notify_user && r.outcome != OutcomeFilter::Failure {
            if let Some(reason) = r.reasons.iter().find(|c| USER_MUST_KNOW.contains(c)) {
                return Err(RuleError::Silences {
                    index,
                    reason: reason.as_str(),
                });
            }
        }
    }
    for reason in USER_MUST_KNOW {
        let covered = rules.iter().any(|r| {
            r.notify_user
                && r.outcome != OutcomeFilter::Failure
                && (r.decisions.is_empty() || Decision::ALL.iter().all(|d| r.decisions.contains(d)))
                && r.reasons.contains(&reason)
        });
        if !covered {
            return Err(RuleError::Uncovered {
                reason: reason.as_str(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        validate(&default_rules()).unwrap();
    }

    #[test]
    fn a_rule_silencing_the_user_is_refused_naming_its_key() {
        let mut rules = default_rules();
        rules[1].notify_user = false;
        let e = validate(&rules).unwrap_err();
        assert_eq!(
            e,
            RuleError::Silences {
                index: 1,
                reason: "unusual_country"
            }
        );
        assert!(e.to_string().starts_with("alerts.rules[1].notify_user"));
    }

    #[test]
    fn dropping_the_rule_for_a_place_is_refused() {
        let mut rules = default_rules();
        for r in &mut rules {
            r.reasons.retain(|c| *c != ReasonCode::UnusualCity);
        }
        let e = validate(&rules).unwrap_err();
        assert_eq!(
            e,
            RuleError::Uncovered {
                reason: "unusual_city"
            }
        );
    }

    #[test]
    fn a_rule_for_denied_logins_only_does_not_cover() {
        let mut rules = default_rules();
        rules[0].decisions = vec![Decision::Deny];
        assert_eq!(
            validate(&rules).unwrap_err(),
            RuleError::Uncovered {
                reason: "impossible_travel"
            }
        );
    }

    #[test]
    fn stricter_rules_are_accepted() {
        let mut rules = default_rules();
        rules[2].grade = Grade::Critical;
        rules.push(rule(
            &[ReasonCode::NewDevice],
            OutcomeFilter::Success,
            false,
            AlertKind::NewDevice,
            Grade::Info,
            true,
            KeyBy::UserPlace,
        ));
        validate(&rules).unwrap();
        rules.push(rule(
            &[],
            OutcomeFilter::Success,
            false,
            AlertKind::RiskyLogin,
            Grade::Info,
            true,
            KeyBy::User,
        ));
        assert_eq!(
            validate(&rules).unwrap_err(),
            RuleError::EveryLogin { index: 10 }
        );
    }
}
