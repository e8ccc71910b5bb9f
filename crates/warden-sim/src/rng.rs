//! Seeded randomness: one ChaCha8 stream per purpose, derived from the
//! simulation seed, so that adding a draw in one part of the simulator does
//! not change what another part draws.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The stream for `tag` and `index` under `seed` (SplitMix64 mixing).
pub fn derive(seed: u64, tag: &str, index: u64) -> ChaCha8Rng {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for b in tag.bytes() {
        h = mix(h ^ u64::from(b));
    }
    h = mix(h ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    ChaCha8Rng::seed_from_u64(mix(h))
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The few distributions the simulator needs.
pub trait Rand {
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool;
    /// A uniformly chosen element.
    fn choose<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T>;
    /// An element chosen with the given weights (the first when all are 0).
    fn weighted<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T;
    /// Exponentially distributed with this mean.
    fn exp(&mut self, mean: f64) -> f64;
    /// Normally distributed.
    fn normal(&mut self, mean: f64, sd: f64) -> f64;
    /// Uniform in `lo..hi` seconds (as i64).
    fn secs(&mut self, lo: i64, hi: i64) -> i64;
}

impl Rand for ChaCha8Rng {
    fn chance(&mut self, p: f64) -> bool {
        self.random::<f64>() < p
    }

    fn choose<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            Some(&items[self.random_range(0..items.len())])
        }
    }

    fn weighted<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let total: f64 = items.iter().map(|(_, w)| w.max(0.0)).sum();
        let mut x = self.random::<f64>() * total;
        for (item, w) in items {
            x -= w.max(0.0);
            if x < 0.0 {
                return item;
            }
        }
        &items[0].0
    }

    fn exp(&mut self, mean: f64) -> f64 {
        let u: f64 = self.random::<f64>();
        -(1.0 - u).ln() * mean
    }

    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u1: f64 = 1.0 - self.random::<f64>();
        let u2: f64 = self.random::<f64>();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn secs(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.random_range(lo..hi)
        }
    }
}
