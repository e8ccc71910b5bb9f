//! The engine: all users' profiles, the place catalog and the global
//! counters, with `evaluate` (before the password check) and `record` (the
//! outcome, after). Pure state: no IO, no clock of its own; every call
//! carries the attempt's time.

use std::collections::hash_map::Entry;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::access::AccessRules;
use crate::assess::{assess, Assessment};
use crate::counters::{Counters, PasswordFingerprint, Signals};
use crate::detect::{self, Input};
use crate::domain::{IpInfo, LoginAttempt, Name, Outcome};
use crate::policy::{InvalidPolicy, Policy};
use crate::profile::{keys, Observation, PlaceCatalog, Profile, SnapshotError};
use crate::stats::{Feature, Population};
use crate::time::Timestamp;
use crate::trust::Trust;
use crate::unconfirmed::{self, Unconfirmed};

/// Sizes, for metrics and the memory benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineStats {
    pub profiles: usize,
    pub places: usize,
    pub counter_keys: usize,
    pub lockouts: usize,
    /// Bytes held by profiles (struct plus heap), excluding map overhead.
    pub profile_bytes: usize,
}

/// Warden's risk engine.
#[derive(Debug, Clone)]
pub struct Engine {
    policy: Policy,
    profiles: FxHashMap<Name, Profile>,
    catalog: PlaceCatalog,
    counters: Counters,
    population: Population,
    access: AccessRules,
    /// Bytes held by all profiles, kept as they change so that
    /// [`Engine::stats`] is a lookup, not a walk.
    profile_bytes: usize,
}

fn bytes_of(p: &Profile) -> usize {
    std::mem::size_of::<Profile>() + p.heap_bytes()
}

impl Engine {
    /// An engine with no history under a validated policy.
    pub fn new(policy: Policy) -> Result<Self, InvalidPolicy> {
        policy.validate()?;
        let access = AccessRules::new(&policy.access)?;
        Ok(Engine {
            policy,
            profiles: FxHashMap::default(),
            catalog: PlaceCatalog::default(),
            counters: Counters::default(),
            population: Population::default(),
            access,
            profile_bytes: 0,
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Global signals for an attempt.
    pub fn signals(&self, user: &str, ip: IpAddr, now: Timestamp) -> Signals {
        self.counters.signals(user, ip, now, &self.policy.attacks)
    }

    /// True when the attempt presents a wrong password (by fingerprint) that
    /// already failed for this user from this address within the lockout
    /// window.
    pub fn repeats_wrong_password(
        &self,
        attempt: &LoginAttempt,
        fingerprint: PasswordFingerprint,
    ) -> bool {
        self.counters.is_repeat(
            &attempt.user,
            attempt.ip,
            fingerprint,
            attempt.ts,
            &self.policy.attacks,
        )
    }

    /// Scores an attempt before the password is checked, with the engine's
    /// own counters. Changes nothing.
    pub fn evaluate(&self, attempt: &LoginAttempt, ip: &IpInfo) -> Assessment {
        let signals = self.signals(&attempt.user, attempt.ip, attempt.ts);
        self.evaluate_with(attempt, ip, &signals)
    }

    /// Scores an attempt with `signals` from counters kept elsewhere (the
    /// service keeps them in its short-lived state, which several nodes can
    /// share). Changes nothing.
    pub fn evaluate_with(
        &self,
        attempt: &LoginAttempt,
        ip: &IpInfo,
        signals: &Signals,
    ) -> Assessment {
        self.assess_against(attempt, ip, signals, self.profiles.get(&*attempt.user))
    }

    /// Scores an attempt as if its user had no history: what may be said
    /// before the password is known. The answer is the same whether the
    /// user exists, has a profile or not (lockouts, access rules, spraying,
    /// stuffing and the address's network still apply: they are not about
    /// the user), so a refusal on it tells an unauthenticated client
    /// nothing about who exists or was recently active. Changes nothing.
    pub fn evaluate_anonymous(
        &self,
        attempt: &LoginAttempt,
        ip: &IpInfo,
        signals: &Signals,
    ) -> Assessment {
        self.assess_against(attempt, ip, signals, None)
    }

    fn assess_against(
        &self,
        attempt: &LoginAttempt,
        ip: &IpInfo,
        signals: &Signals,
        profile: Option<&Profile>,
    ) -> Assessment {
        assess(&Input {
            attempt,
            ip,
            profile,
            catalog: &self.catalog,
            signals,
            policy: &self.policy,
            population: &self.population,
            access: &self.access,
            region_key: keys::region(&ip.location),
            place_key: keys::place(&ip.location),
        })
    }

    /// Records how the attempt ended; a success teaches the user's profile
    /// (as trusted: see [`Engine::record_as`]). Returns the user's profile
    /// when it changed.
    pub fn record(
        &mut self,
        attempt: &LoginAttempt,
        ip: &IpInfo,
        outcome: Outcome,
    ) -> Option<&Profile> {
        self.record_with(attempt, ip, outcome, None)
    }

    /// [`Engine::record`] for a failure whose wrong password has a known
    /// fingerprint: repeating a wrong password already counted from the same
    /// address is not another guess (see [`crate::counters`]).
    pub fn record_with(
        &mut self,
        attempt: &LoginAttempt,
        ip: &IpInfo,
        outcome: Outcome,
        fingerprint: Option<PasswordFingerprint>,
    ) -> Option<&Profile> {
        self.record_as(attempt, ip, outcome, fingerprint, Trust::Trusted)
    }

    /// Records how the attempt ended; a success teaches the profile as
    /// `trust` says ([`Engine::learn_as`]).
    pub fn record_as(
        &mut self,
        attempt: &LoginAttempt,
        ip: &IpInfo,
        outcome: Outcome,
        fingerprint: Option<PasswordFingerprint>,
        trust: Trust,
    ) -> Option<&Profile> {
        self.counters.record_with(
            &attempt.user,
            attempt.ip,
            outcome,
            fingerprint,
            attempt.ts,
            &self.policy.attacks,
        );
        self.learn_as(attempt, ip, outcome, trust)
    }

    /// Teaches the user's profile and the population from a trusted
    /// success (and nothing from a failure), leaving the counters alone: for
    /// counters kept elsewhere ([`Engine::evaluate_with`]). Returns the
    /// user's profile when it changed.
    pub fn learn(
        &mut self,
        attempt: &LoginAttempt,
        ip: &IpInfo,
        outcome: Outcome,
    ) -> Option<&Profile> {
        self.learn_as(attempt, ip, outcome, Trust::Trusted)
    }

    /// [`Engine::learn`] under `trust`: a trusted success is learned (and
    /// any unconfirmed observation of its place and network with it); an
    /// untrusted one is kept as an unconfirmed observation, which teaches
    /// nothing until it is confirmed ([`Engine::confirm`]) or, without an
    /// attack signal, seen on `learning.confirm_after_days` distinct days.
    pub fn learn_as(
        &mut self,
        attempt: &LoginAttempt,
        ip: &IpInfo,
        outcome: Outcome,
        trust: Trust,
    ) -> Option<&Profile> {
        if !outcome.is_success() {
            return None;
        }
        let region_key = keys::region(&ip.location);
        let place_key = keys::place(&ip.location);
        if let Some(k) = place_key {
            self.catalog.remember_as(k, &ip.location);
        }
        let Trust::Unconfirmed { attack } = trust else {
            return Some(self.learn_trusted(attempt, ip, region_key, place_key));
        };
        let seen = Unconfirmed {
            place: place_key.unwrap_or(0),
            region: region_key.unwrap_or(0),
            country: ip.location.country,
            coords: ip.location.coords,
            asn: ip.network.habit_key().unwrap_or(0),
            device: attempt.device.as_deref().map_or(0, keys::text),
            client: attempt.client.as_ref().map_or(0, |c| keys::text(&c.name)),
            prefix: keys::prefix(attempt.ip),
            first: 0,
            last: attempt.ts.secs().clamp(0, u32::MAX as i64) as u32,
            days: 0,
            logins: 0,
            flagged: false,
        };
        let l = &self.policy.learning;
        let (offset, after) = (l.utc_offset_minutes, l.confirm_after_days);
        let (profile, before) = profile_entry(&mut self.profiles, &attempt.user);
        let u = unconfirmed::note(&mut profile.unconfirmed, seen, attack, offset);
        let confirmed = after > 0 && !u.flagged && u.days >= after;
        self.profile_bytes = self.profile_bytes + bytes_of(profile) - before;
        if confirmed {
            return Some(self.learn_trusted(attempt, ip, region_key, place_key));
        }
        self.profiles.get(&*attempt.user)
    }

    /// Confirms a successful login as the user's own (the user's "yes, it
    /// was me", an admin's confirmation): learns it as trusted and drops
    /// the unconfirmed observation of its place and network. Returns the
    /// user's profile.
    pub fn confirm(&mut self, attempt: &LoginAttempt, ip: &IpInfo) -> &Profile {
        let region_key = keys::region(&ip.location);
        let place_key = keys::place(&ip.location);
        if let Some(k) = place_key {
            self.catalog.remember_as(k, &ip.location);
        }
        self.learn_trusted(attempt, ip, region_key, place_key)
    }

    /// Marks the unconfirmed observations of `ip`'s place and network as
    /// disowned (the user said "not me"): no rule confirms them on their
    /// own. Returns how many there were.
    pub fn disown(&mut self, user: &str, ip: &IpInfo) -> usize {
        let place = keys::place(&ip.location).unwrap_or(0);
        let asn = ip.network.habit_key().unwrap_or(0);
        self.profiles.get_mut(user).map_or(0, |p| {
            p.unconfirmed
                .iter_mut()
                .filter(|u| u.is_of(place, asn))
                .map(|u| u.flagged = true)
                .count()
        })
    }
}

/// The user's profile for a change, with its size before it.
fn profile_entry<'a>(
    profiles: &'a mut FxHashMap<Name, Profile>,
    user: &Name,
) -> (&'a mut Profile, usize) {
    match profiles.entry(user.clone()) {
        Entry::Occupied(o) => {
            let p = o.into_mut();
            let before = bytes_of(p);
            (p, before)
        }
        Entry::Vacant(v) => (v.insert(Profile::default()), 0),
    }
}

impl Engine {
    fn learn_trusted(
        &mut self,
        attempt: &LoginAttempt,
        ip: &IpInfo,
        region_key: Option<u64>,
        place_key: Option<u64>,
    ) -> &Profile {
        let obs = Observation {
            location: Some(&ip.location),
            region_key,
            place_key,
            asn: ip.network.habit_key(),
            device: attempt.device.as_deref().map(keys::text),
            client: attempt.client.as_ref().map(|c| keys::text(&c.name)),
            ip: keys::ip(attempt.ip),
            prefix: keys::prefix(attempt.ip),
        };
        self.learn_population(attempt, ip, region_key, place_key);
        let ttl = self.policy.travel.session_ttl_secs;
        let (profile, before) = profile_entry(&mut self.profiles, &attempt.user);
        profile.learn(attempt.ts, &obs, &self.policy.learning, ttl);
        unconfirmed::forget(
            &mut profile.unconfirmed,
            place_key.unwrap_or(0),
            obs.asn.unwrap_or(0),
        );
        self.profile_bytes = self.profile_bytes + bytes_of(profile) - before;
        profile
    }

    /// Evaluates, then records the outcome: what replay does per event.
    pub fn observe(&mut self, attempt: &LoginAttempt, ip: &IpInfo, outcome: Outcome) -> Assessment {
        let a = self.evaluate(attempt, ip);
        self.record(attempt, ip, outcome);
        a
    }

    /// Lifts `user`'s risk-control lockouts (an admin unlocked the account);
    /// returns how many there were.
    pub fn lift_lockouts(&mut self, user: &str) -> usize {
        self.counters.lift_lockouts(user)
    }

    /// Forgets counters that can no longer matter at `now`.
    pub fn prune(&mut self, now: Timestamp) {
        self.counters.prune(now, &self.policy.attacks);
    }

    /// Every user's profile.
    pub fn profiles(&self) -> impl Iterator<Item = (&Name, &Profile)> {
        self.profiles.iter()
    }

    pub fn profile(&self, user: &str) -> Option<&Profile> {
        self.profiles.get(user)
    }

    pub fn catalog(&self) -> &PlaceCatalog {
        &self.catalog
    }

    /// The user's profile as a snapshot for storage.
    pub fn snapshot(&self, user: &str) -> Option<Vec<u8>> {
        self.profiles
            .get(user)
            .map(|p| p.to_snapshot(&self.catalog))
    }

    /// Restores a profile from a stored snapshot.
    pub fn restore(&mut self, user: Name, snapshot: &[u8]) -> Result<(), SnapshotError> {
        let profile = Profile::from_snapshot(snapshot, &mut self.catalog)?;
        self.absorb_population(&profile);
        self.profile_bytes += bytes_of(&profile);
        if let Some(old) = self.profiles.insert(user, profile) {
            self.profile_bytes -= bytes_of(&old);
        }
        Ok(())
    }

    /// Counts one successful login in the population.
    fn learn_population(
        &mut self,
        attempt: &LoginAttempt,
        ip: &IpInfo,
        region_key: Option<u64>,
        place_key: Option<u64>,
    ) {
        let hl = self.policy.learning.half_life_days;
        let t = attempt.ts.secs().clamp(0, u32::MAX as i64) as u32;
        let pop = &mut self.population;
        let loc = &ip.location;
        if let Some(c) = loc.country {
            pop.add(Feature::Country, detect::country_key(c), 1.0, t, hl);
        }
        if let Some(r) = region_key {
            pop.add(Feature::Region, r, 1.0, t, hl);
        }
        if let Some(p) = place_key {
            pop.add(Feature::City, p, 1.0, t, hl);
        }
        if let Some(a) = ip.network.habit_key() {
            pop.add(Feature::Asn, u64::from(a), 1.0, t, hl);
        }
        if let Some(c) = &attempt.client {
            pop.add(Feature::Client, keys::text(&c.name), 1.0, t, hl);
        }
        if let Some(d) = attempt.device.as_deref() {
            pop.add(Feature::Device, keys::text(d), 1.0, t, hl);
        }
    }

    /// Adds a restored profile's history to the population (start-up: the
    /// population is the sum of everybody's habits).
    fn absorb_population(&mut self, p: &Profile) {
        let hl = self.policy.learning.half_life_days;
        let pop = &mut self.population;
        for c in &p.countries {
            pop.add(
                Feature::Country,
                detect::country_key(c.key),
                c.weight,
                c.last,
                hl,
            );
        }
        for r in &p.regions {
            pop.add(Feature::Region, r.key, r.weight, r.last, hl);
        }
        for c in &p.cities {
            pop.add(Feature::City, c.seen.key, c.seen.weight, c.seen.last, hl);
        }
        for a in &p.asns {
            pop.add(Feature::Asn, u64::from(a.key), a.weight, a.last, hl);
        }
        for c in &p.clients {
            pop.add(Feature::Client, c.key, c.weight, c.last, hl);
        }
        for d in &p.devices {
            pop.add(Feature::Device, d.key, d.weight, d.last, hl);
        }
    }

    /// Sizes, in constant time: every figure is a length or a running
    /// total, so it may be asked under the lock at any rate.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            profiles: self.profiles.len(),
            places: self.catalog.len(),
            counter_keys: self.counters.tracked(),
            lockouts: self.counters.lockouts(),
            profile_bytes: self.profile_bytes,
        }
    }
}
