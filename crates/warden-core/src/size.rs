//! Estimated heap bytes of the values short-lived state keeps per login
//! (attempts, address information, assessments), so maps keyed by what a
//! client chooses can be bounded in bytes as well as in entries.
//!
//! Estimates err on the high side: a shared name (`Name` is an `Arc<str>`,
//! and place names are shared between entries) counts in full for every
//! entry that holds it, plus its reference counts.

use crate::assess::Assessment;
use crate::domain::{IpInfo, Location, LoginAttempt, Name, Network};
use crate::reason::{Evidence, Reason};

/// Bytes a value holds on the heap (not its own inline size).
pub trait HeapSize {
    fn heap_bytes(&self) -> usize;
}

/// An `Arc<str>`: the text and two reference counts.
fn name(n: &Name) -> usize {
    n.len() + 16
}

fn opt_name(n: &Option<Name>) -> usize {
    n.as_ref().map_or(0, name)
}

/// Values that hold nothing on the heap.
macro_rules! inline_only {
    ($($t:ty),*) => {$(
        impl HeapSize for $t {
            fn heap_bytes(&self) -> usize {
                0
            }
        }
    )*};
}

inline_only!((), u8, u32, u64, i64);

impl HeapSize for String {
    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}

impl HeapSize for Location {
    fn heap_bytes(&self) -> usize {
        opt_name(&self.region)
            + opt_name(&self.city)
            + opt_name(&self.city_zh)
            + opt_name(&self.region_zh)
            + opt_name(&self.time_zone)
    }
}

impl HeapSize for Network {
    fn heap_bytes(&self) -> usize {
        opt_name(&self.organisation) + opt_name(&self.org_range)
    }
}

impl HeapSize for IpInfo {
    fn heap_bytes(&self) -> usize {
        self.location.heap_bytes() + self.network.heap_bytes()
    }
}

impl HeapSize for LoginAttempt {
    fn heap_bytes(&self) -> usize {
        name(&self.user)
            + opt_name(&self.device)
            + opt_name(&self.user_agent)
            + self.client.as_ref().map_or(0, |c| c.name.capacity())
    }
}

impl HeapSize for Evidence {
    fn heap_bytes(&self) -> usize {
        match self {
            Evidence::UnusualPlace { place, usual, .. } => {
                place.heap_bytes()
                    + usual.capacity() * std::mem::size_of::<Location>()
                    + usual.iter().map(HeapSize::heap_bytes).sum::<usize>()
            }
            Evidence::Travel { from, to, .. } => from.heap_bytes() + to.heap_bytes(),
            Evidence::Concurrent { other, .. } => other.heap_bytes(),
            Evidence::Device { device } => name(device),
            Evidence::Client { client, .. } => client.capacity(),
            Evidence::Datacenter { organisation, .. } => opt_name(organisation),
            Evidence::KnownOrgIp { range, .. } => opt_name(range),
            Evidence::Hour { .. }
            | Evidence::Anonymizer { .. }
            | Evidence::Lockout { .. }
            | Evidence::AccountAttack { .. }
            | Evidence::Spraying { .. }
            | Evidence::Stuffing { .. }
            | Evidence::Learning { .. }
            | Evidence::Statistical { .. }
            | Evidence::Access { .. } => 0,
        }
    }
}

impl HeapSize for Reason {
    fn heap_bytes(&self) -> usize {
        self.evidence.heap_bytes()
    }
}

impl HeapSize for Assessment {
    fn heap_bytes(&self) -> usize {
        self.reasons.capacity() * std::mem::size_of::<Reason>()
            + self.reasons.iter().map(HeapSize::heap_bytes).sum::<usize>()
    }
}
