//! A small, seedable pseudo-random generator (SplitMix64).
//!
//! Everything random that must be reproducible from a seed — shuffling training data today,
//! sampling few-shot episodes later — draws from this one generator, so that a run is described
//! completely by its configuration and gives the same numbers on every platform, native or wasm.

/// SplitMix64: tiny, fast and statistically good enough for shuffling and sampling.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..bound` (`bound` must be non-zero).
    pub fn below(&mut self, bound: usize) -> usize {
        // Multiply-shift keeps the bias below 2^-32 for any bound this project uses.
        (((self.next_u64() >> 32) * bound as u64) >> 32) as usize
    }

    /// A uniform float in `[0, 1)` (24 random bits).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A uniform float in `[low, high)`.
    pub fn between(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.uniform()
    }

    /// A standard normal float (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u = 1.0 - self.uniform(); // in (0, 1]: the logarithm stays finite
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_shuffle_is_a_permutation() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(
            (0..5).map(|_| a.next_u64()).collect::<Vec<_>>(),
            (0..5).map(|_| b.next_u64()).collect::<Vec<_>>()
        );
        let mut items: Vec<usize> = (0..100).collect();
        Rng::new(1).shuffle(&mut items);
        assert_ne!(items, (0..100).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn floats_have_the_right_range_mean_and_spread() {
        let mut rng = Rng::new(5);
        let uniform: Vec<f32> = (0..20_000).map(|_| rng.uniform()).collect();
        assert!(uniform.iter().all(|u| (0.0..1.0).contains(u)));
        let mean = uniform.iter().sum::<f32>() / 20_000.0;
        assert!((mean - 0.5).abs() < 0.01, "uniform mean {mean}");
        let normal: Vec<f32> = (0..20_000).map(|_| rng.normal()).collect();
        let mean = normal.iter().sum::<f32>() / 20_000.0;
        let var = normal.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 20_000.0;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "normal {mean} {var}"
        );
        assert!(normal.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::new(3);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let v = rng.below(10);
            seen[v] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
