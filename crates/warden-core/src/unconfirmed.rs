//! Unconfirmed observations: successful logins that were not trusted
//! ([`crate::Trust::Unconfirmed`]) and so taught the profile nothing.
//!
//! A profile keeps at most [`MAX_UNCONFIRMED`] of them, one per place and
//! network (its place key and ASN), each with the keys of its region,
//! device, client and address prefix, when it was first and last seen and
//! on how many distinct days. They do not count as places, networks,
//! devices, clients, hours or the travel anchor: later logins from them
//! keep their risk. One is learned (and dropped from the list) when the
//! user or an admin confirms it, when a challenge from there is passed, or
//! by the policy's `learning.confirm_after_days` rule.

use serde::{Deserialize, Serialize};

use crate::domain::{Coords, Country};

/// Unconfirmed observations a profile keeps; the least recently seen is
/// evicted beyond that.
pub const MAX_UNCONFIRMED: usize = 4;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// One unconfirmed place and network, as its logins showed it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Unconfirmed {
    /// `keys::place` of the location (0: unknown).
    pub place: u64,
    /// `keys::region` (0: unknown).
    pub region: u64,
    pub country: Option<Country>,
    pub coords: Option<Coords>,
    /// The network's habit key (0: unknown).
    pub asn: u32,
    /// `keys::text` of the latest device and client (0: none).
    pub device: u64,
    pub client: u64,
    /// `keys::prefix` of the latest address.
    pub prefix: u64,
    /// First and last seen, seconds since the epoch.
    pub first: u32,
    pub last: u32,
    /// Distinct local days it was seen on.
    pub days: u16,
    /// Successful logins from it.
    pub logins: u32,
    /// A login from it carried an attack signal, or the user said "not
    /// me": no rule confirms it on its own.
    pub flagged: bool,
}

/// The local day number of `t` at `utc_offset_minutes`.
fn day_of(t: u32, utc_offset_minutes: i32) -> i64 {
    (i64::from(t) + i64::from(utc_offset_minutes) * 60).div_euclid(DAY)
}

impl Unconfirmed {
    /// True when this observation is of `place` over `asn`.
    pub fn is_of(&self, place: u64, asn: u32) -> bool {
        self.place == place && self.asn == asn
    }
}

/// Notes one untrusted success in `list` (matching on place and network)
/// and returns its entry. Evicts the least recently seen when full.
pub fn note(
    list: &mut Vec<Unconfirmed>,
    seen: Unconfirmed,
    flagged: bool,
    utc_offset_minutes: i32,
) -> &mut Unconfirmed {
    let t = seen.last;
    if let Some(i) = list.iter().position(|u| u.is_of(seen.place, seen.asn)) {
        let u = &mut list[i];
        let (newest, day) = (
            day_of(u.last.max(u.first), utc_offset_minutes),
            day_of(t, utc_offset_minutes),
        );
        if day > newest {
            u.days = u.days.saturating_add(1);
        }
        if t >= u.last {
            u.last = t;
            u.device = seen.device;
            u.client = seen.client;
            u.prefix = seen.prefix;
            if seen.coords.is_some() {
                u.coords = seen.coords;
            }
        }
        u.first = u.first.min(t);
        u.logins = u.logins.saturating_add(1);
        u.flagged |= flagged;
        return &mut list[i];
    }
    let entry = Unconfirmed {
        first: t,
        last: t,
        days: 1,
        logins: 1,
        flagged,
        ..seen
    };
    if list.len() >= MAX_UNCONFIRMED {
        if let Some((i, _)) = list.iter().enumerate().min_by_key(|(_, u)| u.last) {
            list[i] = entry;
            return &mut list[i];
        }
    }
    list.reserve_exact(1);
    list.push(entry);
    let last = list.len() - 1;
    &mut list[last]
}

/// Removes the observations of `place` over `asn`; returns how many.
pub fn forget(list: &mut Vec<Unconfirmed>, place: u64, asn: u32) -> usize {
    let before = list.len();
    list.retain(|u| !u.is_of(place, asn));
    let gone = before - list.len();
    if gone > 0 {
        list.shrink_to_fit();
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(place: u64, t: u32) -> Unconfirmed {
        Unconfirmed {
            place,
            region: 0,
            country: None,
            coords: None,
            asn: 7,
            device: 0,
            client: 0,
            prefix: 0,
            first: t,
            last: t,
            days: 0,
            logins: 0,
            flagged: false,
        }
    }

    #[test]
    fn counts_logins_and_distinct_days_per_place_and_network() {
        let mut l = Vec::new();
        let t0 = 1_700_000_000 - 1_700_000_000 % 86_400; // midnight UTC
        note(&mut l, at(1, t0 + 3600), false, 0);
        note(&mut l, at(1, t0 + 7200), false, 0);
        assert_eq!((l[0].days, l[0].logins), (1, 2));
        note(&mut l, at(1, t0 + 86_400 + 60), false, 0);
        note(&mut l, at(1, t0 + 3 * 86_400), true, 0);
        assert_eq!((l[0].days, l[0].logins, l[0].flagged), (3, 4, true));
        assert_eq!(l[0].first, t0 + 3600);
        // Another network at the same place is another observation.
        let mut other = at(1, t0);
        other.asn = 8;
        note(&mut l, other, false, 0);
        assert_eq!(l.len(), 2);
        assert_eq!(forget(&mut l, 1, 7), 1);
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn the_list_is_bounded_and_evicts_the_least_recent() {
        let mut l = Vec::new();
        for p in 0..10u64 {
            note(&mut l, at(p, 1_000 + p as u32), false, 0);
        }
        assert_eq!(l.len(), MAX_UNCONFIRMED);
        assert!(l.iter().all(|u| u.place >= 6));
    }
}
