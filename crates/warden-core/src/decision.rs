//! What the engine answers: a decision, a risk level and the reasons.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What the mail server should do with the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Decision {
    Allow,
    /// Ask for a second factor or out-of-band confirmation.
    Challenge,
    Deny,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Decision::Allow, Decision::Challenge, Decision::Deny];
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Challenge => "challenge",
            Decision::Deny => "deny",
        }
    }
}

/// Risk level derived from the score and the policy's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    Low,
    Medium,
    High,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Low, Level::Medium, Level::High];
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        }
    }
}

/// A name that is not one of the enum's wire names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! wire_name {
    ($t:ty, $kind:literal) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $t {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName {
                        kind: $kind,
                        value: s.to_string(),
                    })
            }
        }
    };
}
wire_name!(Decision, "decision");
wire_name!(Level, "level");
wire_name!(ReasonCode, "reason code");

/// Machine-readable reason codes. Their wire names are stable API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ReasonCode {
    UnusualCountry,
    UnusualRegion,
    UnusualCity,
    ImpossibleTravel,
    ConcurrentDistantSessions,
    NewDevice,
    NewClient,
    UnusualHour,
    AnonymizerIp,
    DatacenterIp,
    KnownOrgIp,
    BruteForceLockout,
    AccountUnderAttack,
    PasswordSpraying,
    CredentialStuffing,
    LearningPeriod,
    StatisticalAnomaly,
    AccessDenied,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 18] = [
        ReasonCode::UnusualCountry,
        ReasonCode::UnusualRegion,
        ReasonCode::UnusualCity,
        ReasonCode::ImpossibleTravel,
        ReasonCode::ConcurrentDistantSessions,
        ReasonCode::NewDevice,
        ReasonCode::NewClient,
        ReasonCode::UnusualHour,
        ReasonCode::AnonymizerIp,
        ReasonCode::DatacenterIp,
        ReasonCode::KnownOrgIp,
        ReasonCode::BruteForceLockout,
        ReasonCode::AccountUnderAttack,
        ReasonCode::PasswordSpraying,
        ReasonCode::CredentialStuffing,
        ReasonCode::LearningPeriod,
        ReasonCode::StatisticalAnomaly,
        ReasonCode::AccessDenied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::UnusualCountry => "unusual_country",
            ReasonCode::UnusualRegion => "unusual_region",
            ReasonCode::UnusualCity => "unusual_city",
            ReasonCode::ImpossibleTravel => "impossible_travel",
            ReasonCode::ConcurrentDistantSessions => "concurrent_distant_sessions",
            ReasonCode::NewDevice => "new_device",
            ReasonCode::NewClient => "new_client",
            ReasonCode::UnusualHour => "unusual_hour",
            ReasonCode::AnonymizerIp => "anonymizer_ip",
            ReasonCode::DatacenterIp => "datacenter_ip",
            ReasonCode::KnownOrgIp => "known_org_ip",
            ReasonCode::BruteForceLockout => "brute_force_lockout",
            ReasonCode::AccountUnderAttack => "account_under_attack",
            ReasonCode::PasswordSpraying => "password_spraying",
            ReasonCode::CredentialStuffing => "credential_stuffing",
            ReasonCode::LearningPeriod => "learning_period",
            ReasonCode::StatisticalAnomaly => "statistical_anomaly",
            ReasonCode::AccessDenied => "access_denied",
        }
    }

    /// What the code means, in English, without the login's details (the
    /// history keeps the codes only; a [`crate::Reason`] words the details).
    pub fn describe(self) -> &'static str {
        match self {
            ReasonCode::UnusualCountry => {
                "login from a country the user does not usually log in from"
            }
            ReasonCode::UnusualRegion => "login from an unusual region",
            ReasonCode::UnusualCity => "login from an unusual city",
            ReasonCode::ImpossibleTravel => {
                "too far from the previous login for the time between them"
            }
            ReasonCode::ConcurrentDistantSessions => {
                "sessions open at the same time in distant places"
            }
            ReasonCode::NewDevice => "a device the user has not used before",
            ReasonCode::NewClient => "a mail program the user has not used before",
            ReasonCode::UnusualHour => "an hour the user does not usually log in at",
            ReasonCode::AnonymizerIp => "an anonymizer (Tor, VPN or proxy) address",
            ReasonCode::DatacenterIp => "a hosting or datacenter network",
            ReasonCode::KnownOrgIp => "one of the organisation's own networks (lowers the risk)",
            ReasonCode::BruteForceLockout => "too many wrong passwords: locked out",
            ReasonCode::AccountUnderAttack => "many failed logins against this account",
            ReasonCode::PasswordSpraying => "the address tries many accounts (password spraying)",
            ReasonCode::CredentialStuffing => {
                "the address tries many leaked credentials (credential stuffing)"
            }
            ReasonCode::LearningPeriod => "the user's profile is still learning",
            ReasonCode::StatisticalAnomaly => "unusual compared to the user's history",
            ReasonCode::AccessDenied => "refused by an access policy",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for c in ReasonCode::ALL {
            assert_eq!(c.as_str().parse::<ReasonCode>().unwrap(), c);
        }
        for d in Decision::ALL {
            assert_eq!(d.to_string().parse::<Decision>().unwrap(), d);
        }
        for l in Level::ALL {
            assert_eq!(l.to_string().parse::<Level>().unwrap(), l);
        }
        assert!("maybe".parse::<Decision>().is_err());
    }
}
