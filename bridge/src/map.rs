//! Hash maps and sets with a small hasher (the `FxHash` mixing step of rustc), so key
//! and topic lookups stay O(1) with 100k records without SipHash's code size (a
//! `BTreeMap` costs ~30 KB of wasm). Not DoS-resistant, which is fine here: every map
//! is filled from the page's own configuration; server input is only looked up.
//! Iteration order is deterministic (no random state), though nothing depends on it.

use core::hash::{BuildHasherDefault, Hasher};

/// FxHash: one rotate, xor and multiply per 8 bytes, and a final mix.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply only carries upward: without a final mix, keys that differ in
        // their last bytes share low bits, which pick the bucket (100k topics with a
        // common prefix took seconds to insert). MurmurHash3's fmix64 folds them down.
        let mut z = self.0;
        z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        z ^ (z >> 33)
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type Map<K, V> = hashbrown::HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// A `HashSet` with [`FxHasher`].
pub(crate) type Set<K> = hashbrown::HashSet<K, BuildHasherDefault<FxHasher>>;

/// Strings in insertion order with O(1) membership.
#[derive(Default)]
pub(crate) struct OrderedSet {
    list: Vec<String>,
    set: Set<String>,
}

impl OrderedSet {
    pub(crate) fn contains(&self, s: &str) -> bool {
        self.set.contains(s)
    }

    /// Appends `s` unless present; whether it was new.
    pub(crate) fn insert(&mut self, s: String) -> bool {
        if self.set.contains(&s) {
            return false;
        }
        self.set.insert(s.clone());
        self.list.push(s);
        true
    }

    pub(crate) fn as_slice(&self) -> &[String] {
        &self.list
    }

    pub(crate) fn into_vec(self) -> Vec<String> {
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_work_and_distinguish_similar_strings() {
        let mut m: Map<String, usize> = Map::default();
        let keys: Vec<String> = (0..10_000).map(|i| format!("sensors/temp/{i}")).collect();
        for (i, k) in keys.iter().enumerate() {
            m.insert(k.clone(), i);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(m.get(k), Some(&i));
        }
        // Same bytes split differently across the str terminator are different keys.
        let mut s: Set<(String, String)> = Set::default();
        s.insert(("ab".into(), "c".into()));
        assert!(!s.contains(&("a".to_string(), "bc".to_string())));
        assert!(!m.contains_key("sensors/temp/10000"));
    }

    /// Keys that differ only in their last bytes spread over the buckets' low bits.
    #[test]
    fn common_prefixes_spread_over_low_bits() {
        use core::hash::BuildHasher;
        let b = BuildHasherDefault::<FxHasher>::default();
        let pad = "p".repeat(160);
        let mut low: Set<u64> = Set::default();
        for i in 0..4096 {
            low.insert(b.hash_one(format!("s/{pad}/{i}")) & 0xfff);
        }
        assert!(low.len() > 2000, "{} distinct low 12-bit values of 4096", low.len());
    }
}
