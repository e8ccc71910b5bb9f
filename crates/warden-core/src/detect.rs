//! The detectors. Each looks at one aspect of an attempt against the user's
//! profile and the global signals and pushes the reasons it finds, with
//! their evidence and weight. [`crate::assess`] combines them.

use crate::client::ClientKind;
use crate::counters::Signals;
use crate::decision::ReasonCode;
use crate::domain::{AnonymizerKind, Coords, IpInfo, Location, LoginAttempt};
use crate::policy::Policy;
use crate::profile::{keys, known, PlaceCatalog, Profile};
use crate::reason::{Evidence, Reason, Scope};
use crate::stats::{log_likelihood_ratio, Feature, LevelCounts, Population};
use crate::time::Timestamp;

/// Everything a detector may look at.
pub struct Input<'a> {
    pub attempt: &'a LoginAttempt,
    pub ip: &'a IpInfo,
    pub profile: Option<&'a Profile>,
    pub catalog: &'a PlaceCatalog,
    pub signals: &'a Signals,
    pub policy: &'a Policy,
    /// How often everybody uses each place, network and client.
    pub population: &'a Population,
    /// The policy's access rules, parsed.
    pub access: &'a crate::access::AccessRules,
    /// `keys::region` and `keys::place` of the address's location, computed
    /// once for every detector.
    pub region_key: Option<u64>,
    pub place_key: Option<u64>,
}

impl Input<'_> {
    fn now(&self) -> Timestamp {
        self.attempt.ts
    }

    /// The profile when it has at least one successful login.
    fn history(&self) -> Option<&Profile> {
        self.profile.filter(|p| p.logins > 0)
    }

    fn asn_known(&self) -> bool {
        match (self.history(), self.ip.network.habit_key()) {
            (Some(p), Some(a)) => known(&p.asns, a, self.now(), &self.policy.learning).is_some(),
            _ => false,
        }
    }

    fn device_known(&self) -> bool {
        match (self.history(), self.attempt.device.as_deref()) {
            (Some(p), Some(d)) => {
                known(&p.devices, keys::text(d), self.now(), &self.policy.learning).is_some()
            }
            _ => false,
        }
    }

    /// A source the user is known to log in from, so that failures counted
    /// against the account elsewhere do not lock its owner out: an address
    /// prefix (/24, /64) of an earlier successful login on one of the
    /// user's networks (its ASN, or its city without ASN data), the user's
    /// own device id on one of the user's networks, or an open session from
    /// this very address. (An
    /// organisation address is trusted apart, by [`known_org_ip`].)
    pub fn familiar_source(&self) -> bool {
        let Some(p) = self.history() else {
            return false;
        };
        let now = self.now().secs();
        let ip = keys::ip(self.attempt.ip);
        let in_session = p.sessions.iter().any(|s| {
            s.ip == ip
                && now >= s.last as i64
                && now - s.last as i64 <= self.policy.travel.session_ttl_secs
        });
        in_session
            || (self.network_known(p)
                && (p.addresses.contains(keys::prefix(self.attempt.ip)) || self.device_known()))
    }

    /// The address is on one of the user's networks: its ASN is one the
    /// user uses, or, without ASN data for it, its city is one of the
    /// user's places.
    fn network_known(&self, p: &Profile) -> bool {
        if self.ip.network.habit_key().is_some() {
            return self.asn_known();
        }
        self.place_key
            .is_some_and(|k| p.place(k, self.now(), &self.policy.learning).is_some())
    }

    /// One of the user's own devices on a network the user already uses:
    /// place novelty within a known country is then mostly geolocation noise.
    fn own_device_on_known_network(&self) -> bool {
        self.device_known() && self.asn_known()
    }

    fn named(&self, key: u64, coords: Option<Coords>) -> Location {
        self.catalog.get(key).cloned().unwrap_or_else(|| Location {
            coords,
            ..Location::default()
        })
    }
}

fn reason(code: ReasonCode, weight: f32, evidence: Evidence) -> Reason {
    Reason {
        code,
        weight,
        alert: false,
        evidence,
    }
}

fn alerting(code: ReasonCode, weight: f32, evidence: Evidence) -> Reason {
    Reason {
        code,
        weight,
        alert: true,
        evidence,
    }
}

/// How much a new place counts given its distance to the nearest usual one.
fn distance_factor(d: Option<f64>, p: &Policy) -> f32 {
    match d {
        None => 1.0,
        Some(d) if d <= p.travel.nearby_city_km => 0.0,
        Some(d) => {
            let span = (p.travel.far_km - p.travel.nearby_city_km).max(1.0);
            ((d - p.travel.nearby_city_km) / span).clamp(0.25, 1.0) as f32
        }
    }
}

/// Unusual country, region or city for this user.
pub fn unusual_location(i: &Input<'_>, out: &mut Vec<Reason>) {
    let Some(p) = i.history() else { return };
    let loc = &i.ip.location;
    let Some(country) = loc.country else { return };
    let (now, l, w) = (i.now(), &i.policy.learning, &i.policy.weights);

    let distance = loc.coords.and_then(|c| p.nearest_km(c, now, l));
    let factor = distance_factor(distance, i.policy);
    // A phone on a carrier the user already uses, geolocated to another city,
    // is weaker evidence than a new network as well; the user's own device
    // on it is weaker still.
    let own_device = i.own_device_on_known_network();
    let network = if own_device {
        i.policy.travel.own_device_damping as f32
    } else if i.asn_known() {
        0.6
    } else {
        1.0
    };
    let new_country = known(&p.countries, country, now, l).is_none();

    let (code, weight) = if new_country {
        (
            ReasonCode::UnusualCountry,
            w.unusual_country * (0.5 + 0.5 * factor),
        )
    } else if i
        .region_key
        .is_some_and(|r| known(&p.regions, r, now, l).is_none())
    {
        (
            ReasonCode::UnusualRegion,
            w.unusual_region * factor * network,
        )
    } else if i.place_key.is_some_and(|k| p.place(k, now, l).is_none()) && loc.city.is_some() {
        (ReasonCode::UnusualCity, w.unusual_city * factor * network)
    } else {
        return;
    };
    if weight <= 0.0 {
        return;
    }
    let usual = p
        .usual_places(now, l)
        .iter()
        .take(2)
        .map(|sp| i.named(sp.seen.key, sp.coords))
        .collect();
    // A new country is always told; a new city or region at home is not
    // while the habits are still being learned, nor from the user's own
    // device on a known network.
    let learning = p.logins < l.learning_logins;
    out.push(Reason {
        code,
        weight,
        alert: new_country || !(learning || own_device),
        evidence: Evidence::UnusualPlace {
            place: loc.clone(),
            usual,
            distance_km: distance,
        },
    });
}

fn accuracy(km: Option<u16>, p: &Policy) -> f64 {
    match km {
        Some(a) if a > 0 => a as f64,
        _ => p.travel.default_accuracy_km,
    }
}

/// Travel between two places the user has both used (a phone on a
/// carrier hub and a laptop at the office) counts for less and is not
/// alerted: the damping factor, and whether both are known.
fn between_known_places(p: &Profile, a: u64, b: u64, now: Timestamp, t: &Policy) -> (f64, bool) {
    let l = &t.learning;
    let both = p.place(a, now, l).is_some() && p.place(b, now, l).is_some();
    (
        if both {
            t.travel.known_places_damping
        } else {
            1.0
        },
        both,
    )
}

/// Impossible travel since the last successful login. Returns whether it fired.
pub fn impossible_travel(i: &Input<'_>, out: &mut Vec<Reason>) -> bool {
    let Some(p) = i.history() else { return false };
    let Some(last) = p.last_success else {
        return false;
    };
    let (Some(from), Some(to)) = (last.coords, i.ip.location.coords) else {
        return false;
    };
    let t = i.policy;
    let now = i.now();
    let cur_key = i.place_key.unwrap_or(0);
    let dt = now.secs() - last.ts as i64;
    if cur_key == last.place || dt < 0 {
        return false;
    }
    let d = from.distance_km(to);
    if d < t.travel.min_distance_km {
        return false;
    }
    let effective =
        d - accuracy(Some(last.accuracy_km), t) - accuracy(i.ip.location.accuracy_km, t);
    let hours = dt.max(60) as f64 / 3600.0;
    let speed = effective / hours;
    if effective <= 0.0 || speed <= t.travel.max_speed_kmh {
        return false;
    }
    let (mut damp, both_known) = between_known_places(p, cur_key, last.place, now, t);
    // Within one country, the user's own device on a known network: carrier
    // geolocation noise rather than travel.
    let same_country = i.catalog.get(last.place).and_then(|l| l.country) == i.ip.location.country;
    let own_device = same_country && i.own_device_on_known_network();
    if own_device {
        damp *= t.travel.own_device_damping;
    }
    out.push(Reason {
        code: ReasonCode::ImpossibleTravel,
        weight: t.weights.impossible_travel * damp as f32,
        alert: !both_known && !own_device,
        evidence: Evidence::Travel {
            from: i.named(last.place, Some(from)),
            to: i.ip.location.clone(),
            distance_km: d,
            minutes: dt as f64 / 60.0,
            speed_kmh: d / hours,
        },
    });
    true
}

/// Another session open at the same time from far away.
pub fn concurrent_sessions(i: &Input<'_>, travel_fired: bool, out: &mut Vec<Reason>) {
    let Some(p) = i.history() else { return };
    let Some(here) = i.ip.location.coords else {
        return;
    };
    let t = i.policy;
    let now = i.now();
    let ip = keys::ip(i.ip.ip);
    let cur_key = i.place_key.unwrap_or(0);
    let last_place = p.last_success.map(|l| l.place);
    let far = p
        .sessions
        .iter()
        .filter(|s| {
            now.secs() - s.last as i64 <= t.travel.session_ttl_secs && now.secs() >= s.last as i64
        })
        .filter(|s| s.ip != ip && s.place != cur_key)
        .filter(|s| !(travel_fired && Some(s.place) == last_place))
        .filter_map(|s| s.coords.map(|c| (s, c.distance_km(here))))
        .filter(|(_, d)| *d >= t.travel.concurrent_min_km)
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((s, d)) = far else { return };
    let (damp, both_known) = between_known_places(p, cur_key, s.place, now, t);
    out.push(Reason {
        code: ReasonCode::ConcurrentDistantSessions,
        weight: t.weights.concurrent_distant_sessions * damp as f32,
        alert: !both_known,
        evidence: Evidence::Concurrent {
            other: i.named(s.place, s.coords),
            distance_km: d,
            minutes_ago: (now.secs() - s.last as i64) as f64 / 60.0,
        },
    });
}

/// A new device id or client program for this user.
pub fn new_device_or_client(i: &Input<'_>, out: &mut Vec<Reason>) {
    let Some(p) = i.history() else { return };
    let (now, l, w) = (i.now(), &i.policy.learning, &i.policy.weights);
    if let Some(device) = &i.attempt.device {
        if !p.devices.is_empty() && known(&p.devices, keys::text(device), now, l).is_none() {
            out.push(reason(
                ReasonCode::NewDevice,
                w.new_device,
                Evidence::Device {
                    device: device.clone(),
                },
            ));
        }
    }
    if let Some(family) = &i.attempt.client {
        let automated = family.kind == ClientKind::Automated;
        let unknown = known(&p.clients, keys::text(&family.name), now, l).is_none();
        if unknown && (!p.clients.is_empty() || automated) {
            let weight = if automated {
                w.new_automated_client
            } else {
                w.new_client
            };
            out.push(reason(
                ReasonCode::NewClient,
                weight,
                Evidence::Client {
                    client: family.name.clone(),
                    automated,
                },
            ));
        }
    }
}

/// An hour of day at which this user rarely logs in.
pub fn unusual_hour(i: &Input<'_>, out: &mut Vec<Reason>) {
    let Some(p) = i.history() else { return };
    let l = &i.policy.learning;
    if p.logins < l.min_logins_for_hours {
        return;
    }
    let hour = i.now().hour_of_day(l.utc_offset_minutes);
    let (share, total) = p.hour_share(hour);
    if total > 0.0 && share < l.unusual_hour_share {
        out.push(reason(
            ReasonCode::UnusualHour,
            i.policy.weights.unusual_hour,
            Evidence::Hour { hour, share },
        ));
    }
}

/// Anonymizers and datacenter networks.
pub fn network(i: &Input<'_>, out: &mut Vec<Reason>) {
    let net = &i.ip.network;
    let w = &i.policy.weights;
    let familiar = if i.asn_known() { 0.3 } else { 1.0 };
    if let Some(kind) = net.anonymizer {
        let base = if kind == AnonymizerKind::Tor {
            w.tor
        } else {
            w.vpn_or_proxy
        };
        out.push(alerting(
            ReasonCode::AnonymizerIp,
            base * familiar,
            Evidence::Anonymizer { kind },
        ));
    } else if net.datacenter && !i.asn_known() {
        out.push(reason(
            ReasonCode::DatacenterIp,
            w.datacenter,
            Evidence::Datacenter {
                asn: net.asn,
                organisation: net.organisation.clone(),
            },
        ));
    }
}

/// The organisation's own addresses: configured ranges, or an address many
/// colleagues log in from and that is not a spraying source.
pub fn known_org_ip(i: &Input<'_>) -> Option<Reason> {
    let trust = i.policy.weights.known_org_ip_trust;
    if let Some(range) = &i.ip.network.org_range {
        return Some(reason(
            ReasonCode::KnownOrgIp,
            trust,
            Evidence::KnownOrgIp {
                range: Some(range.clone()),
                colleagues: i.signals.ip_colleagues,
            },
        ));
    }
    let s = i.signals;
    let shared = s.ip_colleagues >= i.policy.attacks.shared_ip_min_users as u64
        && s.ip_failed_accounts * 2 < s.ip_colleagues
        && i.ip.network.anonymizer.is_none();
    shared.then(|| {
        reason(
            ReasonCode::KnownOrgIp,
            trust,
            Evidence::KnownOrgIp {
                range: None,
                colleagues: s.ip_colleagues,
            },
        )
    })
}

/// Brute force, spraying and stuffing from the global counters. These are
/// not softened by trust in the address.
///
/// Failures counted against the account from anywhere
/// ([`ReasonCode::AccountUnderAttack`]) challenge only sources the user is
/// not known to log in from: the owner at a familiar source
/// ([`Input::familiar_source`]) or an organisation address keeps getting
/// in while guesses elsewhere go on, and the attackers' own addresses are
/// held back by their lockouts and by this challenge.
pub fn attacks(i: &Input<'_>, org_known: bool, out: &mut Vec<Reason>) {
    let s = i.signals;
    let a = &i.policy.attacks;
    let w = &i.policy.weights;
    if let Some((failures, until)) = s.lockout {
        out.push(reason(
            ReasonCode::BruteForceLockout,
            1.0,
            Evidence::Lockout { failures, until },
        ));
    }
    if s.account_failures >= a.account_failures && !org_known && !i.familiar_source() {
        out.push(reason(
            ReasonCode::AccountUnderAttack,
            w.account_under_attack,
            Evidence::AccountAttack {
                failures: s.account_failures,
                window_secs: a.account_window_secs,
            },
        ));
    }
    if !org_known {
        if s.ip_failed_accounts >= a.spray_accounts_per_ip as u64 {
            out.push(reason(
                ReasonCode::PasswordSpraying,
                w.password_spraying,
                Evidence::Spraying {
                    accounts: s.ip_failed_accounts,
                    scope: Scope::Ip,
                    window_secs: a.spray_window_secs,
                },
            ));
        } else if s.subnet_failed_accounts >= a.spray_accounts_per_subnet as u64 {
            out.push(reason(
                ReasonCode::PasswordSpraying,
                w.password_spraying * 0.9,
                Evidence::Spraying {
                    accounts: s.subnet_failed_accounts,
                    scope: Scope::Subnet,
                    window_secs: a.spray_window_secs,
                },
            ));
        }
    }
    if let Some(failures) = s.wave_failures {
        if !org_known && !i.asn_known() {
            // An address that already failed on other accounts during the
            // wave is very likely part of it.
            let boost = if s.ip_failed_accounts >= 2 { 0.3 } else { 0.0 };
            out.push(reason(
                ReasonCode::CredentialStuffing,
                (w.credential_stuffing + boost).min(0.95),
                Evidence::Stuffing {
                    failures,
                    window_secs: a.wave_window_secs,
                },
            ));
        }
    }
}

/// Says so while the profile is still young.
pub fn learning_period(i: &Input<'_>) -> Option<Reason> {
    let needed = i.policy.learning.learning_logins;
    let logins = i.profile.map_or(0, |p| p.logins);
    (logins < needed).then(|| {
        reason(
            ReasonCode::LearningPeriod,
            0.0,
            Evidence::Learning { logins, needed },
        )
    })
}

/// The population key of a country.
pub fn country_key(c: crate::domain::Country) -> u64 {
    keys::text(c.as_str())
}

/// The statistical model next to the rules: the log-likelihood ratio of the
/// login's place (country → region → city), network (ASN) and client family
/// under everybody versus under this user's decayed history
/// ([`crate::stats`]). Above `statistics.from` it adds `statistical_anomaly`,
/// at full weight from `statistics.full_at`. It sees what single rules miss:
/// several features each a little off at once (a new network and a new
/// client in the user's own city).
pub fn statistical(i: &Input<'_>, out: &mut Vec<Reason>) {
    let s = &i.policy.statistics;
    let Some(p) = i.history() else { return };
    if s.weight <= 0.0 {
        return;
    }
    let now = i.now();
    let l = &i.policy.learning;
    // A login whose place, network, client and device the user all knows
    // scores at or below zero: skip the arithmetic (most logins).
    let place_known = i.place_key.is_some_and(|k| p.place(k, now, l).is_some());
    let client_known = i
        .attempt
        .client
        .as_ref()
        .is_none_or(|c| known(&p.clients, keys::text(&c.name), now, l).is_some());
    let device_known = i.attempt.device.is_none() || i.device_known();
    if place_known && client_known && device_known && i.asn_known() {
        return;
    }
    let t = now.secs().clamp(0, u32::MAX as i64) as u32;
    let hl = l.half_life_days;
    let pop = i.population.at(t, hl);
    let weight_of = |w: Option<f32>| f64::from(w.unwrap_or(0.0));
    let user_total: f64 = p
        .countries
        .iter()
        .map(|c| f64::from(c.weight_at(now, hl)))
        .sum();
    let pop_total = pop.total();
    let loc = &i.ip.location;
    let mut place = Vec::with_capacity(3);
    if let Some(c) = loc.country {
        let ck = country_key(c);
        let u_country = weight_of(
            p.countries
                .iter()
                .find(|x| x.key == c)
                .map(|x| x.weight_at(now, hl)),
        );
        place.push(LevelCounts {
            user: u_country,
            user_parent: user_total,
            user_distinct: p.countries.len() as f64,
            pop: pop.weight(Feature::Country, ck),
            pop_parent: pop_total,
            pop_distinct: pop.distinct(Feature::Country),
        });
        if let Some(rk) = i.region_key {
            let u_region = weight_of(
                p.regions
                    .iter()
                    .find(|x| x.key == rk)
                    .map(|x| x.weight_at(now, hl)),
            );
            place.push(LevelCounts {
                user: u_region,
                user_parent: u_country,
                user_distinct: p.regions.len() as f64,
                pop: pop.weight(Feature::Region, rk),
                pop_parent: pop.weight(Feature::Country, ck),
                pop_distinct: pop.distinct(Feature::Region),
            });
            if let Some(pk) = i.place_key {
                let u_city = weight_of(
                    p.cities
                        .iter()
                        .find(|x| x.seen.key == pk)
                        .map(|x| x.seen.weight_at(now, hl)),
                );
                place.push(LevelCounts {
                    user: u_city,
                    user_parent: u_region,
                    user_distinct: p.cities.len() as f64,
                    pop: pop.weight(Feature::City, pk),
                    pop_parent: pop.weight(Feature::Region, rk),
                    pop_distinct: pop.distinct(Feature::City),
                });
            }
        }
    }
    let mut llr = log_likelihood_ratio(&place);
    // One-level features: the value's decayed weight in the user's list
    // against the list's total (or all logins), and the population's.
    let single = |list: &[crate::profile::Seen<u64>], key: u64, f: Feature, parent: Option<f64>| {
        let user = weight_of(
            list.iter()
                .find(|x| x.key == key)
                .map(|x| x.weight_at(now, hl)),
        );
        let user_parent =
            parent.unwrap_or_else(|| list.iter().map(|x| f64::from(x.weight_at(now, hl))).sum());
        log_likelihood_ratio(&[LevelCounts {
            user,
            user_parent,
            user_distinct: list.len() as f64,
            pop: pop.weight(f, key),
            pop_parent: pop_total,
            pop_distinct: pop.distinct(f),
        }])
    };
    if let Some(a) = i.ip.network.habit_key() {
        // The AS list holds u32 keys.
        let u = weight_of(
            p.asns
                .iter()
                .find(|x| x.key == a)
                .map(|x| x.weight_at(now, hl)),
        );
        llr += log_likelihood_ratio(&[LevelCounts {
            user: u,
            user_parent: user_total,
            user_distinct: p.asns.len() as f64,
            pop: pop.weight(Feature::Asn, u64::from(a)),
            pop_parent: pop_total,
            pop_distinct: pop.distinct(Feature::Asn),
        }]);
    }
    if let Some(c) = &i.attempt.client {
        llr += single(
            &p.clients,
            keys::text(&c.name),
            Feature::Client,
            Some(user_total),
        );
    }
    if let Some(d) = i.attempt.device.as_deref() {
        // Devices are nearly personal: the population side is small, and a
        // new device counts about as much as the user's history is long.
        llr += single(&p.devices, keys::text(d), Feature::Device, None);
    }
    // The IP level under the network: on a network the user knows, a
    // prefix never logged in from, weighed by how often the user's logins
    // bring new prefixes (a home line whose address changes every few days
    // says little). Under a new network the network level has already
    // counted the novelty; the level below adds no evidence (as in the
    // hierarchy's smoothing, where an unseen parent backs off entirely).
    if i.asn_known() {
        llr += p
            .addresses
            .novelty(keys::prefix(i.attempt.ip))
            .unwrap_or(0.0);
    }
    let share = ((llr as f32 - s.from) / (s.full_at - s.from)).clamp(0.0, 1.0);
    if share > 0.0 {
        out.push(reason(
            ReasonCode::StatisticalAnomaly,
            s.weight * share,
            Evidence::Statistical {
                ratio: (llr as f32).exp(),
            },
        ));
    }
}

/// An access rule of the policy (blocklist, allowlist, geo-fence, protocols)
/// refuses the login outright.
pub fn access(i: &Input<'_>) -> Option<Reason> {
    let rule = i.access.check(i.ip, i.attempt.protocol)?;
    Some(reason(
        ReasonCode::AccessDenied,
        1.0,
        Evidence::Access { rule },
    ))
}
