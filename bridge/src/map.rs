//! Hash maps and sets: hashbrown's with its default hasher (foldhash), the same types
//! the bindings' record index uses (`HashMap<String, usize>`), so the module carries one
//! copy of their table code rather than one per hasher (a `BTreeMap` costs ~30 KB of
//! wasm). Key and topic lookups stay O(1) with 100k records. Not DoS-resistant, which is
//! fine here: every map is filled from the page's own configuration; server input is only
//! looked up. Nothing depends on iteration order.

/// A `HashMap` with hashbrown's default hasher.
pub(crate) type Map<K, V> = hashbrown::HashMap<K, V>;
/// A `HashSet` with hashbrown's default hasher.
pub(crate) type Set<K> = hashbrown::HashSet<K>;

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
        let b = hashbrown::DefaultHashBuilder::default();
        let pad = "p".repeat(160);
        let mut low: Set<u64> = Set::default();
        for i in 0..4096 {
            low.insert(b.hash_one(format!("s/{pad}/{i}")) & 0xfff);
        }
        assert!(low.len() > 2000, "{} distinct low 12-bit values of 4096", low.len());
    }
}
