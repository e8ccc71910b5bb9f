//! A user's learned habits: usual countries, regions and cities, networks,
//! devices, client programs and hours, each with a recency-weighted count
//! that halves every `half_life_days`; the last successful login and the
//! sessions still open.
//!
//! Profiles are small (a few hundred bytes): places are kept as 64-bit keys
//! with coordinates, and their names live once in the engine's
//! [`PlaceCatalog`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::{Coords, Country, Location};
use crate::hash::stable_hash;
use crate::policy::Learning;
use crate::time::Timestamp;
use crate::unconfirmed::Unconfirmed;

/// How many entries each list keeps; the weakest is evicted beyond that.
pub const MAX_COUNTRIES: usize = 4;
pub const MAX_REGIONS: usize = 6;
pub const MAX_CITIES: usize = 8;
pub const MAX_ASNS: usize = 6;
pub const MAX_DEVICES: usize = 6;
pub const MAX_CLIENTS: usize = 5;
pub const MAX_SESSIONS: usize = 4;

/// Something seen, with a decaying weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Seen<K> {
    pub key: K,
    /// Weight as of `last`.
    pub weight: f32,
    /// When last seen, seconds since the epoch.
    pub last: u32,
}

/// A city (or the most precise place known) the user logged in from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeenPlace {
    pub seen: Seen<u64>,
    pub coords: Option<Coords>,
}

/// The last successful login, for impossible-travel checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LastLogin {
    pub ts: u32,
    pub place: u64,
    pub coords: Option<Coords>,
    pub accuracy_km: u16,
}

/// A session opened by a successful login and kept alive by later ones from
/// the same address.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub ip: u64,
    pub place: u64,
    pub coords: Option<Coords>,
    pub started: u32,
    pub last: u32,
}

/// One user's profile.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Profile {
    /// First successful login.
    pub first_seen: u32,
    /// Successful logins ever.
    pub logins: u32,
    pub countries: Vec<Seen<Country>>,
    pub regions: Vec<Seen<u64>>,
    pub cities: Vec<SeenPlace>,
    pub asns: Vec<Seen<u32>>,
    pub devices: Vec<Seen<u64>>,
    pub clients: Vec<Seen<u64>>,
    /// Logins per hour of day (decayed as a whole).
    pub hours: [f32; 24],
    pub hours_last: u32,
    pub last_success: Option<LastLogin>,
    pub sessions: Vec<Session>,
    /// Kept in the snapshot next to the profile (added in version 2).
    #[serde(skip)]
    pub addresses: AddressSet,
    /// Untrusted successes, kept aside until confirmed (see
    /// [`crate::unconfirmed`]); in the snapshot since version 3.
    #[serde(skip)]
    pub unconfirmed: Vec<Unconfirmed>,
}

/// Decay factor for `dt` seconds at the given half-life.
fn decay(dt_secs: i64, half_life_days: f32) -> f32 {
    if dt_secs <= 0 {
        return 1.0;
    }
    (-(dt_secs as f32) / (half_life_days * 86_400.0)).exp2()
}

fn secs32(ts: Timestamp) -> u32 {
    ts.secs().clamp(0, u32::MAX as i64) as u32
}

impl<K: PartialEq + Copy> Seen<K> {
    /// The weight at `now`.
    pub fn weight_at(&self, now: Timestamp, half_life_days: f32) -> f32 {
        self.weight * decay(now.secs() - self.last as i64, half_life_days)
    }
}

/// Adds one observation of `key` to `list`, evicting the weakest entry
/// (or anything already forgotten) when full.
fn bump<'a, K: PartialEq + Copy, T: Weighted<K>>(
    list: &'a mut Vec<T>,
    key: K,
    now: Timestamp,
    cap: usize,
    l: &Learning,
    new: impl FnOnce(Seen<K>) -> T,
) -> &'a mut T {
    let at = |s: &Seen<K>| s.weight_at(now, l.half_life_days);
    if let Some(i) = list.iter().position(|e| e.seen().key == key) {
        let s = list[i].seen_mut();
        s.weight = at(s) + 1.0;
        s.last = secs32(now);
        return &mut list[i];
    }
    list.retain(|e| at(e.seen()) >= l.forget_below);
    let entry = new(Seen {
        key,
        weight: 1.0,
        last: secs32(now),
    });
    let weakest = list
        .iter()
        .enumerate()
        .min_by(|a, b| at(a.1.seen()).total_cmp(&at(b.1.seen())))
        .map(|(i, _)| i);
    match weakest {
        Some(i) if list.len() >= cap => {
            list[i] = entry;
            &mut list[i]
        }
        _ => {
            push_exact(list, entry);
            let last = list.len() - 1;
            &mut list[last]
        }
    }
}

/// Pushes without spare capacity: lists are short and new entries rare, so
/// the memory of millions of profiles matters more than reallocation.
fn push_exact<T>(list: &mut Vec<T>, item: T) {
    list.reserve_exact(1);
    list.push(item);
}

/// An entry of a decaying list: a [`Seen`] and maybe more.
pub trait Weighted<K> {
    fn seen(&self) -> &Seen<K>;
    fn seen_mut(&mut self) -> &mut Seen<K>;
}

impl<K> Weighted<K> for Seen<K> {
    fn seen(&self) -> &Seen<K> {
        self
    }
    fn seen_mut(&mut self) -> &mut Seen<K> {
        self
    }
}

impl Weighted<u64> for SeenPlace {
    fn seen(&self) -> &Seen<u64> {
        &self.seen
    }
    fn seen_mut(&mut self) -> &mut Seen<u64> {
        &mut self.seen
    }
}

/// Looks `key` up and answers its weight at `now` when it is still remembered.
pub fn known<K: PartialEq + Copy>(
    list: &[Seen<K>],
    key: K,
    now: Timestamp,
    l: &Learning,
) -> Option<f32> {
    list.iter()
        .find(|s| s.key == key)
        .map(|s| s.weight_at(now, l.half_life_days))
        .filter(|w| *w >= l.forget_below)
}

/// Stable keys for places, regions, devices and clients.
pub mod keys {
    use super::*;

    /// The most precise place of a location: country + region + city.
    pub fn place(l: &Location) -> Option<u64> {
        let c = l.country?;
        Some(stable_hash(&[
            c.as_str().as_bytes(),
            l.region.as_deref().unwrap_or("").as_bytes(),
            l.city.as_deref().unwrap_or("").as_bytes(),
        ]))
    }

    /// Country + region.
    pub fn region(l: &Location) -> Option<u64> {
        let c = l.country?;
        let r = l.region.as_deref()?;
        Some(stable_hash(&[c.as_str().as_bytes(), r.as_bytes()]))
    }

    pub fn text(s: &str) -> u64 {
        stable_hash(&[s.as_bytes()])
    }

    pub fn ip(ip: std::net::IpAddr) -> u64 {
        match ip {
            std::net::IpAddr::V4(v4) => stable_hash(&[&v4.octets()]),
            std::net::IpAddr::V6(v6) => stable_hash(&[&v6.octets()]),
        }
    }

    /// The address's network: IPv4 /24, IPv6 /48 (a household's or an
    /// office's dynamic addresses mostly stay inside one).
    pub fn prefix(ip: std::net::IpAddr) -> u64 {
        match ip {
            std::net::IpAddr::V4(v4) => stable_hash(&[b"4", &v4.octets()[..3]]),
            std::net::IpAddr::V6(v6) => stable_hash(&[b"6", &v6.octets()[..6]]),
        }
    }
}

/// Prefixes in an [`AddressSet`] before it is cleared: beyond this, its
/// 128 bits would let too many new prefixes pass for known ones (about one
/// in five at 40).
const MAX_PREFIXES: u16 = 40;

/// The address prefixes (`keys::prefix`) of a user's successful logins:
/// the IP level of the statistical model's network hierarchy, in 24 bytes.
/// A 128-bit Bloom filter with two probes, the number of distinct prefixes
/// and of logins since it was last cleared (it is cleared when full, which
/// is how it forgets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressSet {
    bits: [u64; 2],
    distinct: u16,
    logins: u32,
}

impl AddressSet {
    fn probes(prefix: u64) -> [u32; 2] {
        [(prefix & 127) as u32, ((prefix >> 32) & 127) as u32]
    }

    fn has_bit(&self, b: u32) -> bool {
        self.bits[(b / 64) as usize] & (1 << (b % 64)) != 0
    }

    /// True when the prefix was (probably) used before.
    pub fn contains(&self, prefix: u64) -> bool {
        Self::probes(prefix).iter().all(|&b| self.has_bit(b))
    }

    /// Records a successful login from `prefix`.
    pub fn insert(&mut self, prefix: u64) {
        if !self.contains(prefix) {
            if self.distinct >= MAX_PREFIXES {
                *self = AddressSet::default();
            }
            for b in Self::probes(prefix) {
                self.bits[(b / 64) as usize] |= 1 << (b % 64);
            }
            self.distinct += 1;
        }
        self.logins = self.logins.saturating_add(1);
    }

    /// How much a login from `prefix` speaks against the user, as a log
    /// likelihood ratio: for a prefix never used, Witten–Bell's share of
    /// logins from new prefixes, `d / (n + d)`, inverted and logged (the
    /// population's share of the prefix cancels out). `None` for a known
    /// prefix or no history.
    pub fn novelty(&self, prefix: u64) -> Option<f64> {
        if self.logins == 0 || self.contains(prefix) {
            return None;
        }
        let d = f64::from(self.distinct.max(1));
        Some(((f64::from(self.logins) + d) / d).ln())
    }
}

/// What a successful login teaches the profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observation<'a> {
    pub location: Option<&'a Location>,
    /// `keys::region` and `keys::place` of the location, computed once.
    pub region_key: Option<u64>,
    pub place_key: Option<u64>,
    pub asn: Option<u32>,
    pub device: Option<u64>,
    pub client: Option<u64>,
    pub ip: u64,
    /// `keys::prefix` of the address.
    pub prefix: u64,
}

impl Profile {
    /// Learns from one successful login at `now`.
    pub fn learn(&mut self, now: Timestamp, obs: &Observation<'_>, l: &Learning, session_ttl: i64) {
        let t = secs32(now);
        if self.logins == 0 {
            self.first_seen = t;
        }
        self.logins = self.logins.saturating_add(1);
        let loc = obs.location.filter(|l| !l.is_unknown());
        let mut place_key = 0;
        let mut coords = None;
        let mut accuracy = 0;
        if let Some(loc) = loc {
            if let Some(c) = loc.country {
                bump(&mut self.countries, c, now, MAX_COUNTRIES, l, |s| s);
            }
            if let Some(r) = obs.region_key {
                bump(&mut self.regions, r, now, MAX_REGIONS, l, |s| s);
            }
            if let Some(p) = obs.place_key {
                place_key = p;
                coords = loc.coords;
                accuracy = loc.accuracy_km.unwrap_or(0);
                self.learn_place(p, loc.coords, now, l);
            }
        }
        if let Some(a) = obs.asn {
            bump(&mut self.asns, a, now, MAX_ASNS, l, |s| s);
        }
        if let Some(d) = obs.device {
            bump(&mut self.devices, d, now, MAX_DEVICES, l, |s| s);
        }
        if let Some(c) = obs.client {
            bump(&mut self.clients, c, now, MAX_CLIENTS, l, |s| s);
        }
        self.addresses.insert(obs.prefix);
        self.learn_hour(now, l);
        // A late report of an older login (the clients' `ts`) never moves
        // the last success backwards: travel is judged from the latest one.
        if self.last_success.is_none_or(|last| last.ts <= t) {
            self.last_success = Some(LastLogin {
                ts: t,
                place: place_key,
                coords,
                accuracy_km: accuracy,
            });
        }
        self.touch_session(obs.ip, place_key, coords, t, session_ttl);
    }

    fn learn_place(&mut self, key: u64, coords: Option<Coords>, now: Timestamp, l: &Learning) {
        let place = bump(&mut self.cities, key, now, MAX_CITIES, l, |seen| {
            SeenPlace { seen, coords }
        });
        if coords.is_some() {
            place.coords = coords;
        }
    }

    fn learn_hour(&mut self, now: Timestamp, l: &Learning) {
        let f = decay(now.secs() - self.hours_last as i64, l.half_life_days);
        if f < 1.0 {
            self.hours.iter_mut().for_each(|h| *h *= f);
        }
        self.hours[now.hour_of_day(l.utc_offset_minutes) as usize] += 1.0;
        self.hours_last = self.hours_last.max(secs32(now));
    }

    fn touch_session(&mut self, ip: u64, place: u64, coords: Option<Coords>, t: u32, ttl: i64) {
        self.sessions
            .retain(|s| (t as i64) - (s.last as i64) <= ttl);
        if let Some(s) = self.sessions.iter_mut().find(|s| s.ip == ip) {
            s.last = t;
            s.place = place;
            s.coords = coords;
            return;
        }
        if self.sessions.len() >= MAX_SESSIONS {
            if let Some((i, _)) = self.sessions.iter().enumerate().min_by_key(|(_, s)| s.last) {
                self.sessions.remove(i);
            }
        }
        push_exact(
            &mut self.sessions,
            Session {
                ip,
                place,
                coords,
                started: t,
                last: t,
            },
        );
    }

    /// The remembered city entry for `key`, if any.
    pub fn place(&self, key: u64, now: Timestamp, l: &Learning) -> Option<&SeenPlace> {
        self.cities.iter().find(|c| {
            c.seen.key == key && c.seen.weight_at(now, l.half_life_days) >= l.forget_below
        })
    }

    /// Remembered places, strongest first.
    pub fn usual_places(&self, now: Timestamp, l: &Learning) -> Vec<SeenPlace> {
        let mut v: Vec<SeenPlace> = self
            .cities
            .iter()
            .filter(|c| c.seen.weight_at(now, l.half_life_days) >= l.forget_below)
            .copied()
            .collect();
        v.sort_by(|a, b| {
            b.seen
                .weight_at(now, l.half_life_days)
                .total_cmp(&a.seen.weight_at(now, l.half_life_days))
        });
        v
    }

    /// Distance from `c` to the nearest remembered place with coordinates.
    pub fn nearest_km(&self, c: Coords, now: Timestamp, l: &Learning) -> Option<f64> {
        self.usual_places(now, l)
            .iter()
            .filter_map(|p| p.coords.map(|pc| pc.distance_km(c)))
            .min_by(f64::total_cmp)
    }

    /// The share of (decayed) logins at `hour` with half weight from the
    /// neighbouring hours, and the total weight.
    pub fn hour_share(&self, hour: u8) -> (f32, f32) {
        let total: f32 = self.hours.iter().sum();
        if total <= 0.0 {
            return (0.0, 0.0);
        }
        let h = hour as usize;
        let near = self.hours[h] + 0.5 * (self.hours[(h + 23) % 24] + self.hours[(h + 1) % 24]);
        (near / total, total)
    }

    /// Bytes this profile holds on the heap (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.countries.capacity() * size_of::<Seen<Country>>()
            + self.regions.capacity() * size_of::<Seen<u64>>()
            + self.cities.capacity() * size_of::<SeenPlace>()
            + self.asns.capacity() * size_of::<Seen<u32>>()
            + self.devices.capacity() * size_of::<Seen<u64>>()
            + self.clients.capacity() * size_of::<Seen<u64>>()
            + self.sessions.capacity() * size_of::<Session>()
            + self.unconfirmed.capacity() * size_of::<Unconfirmed>()
    }

    /// Trims spare capacity (after loading or learning in bulk).
    pub fn shrink(&mut self) {
        self.countries.shrink_to_fit();
        self.regions.shrink_to_fit();
        self.cities.shrink_to_fit();
        self.asns.shrink_to_fit();
        self.devices.shrink_to_fit();
        self.clients.shrink_to_fit();
        self.sessions.shrink_to_fit();
        self.unconfirmed.shrink_to_fit();
    }
}

/// Names and coordinates of every place any profile refers to, shared by
/// all profiles so each name is stored once.
#[derive(Debug, Clone, Default)]
pub struct PlaceCatalog {
    places: HashMap<u64, Location>,
}

impl PlaceCatalog {
    /// Remembers `loc` under its place key (first writer wins; names for a
    /// key never change).
    pub fn remember(&mut self, loc: &Location) -> Option<u64> {
        let key = keys::place(loc)?;
        self.remember_as(key, loc);
        Some(key)
    }

    /// [`remember`](Self::remember) with the key already computed.
    pub fn remember_as(&mut self, key: u64, loc: &Location) {
        self.places.entry(key).or_insert_with(|| Location {
            // Sessions and travel need only names and coordinates.
            time_zone: None,
            ..loc.clone()
        });
    }

    pub fn get(&self, key: u64) -> Option<&Location> {
        self.places.get(&key)
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }
}

/// A snapshot could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("profile snapshot is empty")]
    Empty,
    #[error("profile snapshot has unsupported version {0}")]
    Version(u8),
    #[error("profile snapshot is corrupt: {0}")]
    Corrupt(String),
}

/// Version 2 added the address prefixes, version 3 the unconfirmed
/// observations; older snapshots still load (with none).
const SNAPSHOT_VERSION: u8 = 3;

/// Place names stored inside a snapshot so a restarted engine can name the
/// places again.
#[derive(Debug, Serialize, Deserialize)]
struct PlaceRecord {
    key: u64,
    country: Option<Country>,
    region: Option<String>,
    city: Option<String>,
    region_zh: Option<String>,
    city_zh: Option<String>,
    coords: Option<Coords>,
    accuracy_km: Option<u16>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    profile: Profile,
    places: Vec<PlaceRecord>,
    addresses: AddressSet,
    unconfirmed: Vec<Unconfirmed>,
}

/// Version 2: no unconfirmed observations.
#[derive(Deserialize)]
struct SnapshotV2 {
    profile: Profile,
    places: Vec<PlaceRecord>,
    addresses: AddressSet,
}

/// Version 1: no address prefixes.
#[derive(Deserialize)]
struct SnapshotV1 {
    profile: Profile,
    places: Vec<PlaceRecord>,
}

impl Profile {
    /// Encodes the profile with the names of its places (compact binary).
    pub fn to_snapshot(&self, catalog: &PlaceCatalog) -> Vec<u8> {
        let mut keys: Vec<u64> = self.cities.iter().map(|c| c.seen.key).collect();
        keys.extend(self.last_success.map(|l| l.place));
        keys.extend(self.sessions.iter().map(|s| s.place));
        keys.extend(self.unconfirmed.iter().map(|u| u.place));
        keys.sort_unstable();
        keys.dedup();
        let places = keys
            .into_iter()
            .filter_map(|k| {
                catalog.get(k).map(|l| PlaceRecord {
                    key: k,
                    country: l.country,
                    region: l.region.as_deref().map(str::to_string),
                    city: l.city.as_deref().map(str::to_string),
                    region_zh: l.region_zh.as_deref().map(str::to_string),
                    city_zh: l.city_zh.as_deref().map(str::to_string),
                    coords: l.coords,
                    accuracy_km: l.accuracy_km,
                })
            })
            .collect();
        let snap = Snapshot {
            profile: self.clone(),
            places,
            addresses: self.addresses,
            unconfirmed: self.unconfirmed.clone(),
        };
        let mut out = vec![SNAPSHOT_VERSION];
        // Serialising plain data into a Vec cannot fail.
        out.extend(postcard::to_allocvec(&snap).unwrap_or_default());
        out
    }

    /// Decodes a snapshot, adding its place names to `catalog`.
    pub fn from_snapshot(
        bytes: &[u8],
        catalog: &mut PlaceCatalog,
    ) -> Result<Profile, SnapshotError> {
        let (&version, body) = bytes.split_first().ok_or(SnapshotError::Empty)?;
        let corrupt = |e: postcard::Error| SnapshotError::Corrupt(e.to_string());
        let snap: Snapshot = match version {
            1 => {
                let v1: SnapshotV1 = postcard::from_bytes(body).map_err(corrupt)?;
                Snapshot {
                    profile: v1.profile,
                    places: v1.places,
                    addresses: AddressSet::default(),
                    unconfirmed: Vec::new(),
                }
            }
            2 => {
                let v2: SnapshotV2 = postcard::from_bytes(body).map_err(corrupt)?;
                Snapshot {
                    profile: v2.profile,
                    places: v2.places,
                    addresses: v2.addresses,
                    unconfirmed: Vec::new(),
                }
            }
            SNAPSHOT_VERSION => postcard::from_bytes(body).map_err(corrupt)?,
            other => return Err(SnapshotError::Version(other)),
        };
        for p in snap.places {
            catalog.places.entry(p.key).or_insert_with(|| Location {
                country: p.country,
                region: p.region.map(Into::into),
                city: p.city.map(Into::into),
                region_zh: p.region_zh.map(Into::into),
                city_zh: p.city_zh.map(Into::into),
                coords: p.coords,
                accuracy_km: p.accuracy_km,
                time_zone: None,
            });
        }
        let mut profile = snap.profile;
        profile.addresses = snap.addresses;
        profile.unconfirmed = snap.unconfirmed;
        profile
            .unconfirmed
            .truncate(crate::unconfirmed::MAX_UNCONFIRMED);
        profile.shrink();
        Ok(profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l() -> Learning {
        Learning::default()
    }

    fn loc(country: &str, region: &str, city: &str, lat: f32, lon: f32) -> Location {
        Location {
            country: Some(Country::new(country).unwrap()),
            region: Some(region.into()),
            city: Some(city.into()),
            coords: Some(Coords { lat, lon }),
            ..Location::default()
        }
    }

    #[test]
    fn address_prefixes_are_remembered_and_new_ones_weigh_by_the_users_habit() {
        let mut a = AddressSet::default();
        let home = keys::prefix("113.88.1.10".parse().unwrap());
        assert_eq!(
            home,
            keys::prefix("113.88.1.200".parse().unwrap()),
            "one /24"
        );
        assert_eq!(a.novelty(home), None, "no history, no evidence");
        for _ in 0..99 {
            a.insert(home);
        }
        a.insert(keys::prefix("113.88.2.1".parse().unwrap()));
        assert_eq!(a.novelty(home), None);
        let new = keys::prefix("203.0.113.9".parse().unwrap());
        // 100 logins from 2 prefixes: a new one is 51 times less likely.
        let n = a.novelty(new).unwrap();
        assert!((n - 51f64.ln()).abs() < 1e-9, "{n}");
        // A user whose address changes every login: new ones say little.
        let mut roaming = AddressSet::default();
        for i in 0..30u8 {
            roaming.insert(keys::prefix(std::net::IpAddr::from([10, i, 0, 1])));
        }
        assert!(roaming.novelty(new).unwrap() < 1.0);
        // Full: it starts over rather than answer "known" for everything.
        for i in 0..200u8 {
            roaming.insert(keys::prefix(std::net::IpAddr::from([10, 100, i, 1])));
        }
        assert!(roaming.distinct <= MAX_PREFIXES);
        assert!(roaming.contains(keys::prefix("10.100.199.1".parse().unwrap())));
        assert!(!roaming.contains(keys::prefix("10.0.0.1".parse().unwrap())));
    }

    #[test]
    fn weights_decay_with_half_life() {
        let mut list = Vec::new();
        let t0 = Timestamp(1_700_000_000);
        bump(&mut list, 7u32, t0, 4, &l(), |s| s);
        let later = t0.plus_secs(60 * 86_400);
        let w = list[0].weight_at(later, 60.0);
        assert!((w - 0.5).abs() < 1e-4, "{w}");
        bump(&mut list, 7u32, later, 4, &l(), |s| s);
        assert!((list[0].weight - 1.5).abs() < 1e-4);
    }

    #[test]
    fn full_lists_evict_the_weakest_and_forget_the_old() {
        let mut list = Vec::new();
        let t0 = Timestamp(1_700_000_000);
        for k in 0..3u32 {
            bump(&mut list, k, t0, 3, &l(), |s| s);
        }
        bump(&mut list, 0, t0, 3, &l(), |s| s);
        bump(&mut list, 9, t0.plus_secs(10), 3, &l(), |s| s);
        assert_eq!(list.len(), 3);
        assert!(list.iter().any(|s| s.key == 0));
        assert!(list.iter().any(|s| s.key == 9));
        // Four years on, everything is forgotten.
        let far = t0.plus_secs(4 * 365 * 86_400);
        assert!(known(&list, 0, far, &l()).is_none());
    }

    #[test]
    fn an_older_login_learned_late_does_not_move_the_last_success_back() {
        let sz = loc("CN", "Guangdong", "Shenzhen", 22.54, 114.06);
        let bj = loc("CN", "Beijing", "Beijing", 39.9, 116.4);
        fn obs(at: &Location) -> Observation<'_> {
            Observation {
                location: Some(at),
                region_key: keys::region(at),
                place_key: keys::place(at),
                asn: None,
                device: None,
                client: None,
                ip: 3,
                prefix: 4,
            }
        }
        let mut p = Profile::default();
        let now = Timestamp(1_700_000_000);
        p.learn(now, &obs(&sz), &l(), 1800);
        p.learn(Timestamp(now.secs() - 86_400), &obs(&bj), &l(), 1800);
        let last = p.last_success.unwrap();
        assert_eq!(last.ts, 1_700_000_000);
        assert_eq!(last.place, keys::place(&sz).unwrap());
        assert_eq!(p.logins, 2, "the older login is still learned");
    }

    #[test]
    fn snapshot_round_trip_restores_names() {
        let mut cat = PlaceCatalog::default();
        let sz = loc("CN", "Guangdong", "Shenzhen", 22.54, 114.06);
        cat.remember(&sz);
        let mut p = Profile::default();
        let now = Timestamp(1_700_000_000);
        p.learn(
            now,
            &Observation {
                location: Some(&sz),
                region_key: keys::region(&sz),
                place_key: keys::place(&sz),
                asn: Some(4134),
                device: Some(1),
                client: Some(2),
                ip: 3,
                prefix: 4,
            },
            &l(),
            1800,
        );
        assert!(p.addresses.contains(4));
        let bytes = p.to_snapshot(&cat);
        let mut fresh = PlaceCatalog::default();
        let back = Profile::from_snapshot(&bytes, &mut fresh).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.addresses, p.addresses);

        // A version-1 snapshot (before address prefixes) still loads.
        #[derive(Serialize)]
        struct V1<'a> {
            profile: &'a Profile,
            places: Vec<PlaceRecord>,
        }
        let mut v1 = vec![1];
        v1.extend(
            postcard::to_allocvec(&V1 {
                profile: &p,
                places: Vec::new(),
            })
            .unwrap(),
        );
        // A version-2 snapshot (before unconfirmed observations) too.
        #[derive(Serialize)]
        struct V2<'a> {
            profile: &'a Profile,
            places: Vec<PlaceRecord>,
            addresses: AddressSet,
        }
        let mut v2 = vec![2];
        v2.extend(
            postcard::to_allocvec(&V2 {
                profile: &p,
                places: Vec::new(),
                addresses: p.addresses,
            })
            .unwrap(),
        );
        let two = Profile::from_snapshot(&v2, &mut fresh).unwrap();
        assert_eq!(two.addresses, p.addresses);
        assert!(two.unconfirmed.is_empty());
        let old = Profile::from_snapshot(&v1, &mut fresh).unwrap();
        assert_eq!(old.logins, 1);
        assert_eq!(old.addresses, AddressSet::default());
        assert_eq!(
            fresh
                .get(keys::place(&sz).unwrap())
                .unwrap()
                .city
                .as_deref(),
            Some("Shenzhen")
        );
        assert_eq!(
            Profile::from_snapshot(&[], &mut fresh),
            Err(SnapshotError::Empty)
        );
        assert_eq!(
            Profile::from_snapshot(&[9, 1, 2], &mut fresh),
            Err(SnapshotError::Version(9))
        );
        assert!(matches!(
            Profile::from_snapshot(&[1, 0xff, 0xff], &mut fresh),
            Err(SnapshotError::Corrupt(_))
        ));
    }

    #[test]
    fn sessions_expire_and_are_capped() {
        let mut p = Profile::default();
        let t0 = Timestamp(1_700_000_000);
        for i in 0..6u64 {
            p.learn(
                t0.plus_secs(i as i64),
                &Observation {
                    ip: i,
                    ..Default::default()
                },
                &l(),
                1800,
            );
        }
        assert_eq!(p.sessions.len(), MAX_SESSIONS);
        p.learn(
            t0.plus_secs(4000),
            &Observation {
                ip: 99,
                ..Default::default()
            },
            &l(),
            1800,
        );
        assert_eq!(p.sessions.len(), 1);
    }
}
