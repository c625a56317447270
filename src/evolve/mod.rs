//! Meta-optimisation by evolution: a search over the learner itself — algorithm, inner rate and
//! steps, outer rate, meta-batch, head-only or whole-network inner loop — whose fitness is the
//! validation accuracy after an equal meta-training budget.
//!
//! - [`genome`]: genes with bounds, and the genetic operators (random, crossover, mutation);
//! - [`search`]: the population loop — tournament selection, elitism, seeded generations, saved
//!   and resumed as JSON;
//! - [`learner`]: the genome of a few-shot learner and the `meta-train` settings it stands for.

pub mod genome;
pub mod learner;
pub mod search;
