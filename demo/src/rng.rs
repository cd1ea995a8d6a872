//! A small pseudo-random generator owned by this module (wyrand, seeded through SplitMix64).
//!
//! The demo workspace is quoted by tests, benchmarks and docs ("conversation 997 mentions xylophonic"), so it must
//! be the same on every platform and across `rand` upgrades; `rand`'s `SmallRng` promises neither. Everything here
//! is integer arithmetic or correctly rounded IEEE operations, so the output never depends on the platform's libm.

/// Independent random streams of one seed. Each kind of record draws from its own stream, so changing how
/// contacts are generated does not reshuffle every conversation.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stream {
    Admins = 1,
    Tags,
    Companies,
    Contacts,
    Conversation,
}

#[derive(Debug, Clone)]
pub(super) struct Rng {
    state: u64,
}

/// SplitMix64's finaliser: turns structured input (seed, stream, index) into well-mixed bits.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// The generator for item `index` of `stream`: a pure function of its arguments, so any item can be
    /// regenerated alone, in any order, on any thread.
    pub(super) fn new(seed: u64, stream: Stream, index: u64) -> Self {
        Self { state: splitmix(splitmix(seed ^ (stream as u64).rotate_left(56)) ^ splitmix(index)) }
    }

    /// A stable 64-bit hash of a seed, for ids that must differ between seeds but not between runs.
    pub(super) fn hash(seed: u64, salt: u64) -> u64 {
        splitmix(splitmix(seed) ^ salt)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0xa076_1d64_78bd_642f);
        let product = u128::from(self.state) * u128::from(self.state ^ 0xe703_7ed1_a0b4_28db);
        ((product >> 64) as u64) ^ (product as u64)
    }

    /// A number in `0..n` (0 when `n` is 0), by Lemire's multiply-shift; the bias is below 2^-32 for our sizes.
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `lo..=hi` (`lo` when the range is empty).
    pub(super) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo).saturating_add(1);
        let offset = ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as u64;
        lo.saturating_add_unsigned(offset)
    }

    /// A uniform number in `[0, 1)` with 53 bits of precision.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty list. Every list passed here is a non-empty constant or built non-empty.
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One word or sentence of a non-empty list.
    pub(super) fn word(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }

    /// An index into `weights`, each chosen in proportion to its weight (0 when all weights are 0).
    pub(super) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut roll = self.below(total as usize) as u64;
        for (index, weight) in weights.iter().enumerate() {
            if roll < u64::from(*weight) {
                return index;
            }
            roll -= u64::from(*weight);
        }
        0
    }

    /// A duration from a histogram of `(weight, min, max)` buckets: a cheap, portable long-tailed distribution.
    pub(super) fn bucketed(&mut self, buckets: &[(u32, i64, i64)]) -> i64 {
        let mut roll = self.below(buckets.iter().map(|b| b.0 as usize).sum());
        for &(weight, lo, hi) in buckets {
            if roll < weight as usize {
                return self.between(lo, hi);
            }
            roll -= weight as usize;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |stream, index| {
            let mut rng = Rng::new(7, stream, index);
            (0..4).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(Stream::Conversation, 3), draw(Stream::Conversation, 3));
        assert_ne!(draw(Stream::Conversation, 3), draw(Stream::Conversation, 4));
        assert_ne!(draw(Stream::Conversation, 3), draw(Stream::Contacts, 3));
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut rng = Rng::new(1, Stream::Admins, 0);
        for _ in 0..10_000 {
            assert!(rng.below(7) < 7);
            assert!((-3..=3).contains(&rng.between(-3, 3)));
            assert!((0.0..1.0).contains(&rng.unit()));
            assert_eq!(rng.weighted(&[0, 5, 0]), 1);
            assert!((10..=20).contains(&rng.bucketed(&[(1, 10, 20)])));
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.between(5, 1), 5);
        assert_eq!(rng.weighted(&[]), 0);
        let _ = rng.between(i64::MIN, i64::MAX); // The full range must not overflow.
    }
}
