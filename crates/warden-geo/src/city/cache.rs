//! A fixed-size cache of decoded records, keyed by data-section offset.
//!
//! Many networks share one record (all of a city's ranges point at the
//! same data), so the decoded [`Location`] is kept and handed out again:
//! a hit costs a slot lock and a few reference-count increments instead of
//! decoding, interning and table lookups. The cache is direct-mapped with
//! a fixed number of slots, so its memory is bounded (about 0.5 MB) no
//! matter how many distinct records a database has; a collision simply
//! replaces the slot.

use std::sync::Mutex;

use warden_core::Location;

const SLOTS: usize = 4096;

type Slot = Mutex<Option<(usize, Location)>>;

pub(crate) struct RecordCache {
    slots: Box<[Slot]>,
}

impl Default for RecordCache {
    fn default() -> Self {
        RecordCache {
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }
}

fn slot_of(offset: usize) -> usize {
    // Fibonacci hashing spreads neighbouring offsets over the slots.
    (offset.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize) >> 20) % SLOTS
}

impl RecordCache {
    pub(crate) fn get(&self, offset: usize) -> Option<Location> {
        let slot = self.slots[slot_of(offset)]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some((o, loc)) if *o == offset => Some(loc.clone()),
            _ => None,
        }
    }

    pub(crate) fn put(&self, offset: usize, loc: &Location) {
        let mut slot = self.slots[slot_of(offset)]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *slot = Some((offset, loc.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn hits_misses_and_collisions() {
        let c = RecordCache::default();
        let loc = Location {
            city: Some(Arc::from("Lagos")),
            ..Location::default()
        };
        assert_eq!(c.get(42), None);
        c.put(42, &loc);
        assert_eq!(c.get(42), Some(loc.clone()));
        // Find an offset that shares the slot: it replaces the entry.
        let other = (43..).find(|o| slot_of(*o) == slot_of(42)).unwrap();
        c.put(other, &Location::default());
        assert_eq!(c.get(42), None);
        assert_eq!(c.get(other), Some(Location::default()));
    }
}
