//! Stable 64-bit hashing (FNV-1a) for keys that are persisted in profile
//! snapshots (device ids, client families, places). Unlike the standard
//! library's `RandomState` it gives the same value in every process.

/// FNV-1a over the bytes of `parts`, with a separator between parts so that
/// `("ab", "c")` and `("a", "bc")` differ.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for part in parts {
        for &b in *part {
            h ^= b as u64;
            h = h.wrapping_mul(PRIME);
        }
        h ^= 0xff;
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// A well-mixed 64-bit finaliser (SplitMix64), used to spread FNV output
/// before it feeds a cardinality sketch.
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_matter_and_values_are_stable() {
        assert_ne!(stable_hash(&[b"ab", b"c"]), stable_hash(&[b"a", b"bc"]));
        // Persisted in profiles: this value must never change.
        assert_eq!(stable_hash(&[b"iphone"]), stable_hash(&[b"iphone"]));
        assert_eq!(stable_hash(&[]), 0xcbf2_9ce4_8422_2325);
    }
}
