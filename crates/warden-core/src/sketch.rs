//! Counting distinct things in a sliding window with bounded memory: a
//! HyperLogLog sketch that stays an exact small set until it grows, and a
//! ring of such sketches that slides over time.
//!
//! Used to count how many distinct accounts failed from one IP address or
//! subnet (password spraying) and how many distinct colleagues log in from
//! one address (shared office egress).

use crate::hash::mix64;

/// Precision of the dense sketch: 2^8 = 256 one-byte registers (about 6.5 %
/// standard error); exact while sparse.
const P: u32 = 8;
const M: usize = 1 << P;
/// Up to this many distinct hashes are kept exactly.
const SPARSE_MAX: usize = 48;

/// A HyperLogLog cardinality sketch, exact below [`SPARSE_MAX`] items.
#[derive(Debug, Clone, PartialEq)]
pub enum Sketch {
    Sparse(Vec<u64>),
    Dense(Box<[u8; M]>),
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch::Sparse(Vec::new())
    }
}

impl Sketch {
    /// Adds an item given by its (already stable) 64-bit hash.
    pub fn insert(&mut self, item: u64) {
        let h = mix64(item);
        match self {
            Sketch::Sparse(v) => {
                if v.contains(&h) {
                    return;
                }
                if v.len() < SPARSE_MAX {
                    v.push(h);
                    return;
                }
                let mut regs = Box::new([0u8; M]);
                for &x in v.iter() {
                    Self::set(&mut regs, x);
                }
                Self::set(&mut regs, h);
                *self = Sketch::Dense(regs);
            }
            Sketch::Dense(regs) => Self::set(regs, h),
        }
    }

    fn set(regs: &mut [u8; M], h: u64) {
        let idx = (h >> (64 - P)) as usize;
        let rest = (h << P) | (1 << (P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if regs[idx] < rank {
            regs[idx] = rank;
        }
    }

    /// Estimated number of distinct items.
    pub fn count(&self) -> u64 {
        match self {
            Sketch::Sparse(v) => v.len() as u64,
            Sketch::Dense(regs) => estimate(regs),
        }
    }

    /// Merges the union of several sketches and estimates its size,
    /// without allocating: exact while every part is sparse and small.
    pub fn union_count<'a>(sketches: impl IntoIterator<Item = &'a Sketch> + Clone) -> u64 {
        let mut parts = 0usize;
        let mut last = None;
        let mut sparse_items = 0usize;
        let mut all_sparse = true;
        for s in sketches.clone() {
            match s {
                Sketch::Sparse(v) if v.is_empty() => continue,
                Sketch::Sparse(v) => sparse_items += v.len(),
                Sketch::Dense(_) => all_sparse = false,
            }
            parts += 1;
            last = Some(s);
        }
        match (parts, last) {
            (0, _) | (_, None) => return 0,
            (1, Some(s)) => return s.count(),
            _ => {}
        }
        const EXACT_MAX: usize = 512;
        if all_sparse && sparse_items <= EXACT_MAX {
            let mut items = [0u64; EXACT_MAX];
            let mut n = 0;
            for s in sketches {
                if let Sketch::Sparse(v) = s {
                    items[n..n + v.len()].copy_from_slice(v);
                    n += v.len();
                }
            }
            let items = &mut items[..n];
            items.sort_unstable();
            let distinct = 1 + items.windows(2).filter(|w| w[0] != w[1]).count();
            return distinct as u64;
        }
        let mut regs = [0u8; M];
        for s in sketches {
            match s {
                Sketch::Sparse(v) => v.iter().for_each(|&h| Self::set(&mut regs, h)),
                Sketch::Dense(r) => {
                    for (a, b) in regs.iter_mut().zip(r.iter()) {
                        *a = (*a).max(*b);
                    }
                }
            }
        }
        estimate(&regs)
    }

    /// Heap bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Sketch::Sparse(v) => v.capacity() * 8,
            Sketch::Dense(_) => M,
        }
    }
}

/// `2^-r` for every possible register value.
const INV_POW2: [f64; 66] = {
    let mut t = [0.0; 66];
    let mut i = 0;
    let mut v = 1.0;
    while i < t.len() {
        t[i] = v;
        v /= 2.0;
        i += 1;
    }
    t
};

fn estimate(regs: &[u8; M]) -> u64 {
    let m = M as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let mut sum = 0.0;
    let mut zeros = 0usize;
    for &r in regs.iter() {
        sum += INV_POW2[r as usize];
        if r == 0 {
            zeros += 1;
        }
    }
    let raw = alpha * m * m / sum;
    let est = if raw <= 2.5 * m && zeros > 0 {
        // Linear counting for small cardinalities.
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    est.round() as u64
}

/// Distinct items over a sliding window, kept as `N` buckets of equal width.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowedSketch {
    /// Start time (seconds) of the newest bucket.
    head_start: i64,
    bucket_secs: u32,
    buckets: Vec<Sketch>,
    head: usize,
}

impl WindowedSketch {
    /// A window of `buckets × bucket_secs` seconds.
    pub fn new(buckets: usize, bucket_secs: u32) -> Self {
        let buckets = buckets.max(1);
        WindowedSketch {
            head_start: i64::MIN / 2,
            bucket_secs: bucket_secs.max(1),
            buckets: vec![Sketch::default(); buckets],
            head: 0,
        }
    }

    fn advance(&mut self, now: i64) {
        let width = self.bucket_secs as i64;
        let start = now.div_euclid(width) * width;
        if start <= self.head_start {
            return;
        }
        let steps = ((start - self.head_start) / width) as usize;
        let n = self.buckets.len();
        for _ in 0..steps.min(n) {
            self.head = (self.head + 1) % n;
            self.buckets[self.head] = Sketch::default();
        }
        self.head_start = start;
    }

    /// Adds `item` at time `now` (seconds). Items older than the window fall out.
    pub fn insert(&mut self, now: i64, item: u64) {
        self.advance(now);
        if now >= self.head_start {
            self.buckets[self.head].insert(item);
        }
    }

    /// Distinct items seen within the window ending at `now`.
    pub fn count(&self, now: i64) -> u64 {
        let width = self.bucket_secs as i64;
        let n = self.buckets.len() as i64;
        let oldest_valid = now.div_euclid(width) * width - (n - 1) * width;
        let live = (0..self.buckets.len()).filter_map(|age| {
            let start = self.head_start - age as i64 * width;
            let idx = (self.head + self.buckets.len() - age) % self.buckets.len();
            (start >= oldest_valid && start <= now).then(|| &self.buckets[idx])
        });
        Sketch::union_count(live)
    }

    /// True when nothing in the window is newer than `now - window`.
    pub fn is_stale(&self, now: i64) -> bool {
        self.head_start + (self.buckets.len() as i64) * self.bucket_secs as i64 <= now
    }

    /// Start time (seconds) of the newest bucket: when it last took an item
    /// or moved on.
    pub fn newest(&self) -> i64 {
        self.head_start
    }

    pub fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Sketch>()
            + self.buckets.iter().map(Sketch::heap_bytes).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_while_small() {
        let mut s = Sketch::default();
        for i in 0..40u64 {
            s.insert(i);
            s.insert(i);
        }
        assert_eq!(s.count(), 40);
    }

    #[test]
    fn dense_estimates_within_error() {
        let mut s = Sketch::default();
        for i in 0..10_000u64 {
            s.insert(i * 7919);
        }
        assert!(matches!(s, Sketch::Dense(_)));
        let c = s.count() as f64;
        assert!((c - 10_000.0).abs() / 10_000.0 < 0.2, "{c}");
        let mut small = Sketch::default();
        for i in 0..100u64 {
            small.insert(i);
        }
        let c = small.count() as f64;
        assert!((c - 100.0).abs() < 15.0, "{c}");
    }

    #[test]
    fn window_forgets_old_buckets() {
        let mut w = WindowedSketch::new(6, 600); // one hour
        for u in 0..10u64 {
            w.insert(1_000 + u as i64, u);
        }
        assert_eq!(w.count(1_100), 10);
        // 50 minutes later: still inside the hour.
        assert_eq!(w.count(1_000 + 3_000), 10);
        w.insert(1_000 + 3_000, 99);
        assert_eq!(w.count(1_000 + 3_000), 11);
        // Two hours later: all gone but what was added since.
        w.insert(1_000 + 7_200, 5);
        assert_eq!(w.count(1_000 + 7_200), 1);
        assert!(!w.is_stale(1_000 + 7_200));
        assert!(w.is_stale(1_000 + 7_200 + 3_700));
    }
}
