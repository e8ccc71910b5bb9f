//! Whether a successful login may teach the user's profile.
//!
//! A success that Warden challenged, denied or alerted on, and whose
//! challenge nobody passed, may be the attacker's: learning it would make
//! the attacker's next logins from the same place look usual. Such a
//! success is [`Trust::Unconfirmed`]: the profile keeps it aside as an
//! [`crate::unconfirmed::Unconfirmed`] observation until it is confirmed
//! (the user's "yes, it was me", an admin, a passed step-up, or the
//! policy's `learning.confirm_after_days` rule).

use crate::assess::Assessment;
use crate::decision::Decision;

/// How far a successful login is trusted to be the user's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Learned as usual: allowed without an alert, or a challenge was passed.
    Trusted,
    /// Kept aside until confirmed. `attack`: the login carried an attack
    /// signal (denied, or spraying, stuffing, an account under attack),
    /// which no rule ever confirms on its own.
    Unconfirmed { attack: bool },
}

impl Trust {
    /// The rule: a success is untrusted when its assessment was a challenge
    /// or a denial, or it raised an alert, and no challenge was passed.
    pub fn of(assessment: &Assessment, challenge_passed: bool) -> Trust {
        Trust::of_parts(
            assessment.decision,
            assessment.alert,
            assessment.has_attack_signal(),
            challenge_passed,
        )
    }

    /// [`Trust::of`] from what a history row keeps of the assessment.
    pub fn of_parts(
        decision: Decision,
        alert: bool,
        attack: bool,
        challenge_passed: bool,
    ) -> Trust {
        if challenge_passed || (decision == Decision::Allow && !alert) {
            Trust::Trusted
        } else {
            Trust::Unconfirmed {
                attack: attack || decision == Decision::Deny,
            }
        }
    }

    pub fn is_trusted(self) -> bool {
        self == Trust::Trusted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_quiet_or_passed_successes_are_trusted() {
        use Decision::*;
        assert_eq!(Trust::of_parts(Allow, false, false, false), Trust::Trusted);
        for (d, alert) in [(Allow, true), (Challenge, false), (Challenge, true)] {
            assert_eq!(
                Trust::of_parts(d, alert, false, false),
                Trust::Unconfirmed { attack: false },
                "{d:?} alert={alert}"
            );
            assert_eq!(Trust::of_parts(d, alert, false, true), Trust::Trusted);
        }
        assert_eq!(
            Trust::of_parts(Deny, false, false, false),
            Trust::Unconfirmed { attack: true }
        );
        assert_eq!(
            Trust::of_parts(Challenge, true, true, false),
            Trust::Unconfirmed { attack: true }
        );
    }
}
