//! `fewshot-lab evolve`: an evolutionary search over the learner's settings, each individual
//! meta-trained for the same budget of tasks and judged by its validation accuracy.

use super::meta::{Trained, meta_train};
use super::results::{self, EvolveEntry, EvolveLine};
use super::{Cli, Command};
use crate::evolve::learner::{ALGORITHMS, LearnerSettings, check_space, learner_space};
use crate::evolve::search::{Individual, Search, SearchConfig};
use clap::Parser;
use std::path::PathBuf;

/// `evolve`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvolveArgs {
    /// Benchmark protocol (`p1` or `p2`; validation classes judge, test classes report).
    #[arg(long, value_enum, default_value_t = super::meta::ProtocolName::P2)]
    protocol: super::meta::ProtocolName,
    /// Folder holding manifest.json and the shards.
    #[arg(long, default_value = "static/mnist")]
    data: PathBuf,
    /// Meta-training budget of every individual, in tasks (meta-steps × meta-batch).
    #[arg(long, default_value_t = 400)]
    budget: usize,
    /// Individuals per generation (the first holds the hand-picked defaults of each algorithm).
    #[arg(long, default_value_t = 8)]
    population: usize,
    /// Generations (more than a saved search was set to: it is extended, and ends as a search
    /// set to run that long from the start).
    #[arg(long, default_value_t = 4)]
    generations: usize,
    /// Best individuals carried over unchanged.
    #[arg(long, default_value_t = 2)]
    elites: usize,
    /// Entrants per selection tournament.
    #[arg(long, default_value_t = 3)]
    tournament: usize,
    /// Chance that each gene of a child mutates.
    #[arg(long, default_value_t = 0.3)]
    mutation_rate: f64,
    /// Validation tasks per individual (its fitness).
    #[arg(long, default_value_t = 100)]
    val_episodes: usize,
    /// Test tasks for the best individual and the best hand-picked default at the end.
    #[arg(long, default_value_t = 600)]
    test_episodes: usize,
    /// Seed of the search and of every meta-training run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The search is saved here after every individual, and resumed from here if it exists.
    #[arg(long)]
    state: PathBuf,
    /// Append the outcome (one JSON line) to this results file.
    #[arg(long)]
    results: Option<PathBuf>,
}

impl EvolveArgs {
    /// The `meta-train` command line that trains `settings` for the budget.
    fn meta_train_line(&self, settings: &LearnerSettings, test: bool) -> Vec<String> {
        let steps = (self.budget / settings.meta_batch).max(1);
        let protocol = self.protocol.name();
        let mut line = vec!["fewshot-lab".to_string(), "meta-train".into()];
        line.extend(settings.flags());
        line.extend(
            [
                "--protocol",
                &protocol,
                "--data",
                &self.data.display().to_string(),
                "--steps",
                &steps.to_string(),
                "--validate-every",
                &steps.to_string(),
                "--val-episodes",
                &self.val_episodes.to_string(),
                "--patience",
                "0",
                "--seed",
                &self.seed.to_string(),
                "--test-episodes",
                &if test { self.test_episodes } else { 0 }.to_string(),
            ]
            .map(String::from),
        );
        line
    }

    /// Meta-trains `settings` for the budget.
    fn train(&self, settings: &LearnerSettings, test: bool) -> Result<Trained, String> {
        let line = self.meta_train_line(settings, test);
        let cli = Cli::try_parse_from(&line).map_err(|e| e.to_string())?;
        match cli.command {
            Command::MetaTrain { algo, task, run } => meta_train(algo, &task, &run),
            _ => unreachable!("the line starts with meta-train"),
        }
    }
}

/// Runs (or resumes) the search, then tests its best individual against the best default.
pub fn evolve(args: &EvolveArgs) -> Result<(), String> {
    if args.budget == 0 || args.val_episodes == 0 || args.test_episodes == 0 {
        return Err("budget, validation and test tasks must be at least 1".into());
    }
    let mut search = match std::fs::read_to_string(&args.state) {
        Ok(text) => {
            let mut search = Search::from_json(&text)
                .and_then(|search| check_space(&search.space).map(|()| search))
                .map_err(|e| format!("{}: {e}", args.state.display()))?;
            println!("resuming the search saved in {}", args.state.display());
            if search.extend(args.generations) {
                println!("extending it to {} generations", args.generations);
            }
            search
        }
        Err(_) => {
            let config = SearchConfig {
                population: args.population,
                generations: args.generations,
                elites: args.elites,
                tournament: args.tournament,
                mutation_rate: args.mutation_rate,
                seed: args.seed,
            };
            let defaults: Vec<_> = ALGORITHMS
                .iter()
                .map(|a| LearnerSettings::defaults(a).encode())
                .collect();
            Search::new(learner_space(), config, &defaults)?
        }
    };
    let config = search.config.clone();
    let total = config.learners();
    let started = crate::bench::now_ms();
    let fitness = |search: &Search, individual: &Individual| {
        let settings = LearnerSettings::decode(&individual.genome);
        println!(
            "\nindividual {} of {total} (generation {}): {}",
            individual.id + 1,
            individual.generation,
            settings.flags().join(" ")
        );
        if let Some(fitness) = search.twin_fitness(individual, LearnerSettings::same_learner) {
            // Training is deterministic: the same settings and seed give the same network.
            println!("fitness={fitness:.4} (the same learner was trained before)");
            return Ok(fitness);
        }
        let trained = args.train(&settings, false)?;
        println!("fitness={:.4}", trained.validation.mean);
        Ok(trained.validation.mean)
    };
    let save = |search: &Search| {
        std::fs::write(&args.state, search.to_json())
            .map_err(|e| format!("cannot write {}: {e}", args.state.display()))
    };
    search.run(fitness, save)?;
    let best = search.best().ok_or("no individual was evaluated")?.clone();
    let default = search.generations[0]
        .iter()
        .take(ALGORITHMS.len())
        .map(|&id| &search.individuals[id])
        .max_by(|a, b| {
            a.fitness
                .unwrap_or(0.0)
                .total_cmp(&b.fitness.unwrap_or(0.0))
        })
        .ok_or("the first generation is empty")?
        .clone();
    println!("\nbest per generation: {:?}", search.best_per_generation());
    let entry = |individual: &Individual| -> Result<EvolveEntry, String> {
        let settings = LearnerSettings::decode(&individual.genome);
        println!("\ntesting {}", settings.flags().join(" "));
        let trained = args.train(&settings, true)?;
        let test = trained.test.ok_or("the test was not run")?;
        Ok(EvolveEntry {
            settings: settings.flags().join(" "),
            validation: individual.fitness.unwrap_or(0.0),
            test: test.mean,
            test_ci95: test.ci95,
        })
    };
    let best_entry = entry(&best)?;
    let default_entry = if default.id == best.id {
        best_entry.clone()
    } else {
        entry(&default)?
    };
    let line = EvolveLine {
        protocol: args.protocol.name(),
        budget: args.budget,
        population: config.population,
        generations: config.generations,
        evaluated: search.individuals.len(),
        best_per_generation: search.best_per_generation(),
        best: best_entry,
        default: default_entry,
        test_episodes: args.test_episodes,
        minutes: (crate::bench::now_ms() - started) / 60e3,
        command: super::command_line(),
        commit: results::git_commit(),
        machine: results::machine(super::backend()),
        date: results::today(),
    };
    println!(
        "evolved: {} validation={:.4} test={:.4}±{:.4}",
        line.best.settings, line.best.validation, line.best.test, line.best.test_ci95
    );
    println!(
        "best hand-picked default: {} validation={:.4} test={:.4}±{:.4}",
        line.default.settings, line.default.validation, line.default.test, line.default.test_ci95
    );
    if let Some(path) = &args.results {
        super::meta::append_line(
            path,
            &serde_json::to_string(&line).expect("a result line serialises"),
        )?;
    }
    Ok(())
}
