//! An evolutionary search over learners, as the evolution page's *Search here* asks for it: the
//! run, and what it reports.

use super::super::widgets::yield_to_page;
use super::meta_train::SPEC;
use super::{Go, Report, hold};
use crate::data::protocol::Protocol;
use crate::evolve::learner::{ALGORITHMS, LearnerSettings, learner_space};
use crate::evolve::search::{Search, SearchConfig};
use crate::meta::run::MetaEvent;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// A search on two-digit classes (P2, 5-way 1-shot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchJob {
    /// Population, generations, selection and mutation.
    pub config: SearchConfig,
    /// Meta-training tasks per learner.
    pub budget: usize,
    /// Validation tasks per learner.
    pub val_episodes: usize,
}

/// How the search goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SearchReport {
    /// The whole search as it stands (`Search::to_json`), after each learner and each breeding.
    Population(String),
    /// A meta-step of `learner` (from 1) of `learners`, an `algorithm`, `step` of `steps`.
    Step {
        learner: usize,
        learners: usize,
        algorithm: String,
        step: usize,
        steps: usize,
    },
}

/// The search as `job` says, its first generation the hand-picked defaults of each algorithm:
/// meta-trains each pending learner and breeds, reporting as it goes; `Ok(false)` when
/// `control` stopped it.
pub async fn run(
    job: SearchJob,
    protocol: Protocol,
    device: &Device,
    control: &impl Fn() -> Go,
    report: &mut dyn FnMut(Report),
) -> Result<bool, String> {
    let defaults: Vec<_> = ALGORITHMS
        .iter()
        .map(|a| LearnerSettings::defaults(a).encode())
        .collect();
    let mut search = Search::new(learner_space(), job.config, &defaults)?;
    let learners = search.config.learners();
    population(&search, report);
    loop {
        let Some(individual) = search.pending().cloned() else {
            if search.breed() {
                population(&search, report);
                continue;
            }
            return Ok(true);
        };
        if let Some(fitness) = search.twin_fitness(&individual, LearnerSettings::same_learner) {
            // The same settings and seed were trained before: the same network, the same fitness.
            search.record(individual.id, Ok(fitness));
            population(&search, report);
            continue;
        }
        let settings = LearnerSettings::decode(&individual.genome);
        let steps = (job.budget / settings.meta_batch).max(1);
        let mut run = settings.budget_run(
            protocol.clone(),
            SPEC,
            job.budget,
            job.val_episodes,
            1,
            device,
        )?;
        let fitness = loop {
            if !hold(control, report).await {
                return Ok(false);
            }
            match run.advance().await.map_err(|e| e.to_string())? {
                MetaEvent::Step { step, .. } => report(Report::Search(SearchReport::Step {
                    learner: individual.id + 1,
                    learners,
                    algorithm: settings.algorithm.to_string(),
                    step,
                    steps,
                })),
                MetaEvent::Validated { .. } => {}
                MetaEvent::Finished(_) => {
                    break run
                        .best()
                        .map(|b| b.accuracy.mean)
                        .ok_or("no validation was run")?;
                }
            }
            yield_to_page().await;
        };
        search.record(individual.id, Ok(fitness));
        population(&search, report);
    }
}

/// Reports the whole search as it stands.
fn population(search: &Search, report: &mut dyn FnMut(Report)) {
    report(Report::Search(SearchReport::Population(search.to_json())));
}
