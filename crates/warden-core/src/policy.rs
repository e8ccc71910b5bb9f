//! The policy: every threshold and weight the engine uses, with defaults.
//!
//! The policy is plain data. The binary fills it from the configuration file
//! and environment; the engine only reads it.

use serde::{Deserialize, Serialize};

/// Score thresholds and how levels map to decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// A risk at or above this is `medium` and the login is challenged.
    pub medium: f32,
    /// A risk at or above this is `high` and the login is denied.
    pub high: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            medium: 0.4,
            high: 0.75,
        }
    }
}

/// Weights (0..1) each detector contributes to the risk score. Scores are
/// combined as independent evidence: `1 - Π(1 - w)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    /// A country the user has not logged in from.
    pub unusual_country: f32,
    /// A region (province, state) the user has not logged in from, at full distance.
    pub unusual_region: f32,
    /// A city the user has not logged in from, at full distance.
    pub unusual_city: f32,
    /// Travel faster than the speed limit since the last successful login.
    pub impossible_travel: f32,
    /// Another session is open at the same time from a distant place.
    pub concurrent_distant_sessions: f32,
    /// A device id the user has not used.
    pub new_device: f32,
    /// A client program (Outlook, Foxmail, a browser...) the user has not used.
    pub new_client: f32,
    /// A scripting client (curl, python-requests...) the user has not used.
    pub new_automated_client: f32,
    /// An hour of day at which the user rarely logs in.
    pub unusual_hour: f32,
    /// A Tor exit node.
    pub tor: f32,
    /// A VPN or proxy range from the configured lists.
    pub vpn_or_proxy: f32,
    /// A hosting / datacenter network the user does not normally use.
    pub datacenter: f32,
    /// Source of password spraying (many accounts failing from it).
    pub password_spraying: f32,
    /// A credential-stuffing wave is under way and this login comes from a
    /// network the user has not used.
    pub credential_stuffing: f32,
    /// Too many failures on this account from anywhere.
    pub account_under_attack: f32,
    /// Share of the score removed when the address is a known organisation
    /// address (configured range or one many colleagues use).
    pub known_org_ip_trust: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            unusual_country: 0.55,
            unusual_region: 0.3,
            unusual_city: 0.2,
            impossible_travel: 0.6,
            concurrent_distant_sessions: 0.35,
            new_device: 0.15,
            new_client: 0.12,
            new_automated_client: 0.3,
            unusual_hour: 0.1,
            tor: 0.55,
            vpn_or_proxy: 0.35,
            datacenter: 0.25,
            password_spraying: 0.8,
            credential_stuffing: 0.45,
            account_under_attack: 0.45,
            known_org_ip_trust: 0.6,
        }
    }
}

/// How a user's profile learns and forgets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Learning {
    /// Half-life of a place's, network's or device's weight, in days: history
    /// decays so that places not used for a long time become unusual again.
    pub half_life_days: f32,
    /// A place whose decayed weight is below this is forgotten.
    pub forget_below: f32,
    /// Until a user has this many successful logins, location and device
    /// signals count for less (the learning period).
    pub learning_logins: u32,
    /// Factor applied to profile-based signals during the learning period.
    pub learning_damping: f32,
    /// At least this many successful logins before the hour of day is judged.
    pub min_logins_for_hours: u32,
    /// An hour holding less than this share of the user's logins is unusual.
    pub unusual_hour_share: f32,
    /// Offset of the organisation's local time from UTC, in minutes, used for
    /// hours of day (e.g. 480 for China Standard Time).
    pub utc_offset_minutes: i32,
    /// A success Warden challenged or alerted on, with no challenge passed,
    /// teaches the profile only once confirmed ("yes, it was me", an
    /// admin, a passed step-up) or once the same place and network has
    /// been seen on this many distinct days with no attack signal and no
    /// "not me" (0: only an explicit confirmation). See docs/detection.md
    /// for the data behind the default.
    pub confirm_after_days: u16,
}

impl Default for Learning {
    fn default() -> Self {
        Learning {
            half_life_days: 60.0,
            forget_below: 0.1,
            learning_logins: 5,
            learning_damping: 0.4,
            min_logins_for_hours: 20,
            unusual_hour_share: 0.02,
            utc_offset_minutes: 480,
            confirm_after_days: 3,
        }
    }
}

/// Distances and speeds for the location detectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Travel {
    /// Faster than this between two successful logins is impossible travel (km/h).
    pub max_speed_kmh: f64,
    /// Distances shorter than this never count as travel (km).
    pub min_distance_km: f64,
    /// Accuracy radius assumed for each end when the data gives none (km).
    pub default_accuracy_km: f64,
    /// A new city closer than this to a usual one is not reported (km):
    /// city-level IP geolocation is often a neighbouring city or the
    /// province's hub.
    pub nearby_city_km: f64,
    /// Beyond this distance a new place counts in full (km).
    pub far_km: f64,
    /// A successful login keeps a session open this long (seconds).
    pub session_ttl_secs: i64,
    /// Sessions further apart than this at the same time are suspicious (km).
    pub concurrent_min_km: f64,
    /// Factor applied to travel signals between two places the user has
    /// both used (a phone on a carrier hub and a laptop at the office).
    pub known_places_damping: f64,
    /// Factor applied to a new region or city, and to travel, within a
    /// country the user knows, when the login comes from one of the user's
    /// own devices on a network the user already uses (an AS, or a carrier
    /// group of several): a phone whose carrier addresses geolocate all over
    /// the country. Not alerted.
    pub own_device_damping: f64,
}

impl Default for Travel {
    fn default() -> Self {
        Travel {
            max_speed_kmh: 800.0,
            min_distance_km: 500.0,
            default_accuracy_km: 50.0,
            nearby_city_km: 150.0,
            far_km: 1000.0,
            session_ttl_secs: 30 * 60,
            concurrent_min_km: 500.0,
            known_places_damping: 0.25,
            own_device_damping: 0.3,
        }
    }
}

/// Attack detection over global sliding windows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Attacks {
    /// Failures from one IP on one account that lock that IP out of it.
    pub ip_lockout_failures: u32,
    /// Window for counting them (seconds).
    pub ip_lockout_window_secs: i64,
    /// How long the IP stays locked out of the account (seconds).
    pub ip_lockout_secs: i64,
    /// Failures on one account from anywhere (not counting attempts Warden
    /// already refused) that challenge every source the user is not known
    /// to log in from.
    pub account_failures: u32,
    /// Window for counting them (seconds).
    pub account_window_secs: i64,
    /// Distinct accounts failing from one IP within the spraying window that
    /// make it a spraying source.
    pub spray_accounts_per_ip: u32,
    /// The same for a /24 (IPv4) or /64 (IPv6) subnet.
    pub spray_accounts_per_subnet: u32,
    /// The spraying window (seconds).
    pub spray_window_secs: i64,
    /// Failures across all accounts within the wave window that, together
    /// with the growth factor over the baseline, mean a credential-stuffing wave.
    pub wave_min_failures: u32,
    /// The wave window (seconds).
    pub wave_window_secs: i64,
    /// A wave is this many times the usual failure rate.
    pub wave_growth: f64,
    /// Distinct colleagues logging in successfully from one address within a
    /// week that make it a known organisation address.
    pub shared_ip_min_users: u32,
}

impl Default for Attacks {
    fn default() -> Self {
        Attacks {
            ip_lockout_failures: 5,
            ip_lockout_window_secs: 15 * 60,
            ip_lockout_secs: 15 * 60,
            account_failures: 10,
            account_window_secs: 5 * 60,
            spray_accounts_per_ip: 10,
            spray_accounts_per_subnet: 20,
            spray_window_secs: 60 * 60,
            wave_min_failures: 50,
            wave_window_secs: 10 * 60,
            wave_growth: 5.0,
            shared_ip_min_users: 5,
        }
    }
}

/// Everything the engine needs to know about the organisation's wishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub thresholds: Thresholds,
    pub weights: Weights,
    pub learning: Learning,
    pub travel: Travel,
    pub attacks: Attacks,
    pub statistics: Statistics,
    pub access: Access,
}

/// Access rules that refuse a login whatever its risk (`access_denied`),
/// checked before any password. Empty lists apply no rule.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Access {
    /// Addresses or CIDRs whose logins are always refused.
    pub blocklist: Vec<String>,
    /// When set, only logins from these addresses or CIDRs are allowed.
    pub allowlist: Vec<String>,
    /// Geo-fence: when set, only logins from these countries (ISO 3166-1
    /// alpha-2) are allowed; the organisation's own ranges always pass.
    pub countries: Vec<String>,
    /// When set, only these protocols may log in (imap, pop3, smtp, web, im,
    /// api, dav).
    pub protocols: Vec<String>,
}

/// The statistical model next to the rules (after Freeman et al., NDSS
/// 2016): how much likelier the login's place, network and client are for
/// anybody than for this user, as a natural-log likelihood ratio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Statistics {
    /// Weight of `statistical_anomaly` at and above `full_at`; 0 turns the
    /// model off.
    pub weight: f32,
    /// Log-likelihood ratio (nats) where the reason starts to count.
    pub from: f32,
    /// Log-likelihood ratio where it counts in full.
    pub full_at: f32,
}

impl Default for Statistics {
    fn default() -> Self {
        Statistics {
            weight: 0.5,
            from: 5.0,
            full_at: 9.0,
        }
    }
}

/// A policy value that makes no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid policy: {0}")]
pub struct InvalidPolicy(pub String);

/// The longest window or duration an attack rule may use: 30 days. Longer
/// ones keep attacker-keyed state for as long and, near `i64::MAX`, used to
/// wrap when added to a time.
pub const MAX_ATTACK_SECS: i64 = 30 * 86_400;

/// A value within `lo..=hi` (NaN is not), or an error naming the key and the
/// range.
fn within<T: PartialOrd + std::fmt::Display>(
    key: &str,
    v: T,
    lo: T,
    hi: T,
) -> Result<(), InvalidPolicy> {
    if lo <= v && v <= hi {
        Ok(())
    } else {
        Err(InvalidPolicy(format!(
            "policy.{key} must be within {lo}..={hi}, got {v}"
        )))
    }
}

impl Policy {
    /// Checks every value's range and the orderings between them; the engine
    /// trusts a validated policy. Errors name the key (`policy.…`) and the
    /// allowed range.
    pub fn validate(&self) -> Result<(), InvalidPolicy> {
        let t = &self.thresholds;
        if !(0.0 < t.medium && t.medium < t.high && t.high <= 1.0) {
            return Err(InvalidPolicy(format!(
                "policy.thresholds must satisfy 0 < medium < high <= 1 (medium = {}, high = {})",
                t.medium, t.high
            )));
        }
        let w = &self.weights;
        for (name, v) in [
            ("weights.unusual_country", w.unusual_country),
            ("weights.unusual_region", w.unusual_region),
            ("weights.unusual_city", w.unusual_city),
            ("weights.impossible_travel", w.impossible_travel),
            (
                "weights.concurrent_distant_sessions",
                w.concurrent_distant_sessions,
            ),
            ("weights.new_device", w.new_device),
            ("weights.new_client", w.new_client),
            ("weights.new_automated_client", w.new_automated_client),
            ("weights.unusual_hour", w.unusual_hour),
            ("weights.tor", w.tor),
            ("weights.vpn_or_proxy", w.vpn_or_proxy),
            ("weights.datacenter", w.datacenter),
            ("weights.password_spraying", w.password_spraying),
            ("weights.credential_stuffing", w.credential_stuffing),
            ("weights.account_under_attack", w.account_under_attack),
            ("weights.known_org_ip_trust", w.known_org_ip_trust),
            ("learning.learning_damping", self.learning.learning_damping),
            ("learning.forget_below", self.learning.forget_below),
            (
                "learning.unusual_hour_share",
                self.learning.unusual_hour_share,
            ),
            ("statistics.weight", self.statistics.weight),
        ] {
            within(name, v, 0.0, 1.0)?;
        }
        let s = &self.statistics;
        within("statistics.from", s.from, 0.0, 1000.0)?;
        within("statistics.full_at", s.full_at, 0.0, 1000.0)?;
        if s.from >= s.full_at {
            return Err(InvalidPolicy(
                "policy.statistics.from must be below policy.statistics.full_at".into(),
            ));
        }
        crate::access::AccessRules::new(&self.access)?;
        let l = &self.learning;
        within("learning.half_life_days", l.half_life_days, 0.01, 3650.0)?;
        within("learning.learning_logins", l.learning_logins, 0, 100_000)?;
        within("learning.confirm_after_days", l.confirm_after_days, 0, 365)?;
        within(
            "learning.min_logins_for_hours",
            l.min_logins_for_hours,
            0,
            1_000_000,
        )?;
        within(
            "learning.utc_offset_minutes",
            l.utc_offset_minutes,
            -14 * 60,
            14 * 60,
        )?;
        let tr = &self.travel;
        // Half the Earth's circumference: no two places are further apart.
        const EARTH_KM: f64 = 20_040.0;
        within("travel.max_speed_kmh", tr.max_speed_kmh, 1.0, 100_000.0)?;
        within("travel.min_distance_km", tr.min_distance_km, 0.0, EARTH_KM)?;
        within(
            "travel.default_accuracy_km",
            tr.default_accuracy_km,
            0.0,
            EARTH_KM,
        )?;
        within("travel.nearby_city_km", tr.nearby_city_km, 0.0, EARTH_KM)?;
        within("travel.far_km", tr.far_km, 1.0, EARTH_KM)?;
        within(
            "travel.concurrent_min_km",
            tr.concurrent_min_km,
            0.0,
            EARTH_KM,
        )?;
        within(
            "travel.known_places_damping",
            tr.known_places_damping,
            0.0,
            1.0,
        )?;
        within("travel.own_device_damping", tr.own_device_damping, 0.0, 1.0)?;
        within(
            "travel.session_ttl_secs",
            tr.session_ttl_secs,
            1,
            7 * 86_400,
        )?;
        let a = &self.attacks;
        for (name, v) in [
            ("attacks.ip_lockout_window_secs", a.ip_lockout_window_secs),
            ("attacks.ip_lockout_secs", a.ip_lockout_secs),
            ("attacks.account_window_secs", a.account_window_secs),
            ("attacks.spray_window_secs", a.spray_window_secs),
            ("attacks.wave_window_secs", a.wave_window_secs),
        ] {
            within(name, v, 1, MAX_ATTACK_SECS)?;
        }
        for (name, v) in [
            ("attacks.ip_lockout_failures", a.ip_lockout_failures),
            ("attacks.account_failures", a.account_failures),
            ("attacks.spray_accounts_per_ip", a.spray_accounts_per_ip),
            (
                "attacks.spray_accounts_per_subnet",
                a.spray_accounts_per_subnet,
            ),
            ("attacks.wave_min_failures", a.wave_min_failures),
            ("attacks.shared_ip_min_users", a.shared_ip_min_users),
        ] {
            within(name, v, 1, 100_000)?;
        }
        within("attacks.wave_growth", a.wave_growth, 1.0, 1000.0)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        Policy::default().validate().unwrap();
        let mut p = Policy::default();
        p.thresholds.medium = 0.9;
        assert!(p.validate().unwrap_err().to_string().contains("medium"));
        let mut p = Policy::default();
        p.weights.tor = 1.5;
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("weights.tor"));
    }

    /// Every numeric value has a range, and the error names the key and
    /// the range: a lockout of `i64::MAX`-ish seconds used to be accepted
    /// and wrapped when added to a time, so the lockout never held.
    #[test]
    fn out_of_range_values_are_refused_with_key_and_range() {
        let err = |f: &dyn Fn(&mut Policy)| {
            let mut p = Policy::default();
            f(&mut p);
            p.validate().unwrap_err().to_string()
        };
        let e = err(&|p| p.attacks.ip_lockout_secs = 9_223_372_036_854_775_000);
        assert_eq!(
            e,
            "invalid policy: policy.attacks.ip_lockout_secs must be within 1..=2592000, got 9223372036854775000"
        );
        type Change<'a> = &'a dyn Fn(&mut Policy);
        let cases: [(&str, Change); 12] = [
            ("attacks.ip_lockout_secs must be within 1..=", &|p| {
                p.attacks.ip_lockout_secs = 0
            }),
            ("attacks.spray_window_secs", &|p| {
                p.attacks.spray_window_secs = i64::MAX
            }),
            ("attacks.account_failures must be within 1..=100000", &|p| {
                p.attacks.account_failures = u32::MAX
            }),
            ("attacks.spray_accounts_per_ip", &|p| {
                p.attacks.spray_accounts_per_ip = 0
            }),
            ("attacks.wave_growth", &|p| p.attacks.wave_growth = f64::NAN),
            ("travel.max_speed_kmh", &|p| {
                p.travel.max_speed_kmh = f64::INFINITY
            }),
            ("travel.far_km", &|p| p.travel.far_km = 0.0),
            ("travel.session_ttl_secs", &|p| {
                p.travel.session_ttl_secs = i64::MAX
            }),
            ("learning.half_life_days", &|p| {
                p.learning.half_life_days = f32::NAN
            }),
            ("learning.forget_below", &|p| p.learning.forget_below = -1.0),
            ("statistics.full_at", &|p| {
                p.statistics.full_at = f32::INFINITY
            }),
            (
                "learning.utc_offset_minutes must be within -840..=840",
                &|p| p.learning.utc_offset_minutes = 900,
            ),
        ];
        for (want, f) in cases {
            let e = err(f);
            assert!(e.contains(&format!("policy.{want}")), "{want}: {e}");
        }
        // The edges of each range are accepted.
        let mut p = Policy::default();
        p.attacks.ip_lockout_secs = MAX_ATTACK_SECS;
        p.attacks.ip_lockout_window_secs = 1;
        p.attacks.wave_growth = 1.0;
        p.travel.far_km = 20_040.0;
        p.validate().unwrap();
    }
}
