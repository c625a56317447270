//! The evolutionary loop: a population is evaluated, then bred — elites carried over, parents
//! picked by tournament, uniform crossover, mutation — generation after generation.
//!
//! Everything random is drawn from generators seeded by the search seed and the generation, and
//! fitness is asked for one individual at a time, so a search saved after any evaluation and
//! resumed gives exactly the result of an uninterrupted one.

use super::genome::{Genome, Space, crossover, in_bounds, mutate, random_genome};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// Mutations tried to turn a child that copies an earlier individual into a new one.
const RETRIES: usize = 20;

/// Format tag of saved searches.
const FORMAT: &str = "fewshot-lab.evolve.v1";

/// How a search runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchConfig {
    /// Individuals per generation.
    pub population: usize,
    /// Generations, the first (random and seeded individuals) included.
    pub generations: usize,
    /// Best individuals carried unchanged into the next generation.
    pub elites: usize,
    /// Individuals drawn per tournament; the fittest of them becomes a parent.
    pub tournament: usize,
    /// Chance that each gene of a child mutates.
    pub mutation_rate: f64,
    /// Seed of every random choice of the search.
    pub seed: u64,
}

impl SearchConfig {
    /// Learners a whole search trains: the first generation, then the children of the others.
    pub fn learners(&self) -> usize {
        self.population + (self.generations - 1) * (self.population - self.elites)
    }

    /// Refuses settings a search cannot run with.
    pub fn check(&self) -> Result<(), String> {
        if self.population < 2 || self.generations == 0 || self.tournament == 0 {
            return Err(
                "a search needs a population of at least 2, 1 generation and tournaments of 1"
                    .into(),
            );
        }
        if self.elites >= self.population {
            return Err(format!(
                "{} elites leave no room for children in a population of {}",
                self.elites, self.population
            ));
        }
        if !(0.0..=1.0).contains(&self.mutation_rate) {
            return Err(format!(
                "the mutation rate is a chance in [0, 1], not {}",
                self.mutation_rate
            ));
        }
        Ok(())
    }
}

/// A member of the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Individual {
    /// Number, in order of creation.
    pub id: usize,
    /// Generation it was created in.
    pub generation: usize,
    /// Its settings.
    pub genome: Genome,
    /// Ids of its parents (none in the first generation).
    pub parents: Vec<usize>,
    /// Its fitness, once measured (a failed measurement counts as 0).
    pub fitness: Option<f64>,
    /// Why its fitness could not be measured.
    pub failure: Option<String>,
}

/// A search in progress or done; saved and resumed as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Search {
    format: String,
    /// How it runs.
    pub config: SearchConfig,
    /// The genes.
    pub space: Space,
    /// Every individual created, by id.
    pub individuals: Vec<Individual>,
    /// The ids of each generation's members.
    pub generations: Vec<Vec<usize>>,
}

impl Search {
    /// A search whose first generation holds `seeds` (hand-picked genomes, first) and random
    /// genomes for the rest.
    pub fn new(space: Space, config: SearchConfig, seeds: &[Genome]) -> Result<Self, String> {
        config.check()?;
        if let Some(bad) = seeds.iter().find(|g| !in_bounds(&space, g)) {
            return Err(format!("a seeded genome is out of bounds: {bad:?}"));
        }
        let mut rng = generation_rng(config.seed, 0);
        let genomes: Vec<Genome> = seeds
            .iter()
            .take(config.population)
            .cloned()
            .chain(std::iter::repeat_with(|| random_genome(&space, &mut rng)))
            .take(config.population)
            .collect();
        let mut search = Self {
            format: FORMAT.into(),
            config,
            space,
            individuals: Vec::new(),
            generations: Vec::new(),
        };
        let ids = genomes
            .into_iter()
            .map(|genome| search.create(genome, Vec::new()))
            .collect();
        search.generations.push(ids);
        Ok(search)
    }

    /// A saved search; refuses another format or a file whose genomes break its own bounds.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let search: Self = serde_json::from_str(text).map_err(|e| format!("not a search: {e}"))?;
        if search.format != FORMAT {
            return Err(format!("format {} is not {FORMAT}", search.format));
        }
        search.config.check()?;
        let ids_known = search
            .generations
            .iter()
            .flatten()
            .all(|&id| id < search.individuals.len());
        let genomes_fit = search
            .individuals
            .iter()
            .enumerate()
            .all(|(i, ind)| ind.id == i && in_bounds(&search.space, &ind.genome));
        if search.generations.is_empty() || !ids_known || !genomes_fit {
            return Err("the saved search is inconsistent (edited by hand?)".into());
        }
        Ok(search)
    }

    /// The search as JSON, to save.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a search serialises")
    }

    fn create(&mut self, genome: Genome, parents: Vec<usize>) -> usize {
        let id = self.individuals.len();
        self.individuals.push(Individual {
            id,
            generation: self.generations.len(),
            genome,
            parents,
            fitness: None,
            failure: None,
        });
        id
    }

    /// The members of the current (last) generation.
    pub fn current(&self) -> impl Iterator<Item = &Individual> {
        let ids = self.generations.last().map_or(&[][..], Vec::as_slice);
        ids.iter().map(|&id| &self.individuals[id])
    }

    /// The next individual of the current generation waiting for its fitness.
    pub fn pending(&self) -> Option<&Individual> {
        self.current().find(|ind| ind.fitness.is_none())
    }

    /// Records the fitness of individual `id` (or why it could not be measured: fitness 0).
    pub fn record(&mut self, id: usize, fitness: Result<f64, String>) {
        let individual = &mut self.individuals[id];
        match fitness {
            Ok(value) if value.is_finite() => individual.fitness = Some(value),
            Ok(value) => {
                individual.fitness = Some(0.0);
                individual.failure = Some(format!("fitness {value}"));
            }
            Err(why) => {
                individual.fitness = Some(0.0);
                individual.failure = Some(why);
            }
        }
    }

    /// Lets the search run to `generations` if that is more than it was set to; returns
    /// whether it did. Each generation's random choices depend only on the seed and the
    /// generation, so an extended search ends as one set to run that long from the start.
    pub fn extend(&mut self, generations: usize) -> bool {
        let longer = generations > self.config.generations;
        if longer {
            self.config.generations = generations;
        }
        longer
    }

    /// Whether every generation has been created and evaluated.
    pub fn done(&self) -> bool {
        self.generations.len() >= self.config.generations && self.pending().is_none()
    }

    /// Breeds the next generation once the current one is evaluated and more are due; returns
    /// whether it did.
    pub fn breed(&mut self) -> bool {
        if self.pending().is_some() || self.generations.len() >= self.config.generations {
            return false;
        }
        let mut rng = generation_rng(self.config.seed, self.generations.len());
        let mut ranked: Vec<(usize, f64)> = self
            .current()
            .map(|ind| (ind.id, ind.fitness.unwrap_or(0.0)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut next: Vec<usize> = ranked
            .iter()
            .take(self.config.elites)
            .map(|&(id, _)| id)
            .collect();
        while next.len() < self.config.population {
            let a = tournament(&ranked, self.config.tournament, &mut rng);
            let b = tournament(&ranked, self.config.tournament, &mut rng);
            let child = crossover(
                &self.individuals[a].genome,
                &self.individuals[b].genome,
                &mut rng,
            );
            let mut child = mutate(&self.space, &child, self.config.mutation_rate, &mut rng);
            // A copy of a learner already trained would only be trained again: mutate it on.
            for _ in 0..RETRIES {
                if !self.individuals.iter().any(|ind| ind.genome == child) {
                    break;
                }
                child = mutate(&self.space, &child, 1.0 / self.space.len() as f64, &mut rng);
            }
            let parents = if a == b { vec![a] } else { vec![a, b] };
            next.push(self.create(child, parents));
        }
        self.generations.push(next);
        true
    }

    /// The fitness already measured for an earlier individual that `same` judges the same
    /// learner as `individual` (genomes can differ in genes a learner ignores).
    pub fn twin_fitness(
        &self,
        individual: &Individual,
        same: impl Fn(&[f64], &[f64]) -> bool,
    ) -> Option<f64> {
        self.individuals
            .iter()
            .filter(|other| other.id != individual.id && other.failure.is_none())
            .find(|other| other.fitness.is_some() && same(&other.genome, &individual.genome))
            .and_then(|other| other.fitness)
    }

    /// Evaluates and breeds until done, calling `saved` after every evaluation (to save the
    /// search) and stopping with its error. `fitness` sees the search so far.
    pub fn run(
        &mut self,
        mut fitness: impl FnMut(&Self, &Individual) -> Result<f64, String>,
        mut saved: impl FnMut(&Self) -> Result<(), String>,
    ) -> Result<(), String> {
        loop {
            if let Some(individual) = self.pending().cloned() {
                let value = fitness(self, &individual);
                self.record(individual.id, value);
                saved(self)?;
            } else if !self.breed() {
                return Ok(());
            }
        }
    }

    /// The fittest individual measured so far (the earliest among equals).
    pub fn best(&self) -> Option<&Individual> {
        self.individuals
            .iter()
            .filter(|ind| ind.fitness.is_some())
            .max_by(|a, b| {
                a.fitness
                    .unwrap_or(0.0)
                    .total_cmp(&b.fitness.unwrap_or(0.0))
                    .then(b.id.cmp(&a.id))
            })
    }

    /// The best fitness of each generation measured so far.
    pub fn best_per_generation(&self) -> Vec<f64> {
        self.generations
            .iter()
            .map(|ids| {
                ids.iter()
                    .filter_map(|&id| self.individuals[id].fitness)
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .filter(|best| best.is_finite())
            .collect()
    }
}

/// The generator of generation `generation`'s random choices.
fn generation_rng(seed: u64, generation: usize) -> Rng {
    Rng::new(seed ^ (generation as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407))
}

/// The fittest of `size` members of `ranked` (sorted best first) drawn with replacement.
fn tournament(ranked: &[(usize, f64)], size: usize, rng: &mut Rng) -> usize {
    let best_rank = (0..size)
        .map(|_| rng.below(ranked.len()))
        .min()
        .expect("tournaments have at least one entrant");
    ranked[best_rank].0
}

#[cfg(test)]
mod tests {
    use super::super::genome::tests::every_kind;
    use super::*;

    fn config(population: usize, generations: usize, seed: u64) -> SearchConfig {
        SearchConfig {
            population,
            generations,
            elites: 2,
            tournament: 3,
            mutation_rate: 0.3,
            seed,
        }
    }

    /// A fitness with a known best genome: rate 0.01, 4 steps, algorithm 2, flag 1.
    fn known_optimum(_: &Search, ind: &Individual) -> Result<f64, String> {
        let g = &ind.genome;
        Ok(10.0 - (g[0] / 0.01).ln().powi(2) - (g[1] - 4.0).powi(2)
            + if g[2] == 2.0 { 3.0 } else { 0.0 }
            + if g[3] == 1.0 { 1.0 } else { 0.0 })
    }

    #[test]
    fn a_search_finds_the_optimum_of_a_synthetic_fitness() {
        let mut search = Search::new(every_kind(), config(16, 25, 1), &[]).unwrap();
        search.run(known_optimum, |_| Ok(())).unwrap();
        let best = search.best().unwrap();
        assert_eq!(best.genome[1..], [4.0, 2.0, 1.0], "{:?}", best.genome);
        assert!(
            (best.genome[0] / 0.01).ln().abs() < 0.3,
            "{:?}",
            best.genome
        );
        assert_eq!(search.individuals.len(), 16 + 24 * (16 - 2));
        assert_eq!(search.individuals.len(), search.config.learners());
    }

    #[test]
    fn children_are_not_copies_of_earlier_individuals() {
        let mut search = Search::new(every_kind(), config(8, 6, 2), &[]).unwrap();
        search.run(known_optimum, |_| Ok(())).unwrap();
        for (i, a) in search.individuals.iter().enumerate() {
            for b in &search.individuals[..i] {
                assert_ne!(a.genome, b.genome, "{} copies {}", a.id, b.id);
            }
        }
    }

    #[test]
    fn a_twin_learner_finds_the_fitness_already_measured() {
        let mut search = Search::new(every_kind(), config(4, 1, 3), &[]).unwrap();
        search.record(0, Ok(0.7));
        search.record(1, Err("diverged".into()));
        let probe = |genome: Vec<f64>| Individual {
            id: 99,
            generation: 0,
            genome,
            parents: Vec::new(),
            fitness: None,
            failure: None,
        };
        // The same learner when only the first gene matters; a failed twin is not reused.
        let first_gene = |a: &[f64], b: &[f64]| a[0] == b[0];
        let twin = probe(vec![search.individuals[0].genome[0], 5.0, 3.0, 1.0]);
        assert_eq!(search.twin_fitness(&twin, first_gene), Some(0.7));
        let failed_twin = probe(search.individuals[1].genome.clone());
        assert_eq!(search.twin_fitness(&failed_twin, first_gene), None);
        assert_eq!(
            search.twin_fitness(&probe(vec![0.5, 1.0, 0.0, 0.0]), first_gene),
            None
        );
    }

    #[test]
    fn elitism_never_loses_the_best_fitness() {
        let mut search = Search::new(every_kind(), config(8, 10, 4), &[]).unwrap();
        search.run(known_optimum, |_| Ok(())).unwrap();
        let best = search.best_per_generation();
        assert_eq!(best.len(), 10);
        assert!(best.windows(2).all(|w| w[1] >= w[0]), "{best:?}");
    }

    #[test]
    fn tournaments_prefer_fitter_individuals() {
        // Ranked best first: rank r has fitness 9 − r.
        let ranked: Vec<(usize, f64)> = (0..10).map(|r| (r, 9.0 - r as f64)).collect();
        let mut rng = Rng::new(8);
        let mut wins = [0usize; 10];
        for _ in 0..10_000 {
            wins[tournament(&ranked, 3, &mut rng)] += 1;
        }
        // With three entrants, the best wins 1 − 0.9³ ≈ 27 % of tournaments, the worst 0.1 %.
        assert!(wins[0] > 2_400 && wins[0] < 3_000, "{wins:?}");
        assert!(wins[9] < 40, "{wins:?}");
        assert!(wins.windows(2).all(|w| w[0] >= w[1]), "{wins:?}");
        // A tournament of one is a uniform draw.
        let mut single = [0usize; 10];
        for _ in 0..10_000 {
            single[tournament(&ranked, 1, &mut rng)] += 1;
        }
        assert!(
            single.iter().all(|&n| (850..1_150).contains(&n)),
            "{single:?}"
        );
    }

    #[test]
    fn a_resumed_search_ends_as_an_uninterrupted_one() {
        let mut whole = Search::new(every_kind(), config(6, 4, 9), &[]).unwrap();
        whole.run(known_optimum, |_| Ok(())).unwrap();
        // Stop after the 11th evaluation (inside the second generation), save, resume.
        let mut part = Search::new(every_kind(), config(6, 4, 9), &[]).unwrap();
        let mut evaluations = 0;
        let stopped = part.run(known_optimum, |_| {
            evaluations += 1;
            if evaluations == 11 {
                Err("stopped".into())
            } else {
                Ok(())
            }
        });
        assert_eq!(stopped, Err("stopped".into()));
        let mut resumed = Search::from_json(&part.to_json()).unwrap();
        resumed.run(known_optimum, |_| Ok(())).unwrap();
        assert_eq!(resumed, whole);
    }

    #[test]
    fn an_extended_search_ends_as_one_that_long_from_the_start() {
        let mut long = Search::new(every_kind(), config(6, 4, 9), &[]).unwrap();
        long.run(known_optimum, |_| Ok(())).unwrap();
        let mut short = Search::new(every_kind(), config(6, 2, 9), &[]).unwrap();
        short.run(known_optimum, |_| Ok(())).unwrap();
        assert!(short.done() && !short.extend(2));
        let mut extended = Search::from_json(&short.to_json()).unwrap();
        assert!(extended.extend(4));
        extended.run(known_optimum, |_| Ok(())).unwrap();
        assert_eq!(extended, long);
    }

    #[test]
    fn seeds_join_the_first_generation_and_bad_input_is_refused() {
        let seed = vec![0.1, 3.0, 1.0, 0.0];
        let search = Search::new(every_kind(), config(4, 2, 1), std::slice::from_ref(&seed));
        assert_eq!(search.unwrap().individuals[0].genome, seed);
        assert!(Search::new(every_kind(), config(4, 2, 1), &[vec![5.0, 3.0, 1.0, 0.0]]).is_err());
        assert!(Search::new(every_kind(), config(1, 2, 1), &[]).is_err());
        assert!(Search::new(every_kind(), config(2, 2, 1), &[]).is_err()); // 2 elites of 2
        assert!(Search::from_json("{}").is_err());
        let mut edited = Search::new(every_kind(), config(4, 2, 1), &[]).unwrap();
        edited.individuals[1].genome[1] = 99.0;
        assert!(Search::from_json(&edited.to_json()).is_err());
    }

    #[test]
    fn failed_or_non_finite_fitness_counts_as_zero_with_its_reason() {
        let mut search = Search::new(every_kind(), config(4, 1, 1), &[]).unwrap();
        search.record(0, Err("diverged".into()));
        search.record(1, Ok(f64::NAN));
        assert_eq!(search.individuals[0].fitness, Some(0.0));
        assert_eq!(search.individuals[0].failure.as_deref(), Some("diverged"));
        assert_eq!(search.individuals[1].fitness, Some(0.0));
        assert!(search.individuals[1].failure.is_some());
    }
}
