//! What protects one account beyond the risk engine: its login protection
//! level (异地登录保护), whether a new device waits for approval and how
//! fresh a step-up must be for a sensitive operation. An [`AccountPolicy`]
//! is the *effective* policy of one user, resolved by the service from the
//! global configuration and the organisation's, groups' and user's own
//! policies (user over group over organisation over global).
//!
//! Data and pure decisions only; the policies themselves are stored and
//! resolved by `warden-service::policies`.

use crate::account::wire_names;
use crate::assess::Assessment;
use crate::decision::{Decision, ReasonCode};

/// When a correct credential must be verified before it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProtectionLevel {
    /// Never: a risky login succeeds and raises an alert.
    #[default]
    Off,
    /// A login the risk engine challenges (a new country, impossible
    /// travel, an attack signal...).
    Challenged,
    /// ...and any login from a city the user does not usually log in from.
    NewCity,
    /// ...and any login from a device the user has not used before.
    NewCityOrDevice,
}

wire_names!(ProtectionLevel, "login protection level",
    Off => "off",
    Challenged => "challenged",
    NewCity => "new_city",
    NewCityOrDevice => "new_city_or_device",
);

/// The effective protection of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPolicy {
    pub login_protection: ProtectionLevel,
    /// A device the user has not used before stays pending (refused with a
    /// clear text) until the user or an admin approves it.
    pub new_device_approval: bool,
    /// Sensitive operations (password, 2FA, security email/phone,
    /// authorization codes) need a step-up at most this many minutes old;
    /// 0: no step-up needed.
    pub step_up_minutes: u32,
    /// The access rules of the organisation's, groups' and user's
    /// policies, each with its source ([`crate::scoped`]); empty for the
    /// global default, whose rules are the engine's (`policy.access`).
    pub access: Vec<crate::scoped::ScopedRule>,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        AccountPolicy {
            login_protection: ProtectionLevel::Off,
            new_device_approval: false,
            step_up_minutes: 0,
            access: Vec::new(),
        }
    }
}

/// Why login protection wants a correct credential verified before it
/// counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtectionTrigger {
    /// The risk engine challenges the login.
    Challenged,
    /// A country, region or city the user does not usually log in from.
    NewPlace,
    /// A device id or client program the user has not used.
    NewDevice,
}

wire_names!(ProtectionTrigger, "login protection trigger",
    Challenged => "challenged",
    NewPlace => "new_place",
    NewDevice => "new_device",
);

/// Whether login protection at `level` asks for the login `a` to be
/// verified (by a second factor, an emailed code or a confirmation of the
/// sign-in) before a correct credential counts, and why. A denial is not
/// this module's business (the credential check refuses it first).
///
/// - `challenged`: what the risk engine challenges.
/// - `new_city`: also a correct password from a place the user does not
///   usually log in from, whatever its risk score: the detectors' unusual
///   country, region or city. A "new" city within `travel.nearby_city_km`
///   of a usual one is the same town to the detector (geolocation noise)
///   and to this level. An organisation address (`known_org_ip`) is the
///   organisation's own office and never a new place here.
/// - `new_city_or_device`: also a device id or client program the user has
///   not used (`new_device`, `new_client`).
///
/// A brand-new profile (no trusted login yet) has no usual place or device
/// to differ from: the detectors then report no novelty, so only the
/// engine's challenge applies. Asking every first login for a code would
/// verify the whole tenant the day protection is switched on, and the
/// first login is what the habits are learned from. While the habits are
/// still being learned (fewer than `learning.learning_logins`), novelty
/// *does* count at these levels: an admin who chose them chose strictness,
/// and each verification teaches the place or device once.
pub fn protection_trigger(level: ProtectionLevel, a: &Assessment) -> Option<ProtectionTrigger> {
    if level == ProtectionLevel::Off || a.decision == Decision::Deny {
        return None;
    }
    if a.decision == Decision::Challenge {
        return Some(ProtectionTrigger::Challenged);
    }
    let has = |codes: &[ReasonCode]| a.reasons.iter().any(|r| codes.contains(&r.code));
    let org_address = has(&[ReasonCode::KnownOrgIp]);
    let new_place = !org_address
        && has(&[
            ReasonCode::UnusualCountry,
            ReasonCode::UnusualRegion,
            ReasonCode::UnusualCity,
        ]);
    match level {
        ProtectionLevel::Off | ProtectionLevel::Challenged => None,
        ProtectionLevel::NewCity => new_place.then_some(ProtectionTrigger::NewPlace),
        ProtectionLevel::NewCityOrDevice => {
            if new_place {
                Some(ProtectionTrigger::NewPlace)
            } else {
                has(&[ReasonCode::NewDevice, ReasonCode::NewClient])
                    .then_some(ProtectionTrigger::NewDevice)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Level;
    use crate::reason::{Evidence, Reason};

    fn assessment(decision: Decision, codes: &[ReasonCode]) -> Assessment {
        Assessment {
            decision,
            risk: 0.1,
            level: Level::Low,
            alert: false,
            reasons: codes
                .iter()
                .map(|&code| Reason {
                    code,
                    weight: 0.1,
                    alert: false,
                    evidence: Evidence::Learning {
                        logins: 0,
                        needed: 0,
                    },
                })
                .collect(),
        }
    }

    use ProtectionLevel as L;
    use ProtectionTrigger as T;

    #[test]
    fn off_never_asks_and_a_denial_is_not_protections_business() {
        for d in [Decision::Allow, Decision::Challenge, Decision::Deny] {
            let a = assessment(d, &[ReasonCode::UnusualCity, ReasonCode::NewDevice]);
            assert_eq!(protection_trigger(L::Off, &a), None);
        }
        let denied = assessment(Decision::Deny, &[ReasonCode::UnusualCity]);
        for l in ProtectionLevel::ALL {
            assert_eq!(protection_trigger(*l, &denied), None, "{l}");
        }
    }

    #[test]
    fn every_level_asks_what_the_engine_challenges() {
        let a = assessment(Decision::Challenge, &[ReasonCode::DatacenterIp]);
        for l in [L::Challenged, L::NewCity, L::NewCityOrDevice] {
            assert_eq!(protection_trigger(l, &a), Some(T::Challenged), "{l}");
        }
    }

    #[test]
    fn a_new_place_the_engine_allows_is_asked_from_new_city_up() {
        for code in [
            ReasonCode::UnusualCity,
            ReasonCode::UnusualRegion,
            ReasonCode::UnusualCountry,
        ] {
            let a = assessment(Decision::Allow, &[code]);
            assert_eq!(protection_trigger(L::Challenged, &a), None, "{code}");
            assert_eq!(protection_trigger(L::NewCity, &a), Some(T::NewPlace));
            assert_eq!(
                protection_trigger(L::NewCityOrDevice, &a),
                Some(T::NewPlace)
            );
        }
        // The same new city from an organisation address is the office.
        let office = assessment(
            Decision::Allow,
            &[ReasonCode::UnusualCity, ReasonCode::KnownOrgIp],
        );
        assert_eq!(protection_trigger(L::NewCity, &office), None);
    }

    #[test]
    fn a_new_device_or_client_is_asked_only_at_the_device_level() {
        for code in [ReasonCode::NewDevice, ReasonCode::NewClient] {
            let a = assessment(Decision::Allow, &[code, ReasonCode::UnusualHour]);
            assert_eq!(protection_trigger(L::NewCity, &a), None, "{code}");
            assert_eq!(
                protection_trigger(L::NewCityOrDevice, &a),
                Some(T::NewDevice)
            );
        }
        // Habits alone (an unusual hour, a learning period) ask nothing.
        let quiet = assessment(
            Decision::Allow,
            &[ReasonCode::UnusualHour, ReasonCode::LearningPeriod],
        );
        for l in ProtectionLevel::ALL {
            assert_eq!(protection_trigger(*l, &quiet), None, "{l}");
        }
    }

    #[test]
    fn levels_read_their_wire_names_and_refuse_others() {
        for l in ProtectionLevel::ALL {
            assert_eq!(l.as_str().parse::<ProtectionLevel>().unwrap(), *l);
        }
        assert!("sometimes".parse::<ProtectionLevel>().is_err());
    }
}
