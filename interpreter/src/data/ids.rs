//! Id hashing and the set of ids seen, for duplicate and unknown-household checks.

use super::*;

/// A small fast hasher for ids (FxHash-style mixing with a murmur finaliser so low bits are good).
#[derive(Default, Clone, Copy)]
pub(super) struct IdHasher(u64);

pub(super) const K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap());
            h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
        }
        self.0 = h;
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(K);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(K);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        // murmur3 fmix64
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

pub(super) type IdBuild = BuildHasherDefault<IdHasher>;

/// Pass-through hasher for keys that are already hashes.
#[derive(Default, Clone, Copy)]
pub(super) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn write(&mut self, _: &[u8]) {
        unreachable!("PreHashed only hashes u64")
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(super) fn hash_id(id: &[u8]) -> u64 {
    let mut h = IdHasher::default();
    id.hash(&mut h);
    h.finish()
}

/// A set of ids that remembers where each was first seen, without copying the ids: it maps the id's
/// hash to a locator `L` (from which the caller can fetch the id) and a line; the rare ids whose hash
/// collides with a different id are kept by value.
pub(super) struct IdSet<L> {
    pub(super) map: HashMap<u64, (L, u64), BuildHasherDefault<PreHashed>>,
    pub(super) overflow: HashMap<Box<[u8]>, (L, u64), IdBuild>,
}

impl<L: Copy> IdSet<L> {
    pub(super) fn with_capacity(n: usize) -> IdSet<L> {
        IdSet {
            map: HashMap::with_capacity_and_hasher(n, Default::default()),
            overflow: HashMap::default(),
        }
    }

    /// Inserts `id`; if it is already there, returns the line where it was first seen.
    pub(super) fn insert<'a>(
        &mut self,
        id: &[u8],
        loc: L,
        line: u64,
        get: impl Fn(L) -> &'a [u8],
    ) -> Result<(), u64> {
        match self.map.entry(hash_id(id)) {
            Entry::Vacant(v) => {
                v.insert((loc, line));
                Ok(())
            }
            Entry::Occupied(o) => {
                let (first, first_line) = *o.get();
                if get(first) == id {
                    return Err(first_line);
                }
                match self.overflow.entry(id.into()) {
                    Entry::Occupied(o) => Err(o.get().1),
                    Entry::Vacant(v) => {
                        v.insert((loc, line));
                        Ok(())
                    }
                }
            }
        }
    }

    pub(super) fn get<'a>(&self, id: &[u8], get: impl Fn(L) -> &'a [u8]) -> Option<L> {
        let &(loc, _) = self.map.get(&hash_id(id))?;
        if get(loc) == id {
            Some(loc)
        } else {
            self.overflow.get(id).map(|&(l, _)| l)
        }
    }
}

/// A 64-bit hash of a person id, for the file-wide uniqueness check of the chunked reader (8 bytes a
/// person instead of the id itself).
pub(super) fn person_id_hash(id: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

pub(super) type IdHashes = std::collections::HashSet<u64, BuildHasherDefault<PreHashed>>;

/// Members above which [`seen_before`] keeps hashes instead of comparing pairwise.
pub(super) const PAIRWISE_MEMBERS: usize = 16;

/// Whether `id` is among the `n` member ids read so far (`id_at(i)`); `hashes` holds their hashes
/// once there are more than [`PAIRWISE_MEMBERS`] (clear it for each new household).
pub(super) fn seen_before<'a>(
    n: usize,
    id_at: impl Fn(usize) -> &'a [u8],
    hashes: &mut IdHashes,
    id: &[u8],
) -> bool {
    if n < PAIRWISE_MEMBERS {
        return (0..n).any(|i| id_at(i) == id);
    }
    if hashes.is_empty() {
        hashes.extend((0..n).map(|i| hash_id(id_at(i))));
    }
    !hashes.insert(hash_id(id)) && (0..n).any(|i| id_at(i) == id)
}
