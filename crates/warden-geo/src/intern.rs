//! A small concurrent string interner.
//!
//! City databases repeat the same few hundred thousand names (cities,
//! regions, time zones) across millions of records. Interning hands out one
//! shared `Arc<str>` per distinct string, so a lookup clones a pointer
//! instead of allocating, and equal names compare by pointer first.
//!
//! The set is sharded by hash to keep read locks short and uncontended; it
//! only grows (names come from a fixed database file, so it is bounded by
//! the file's distinct strings).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, RwLock};

use warden_core::Name;

const SHARDS: usize = 16;

/// FNV-1a: short keys, no DoS concern (keys come from a trusted data file).
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(crate) type FnvBuild = BuildHasherDefault<Fnv>;

fn hash_of(s: &str) -> u64 {
    let mut h = Fnv::default();
    s.hash(&mut h);
    h.finish()
}

/// Hands out one shared [`Name`] per distinct string.
pub struct Interner {
    shards: [RwLock<HashSet<Name, FnvBuild>>; SHARDS],
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            shards: std::array::from_fn(|_| RwLock::new(HashSet::default())),
        }
    }
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("len", &self.len())
            .finish()
    }
}

impl Interner {
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared copy of `s`, created on first use.
    pub fn intern(&self, s: &str) -> Name {
        let shard = &self.shards[(hash_of(s) as usize) % SHARDS];
        {
            let set = shard.read().unwrap_or_else(|e| e.into_inner());
            if let Some(name) = set.get(s) {
                return Arc::clone(name);
            }
        }
        let mut set = shard.write().unwrap_or_else(|e| e.into_inner());
        if let Some(name) = set.get(s) {
            return Arc::clone(name);
        }
        let name: Name = Arc::from(s);
        set.insert(Arc::clone(&name));
        name
    }

    /// Number of distinct strings held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_string_gives_same_allocation() {
        let i = Interner::new();
        let a = i.intern("Shenzhen");
        let b = i.intern(&String::from("Shenzhen"));
        assert!(Arc::ptr_eq(&a, &b));
        let c = i.intern("Guangzhou");
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn interning_is_thread_safe() {
        let i = Arc::new(Interner::new());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let i = Arc::clone(&i);
                std::thread::spawn(move || {
                    (0..200)
                        .map(|n| i.intern(&format!("city-{}", (n + t) % 50)))
                        .count()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 200);
        }
        assert_eq!(i.len(), 50);
    }
}
