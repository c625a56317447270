//! Genomes: named genes, each with its kind and bounds, and the genetic operators on them —
//! random individuals, uniform crossover, mutation — which all keep every gene in bounds.

use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// What values a gene takes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum GeneKind {
    /// A positive real in `[low, high]`, drawn and mutated on a log scale (learning rates).
    Log {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
    },
    /// An integer in `[low, high]`, drawn and mutated on a log scale (layer widths).
    LogInt {
        /// Smallest value.
        low: i64,
        /// Largest value.
        high: i64,
    },
    /// An integer in `[low, high]` (steps, batch sizes).
    Int {
        /// Smallest value.
        low: i64,
        /// Largest value.
        high: i64,
    },
    /// One of `n` choices, by index.
    Choice(usize),
}

/// One gene: a name and its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gene {
    /// Name (a setting's name).
    pub name: String,
    /// Values it takes.
    pub kind: GeneKind,
}

/// The genes of a search, in order; a genome holds one value per gene.
pub type Space = Vec<Gene>;

/// One value per gene of a [`Space`].
pub type Genome = Vec<f64>;

/// Mutation strength on a log scale: a mutated rate is multiplied by `e^(σ·N(0, 1))`.
const LOG_SIGMA: f64 = 0.7;

impl GeneKind {
    /// A value drawn uniformly (log-uniformly for [`GeneKind::Log`] and [`GeneKind::LogInt`]).
    fn random(self, rng: &mut Rng) -> f64 {
        let u = f64::from(rng.uniform());
        match self {
            Self::Log { low, high } => (low.ln() + u * (high.ln() - low.ln())).exp(),
            Self::LogInt { low, high } => {
                let (low, high) = (low as f64 - 0.5, high as f64 + 0.5);
                self.clamp((low.ln() + u * (high.ln() - low.ln())).exp())
            }
            Self::Int { low, high } => (low + rng.below((high - low + 1) as usize) as i64) as f64,
            Self::Choice(n) => rng.below(n) as f64,
        }
    }

    /// `value` moved a little: a log-normal factor, ±1 or 2, or another choice.
    fn mutate(self, value: f64, rng: &mut Rng) -> f64 {
        match self {
            Self::Log { .. } | Self::LogInt { .. } => {
                self.clamp(value * (LOG_SIGMA * f64::from(rng.normal())).exp())
            }
            Self::Int { .. } => {
                let step = [-2.0, -1.0, 1.0, 2.0][rng.below(4)];
                self.clamp(value + step)
            }
            Self::Choice(n) if n > 1 => ((value as usize + 1 + rng.below(n - 1)) % n) as f64,
            Self::Choice(_) => value,
        }
    }

    /// `value` brought into bounds (and onto an integer for integer kinds).
    pub fn clamp(self, value: f64) -> f64 {
        let value = if value.is_nan() { 0.0 } else { value };
        match self {
            Self::Log { low, high } => value.clamp(low, high),
            Self::Int { low, high } | Self::LogInt { low, high } => {
                value.round().clamp(low as f64, high as f64)
            }
            Self::Choice(n) => value.round().clamp(0.0, n.saturating_sub(1) as f64),
        }
    }

    /// Whether `value` is one this gene can hold.
    pub fn holds(self, value: f64) -> bool {
        value == self.clamp(value)
    }
}

/// A genome with every gene drawn at random.
pub fn random_genome(space: &[Gene], rng: &mut Rng) -> Genome {
    space.iter().map(|gene| gene.kind.random(rng)).collect()
}

/// Uniform crossover: each gene from either parent with equal chance.
pub fn crossover(a: &[f64], b: &[f64], rng: &mut Rng) -> Genome {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| if rng.below(2) == 0 { x } else { y })
        .collect()
}

/// `genome` with each gene mutated with probability `rate`.
pub fn mutate(space: &[Gene], genome: &[f64], rate: f64, rng: &mut Rng) -> Genome {
    space
        .iter()
        .zip(genome)
        .map(|(gene, &value)| {
            if f64::from(rng.uniform()) < rate {
                gene.kind.mutate(value, rng)
            } else {
                value
            }
        })
        .collect()
}

/// Whether `genome` has one in-bounds value per gene of `space`.
pub fn in_bounds(space: &[Gene], genome: &[f64]) -> bool {
    genome.len() == space.len()
        && space
            .iter()
            .zip(genome)
            .all(|(gene, &value)| gene.kind.holds(value))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One gene of every kind.
    pub(crate) fn every_kind() -> Space {
        let gene = |name: &str, kind| Gene {
            name: name.into(),
            kind,
        };
        vec![
            gene(
                "rate",
                GeneKind::Log {
                    low: 1e-4,
                    high: 1.0,
                },
            ),
            gene("steps", GeneKind::Int { low: 1, high: 5 }),
            gene("algorithm", GeneKind::Choice(4)),
            gene("flag", GeneKind::Choice(2)),
        ]
    }

    #[test]
    fn operators_keep_genomes_in_bounds() {
        let space = every_kind();
        let mut rng = Rng::new(3);
        for _ in 0..2_000 {
            let a = random_genome(&space, &mut rng);
            let b = random_genome(&space, &mut rng);
            assert!(in_bounds(&space, &a), "{a:?}");
            let child = crossover(&a, &b, &mut rng);
            assert!(in_bounds(&space, &child), "{child:?}");
            let mutant = mutate(&space, &child, 1.0, &mut rng);
            assert!(in_bounds(&space, &mutant), "{mutant:?}");
        }
    }

    #[test]
    fn mutation_changes_choices_and_reaches_both_ends_of_a_log_range() {
        let space = every_kind();
        let mut rng = Rng::new(5);
        let start = vec![0.01, 3.0, 2.0, 0.0];
        let (mut low, mut high) = (f64::MAX, 0.0f64);
        for _ in 0..500 {
            let mutant = mutate(&space, &start, 1.0, &mut rng);
            assert_ne!(mutant[2], start[2], "a mutated choice is another choice");
            assert_ne!(mutant[3], start[3]);
            assert_ne!(mutant[1], start[1]);
            (low, high) = (low.min(mutant[0]), high.max(mutant[0]));
        }
        assert!(
            low < 0.002 && high > 0.05,
            "log mutation spread {low}..{high}"
        );
        assert_eq!(mutate(&space, &start, 0.0, &mut rng), start);
    }

    #[test]
    fn log_integer_genes_stay_whole_and_spread_on_a_log_scale() {
        let space = vec![Gene {
            name: "channels".into(),
            kind: GeneKind::LogInt { low: 8, high: 96 },
        }];
        let mut rng = Rng::new(7);
        let drawn: Vec<f64> = (0..2_000)
            .map(|_| random_genome(&space, &mut rng)[0])
            .collect();
        assert!(
            drawn
                .iter()
                .all(|&v| v.fract() == 0.0 && (8.0..=96.0).contains(&v))
        );
        // Log-uniform: about as many draws in 8–16 as in 48–96 (each a factor of two), far
        // more than a uniform draw's 9 / 89 of them.
        let count = |range: std::ops::RangeInclusive<f64>| {
            drawn.iter().filter(|v| range.contains(v)).count() as f64
        };
        let ratio = count(8.0..=16.0) / count(48.0..=96.0);
        assert!((0.7..1.4).contains(&ratio), "low / high octave {ratio}");
        let mutants: Vec<f64> = (0..500)
            .map(|_| mutate(&space, &[32.0], 1.0, &mut rng)[0])
            .collect();
        assert!(mutants.iter().all(|&v| space[0].kind.holds(v)));
        let (low, high) = mutants
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(low <= 10.0 && high >= 90.0, "mutation spread {low}..{high}");
        assert!(!space[0].kind.holds(32.5) && !space[0].kind.holds(7.0));
        assert!(!space[0].kind.holds(f64::NAN) && !space[0].kind.holds(97.0));
    }

    #[test]
    fn out_of_bounds_and_nan_values_are_not_held() {
        let space = every_kind();
        assert!(!in_bounds(&space, &[2.0, 3.0, 0.0, 0.0]));
        assert!(!in_bounds(&space, &[0.1, 2.5, 0.0, 0.0]));
        assert!(!in_bounds(&space, &[f64::NAN, 3.0, 0.0, 0.0]));
        assert!(!in_bounds(&space, &[0.1, 3.0, 0.0]));
        assert!(in_bounds(&space, &[0.1, 3.0, 3.0, 1.0]));
    }
}
