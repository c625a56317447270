//! Meta-learning: learners that adapt to a new few-shot task from its support set.
//!
//! One file per algorithm, each behind the same small surface (after learn2learn): a
//! [`FewShotLearner`] adapts to an episode's support set and predicts its query labels; a
//! [`MetaLearner`] can also take an outer-loop step from a batch of tasks. Baselines that do no
//! meta-learning implement only the first. [`evaluate`] measures any learner on many episodes
//! and reports the mean accuracy with a 95 % confidence interval.

pub mod maml;
pub mod meta_sgd;
pub mod params;
pub mod pretrained;
pub mod protonet;
pub mod reptile;
pub mod scratch;
pub mod unroll;

use crate::data::episode::{ClassPool, Episode, EpisodeError, EpisodeSpec};
use crate::model::ReferenceCnn;
use crate::rng::Rng;
use burn::tensor::{Int, Tensor};

/// Adapts to a task's support set and predicts its query set.
pub trait FewShotLearner {
    /// Short name used in tables and result lines.
    fn name(&self) -> &'static str;
    /// Predicted task labels `[way · query]` for the episode's query images, after adapting
    /// to its support set.
    fn predict(&self, episode: &Episode) -> Tensor<1, Int>;
}

/// A learner whose starting point is itself learned, across tasks.
pub trait MetaLearner: FewShotLearner {
    /// One outer-loop update from `tasks`; returns their mean query loss before the update.
    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1>;
    /// The meta-learned network (what a checkpoint saves).
    fn model(&self) -> &ReferenceCnn;
    /// Learned per-parameter inner learning rates, for learners that have them (Meta-SGD).
    fn rates(&self) -> Option<&ReferenceCnn> {
        None
    }
}

/// Mean accuracy over episodes and the half-width of its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Accuracy {
    /// Mean of the per-episode query accuracies.
    pub mean: f64,
    /// 1.96 × standard error of the mean.
    pub ci95: f64,
    /// Episodes evaluated.
    pub episodes: usize,
}

impl Accuracy {
    /// Summarises per-episode accuracies.
    pub fn from_episodes(accuracies: &[f64]) -> Self {
        let n = accuracies.len() as f64;
        let mean = accuracies.iter().sum::<f64>() / n;
        let variance =
            accuracies.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        Self {
            mean,
            ci95: 1.96 * (variance / n).sqrt(),
            episodes: accuracies.len(),
        }
    }
}

/// Why an evaluation stopped.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The requested tasks cannot be drawn from the pool.
    #[error(transparent)]
    Episode(#[from] EpisodeError),
    /// Reading predictions back from the device failed.
    #[error("reading predictions from the device failed: {0}")]
    Device(String),
}

/// Evaluates `learner` on `episodes` tasks drawn from `classes` of `pool` with `seed`.
pub async fn evaluate(
    learner: &dyn FewShotLearner,
    pool: &ClassPool,
    classes: &[usize],
    spec: EpisodeSpec,
    episodes: usize,
    seed: u64,
) -> Result<Accuracy, EvalError> {
    let mut rng = Rng::new(seed);
    let mut accuracies = Vec::with_capacity(episodes);
    for _ in 0..episodes {
        let episode = pool.sample(classes, spec, &mut rng)?;
        let predicted = learner.predict(&episode);
        let labels: Vec<i64> = episode.query.labels.iter().map(|&l| i64::from(l)).collect();
        let predicted = predicted
            .into_data_async()
            .await
            .map_err(|e| EvalError::Device(format!("{e:?}")))?;
        let correct = predicted
            .iter::<i64>()
            .zip(&labels)
            .filter(|(p, l)| p == *l)
            .count();
        accuracies.push(correct as f64 / labels.len() as f64);
    }
    Ok(Accuracy::from_episodes(&accuracies))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::synthetic_images;

    /// A pool of the ten easy synthetic classes, 40 images each.
    pub(crate) fn easy_pool() -> ClassPool {
        ClassPool::from_labels(&synthetic_images(400, 8))
    }

    /// Four fixed 5-way 1-shot tasks (3 queries per class) from [`easy_pool`].
    pub(crate) fn fixed_tasks() -> Vec<Episode> {
        let pool = easy_pool();
        let classes: Vec<usize> = (0..10).collect();
        let spec = EpisodeSpec {
            way: 5,
            shot: 1,
            query: 3,
        };
        let mut rng = Rng::new(6);
        (0..4)
            .map(|_| pool.sample(&classes, spec, &mut rng).unwrap())
            .collect()
    }

    /// Asserts that 16 meta-steps on the same tasks cut their query loss by 30 % or more.
    pub(crate) fn assert_meta_training_lowers_query_loss(learner: &mut dyn MetaLearner) {
        let tasks = fixed_tasks();
        let before = learner.meta_step(&tasks).into_scalar::<f32>();
        for _ in 0..15 {
            learner.meta_step(&tasks);
        }
        let after = learner.meta_step(&tasks).into_scalar::<f32>();
        assert!(
            after < before * 0.7,
            "{}: query loss {before} -> {after}",
            learner.name()
        );
    }

    #[test]
    fn confidence_interval_matches_the_formula() {
        let accuracy = Accuracy::from_episodes(&[0.5, 0.7, 0.9, 0.7]);
        assert!((accuracy.mean - 0.7).abs() < 1e-12);
        // sample sd = sqrt(0.08 / 3); ci = 1.96 · sd / 2
        assert!((accuracy.ci95 - 1.96 * (0.08f64 / 3.0).sqrt() / 2.0).abs() < 1e-12);
    }
}
