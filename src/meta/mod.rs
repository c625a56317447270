//! Meta-learning: learners that adapt to a new few-shot task from its support set.
//!
//! One file per algorithm, each behind the same small surface (after learn2learn): a
//! [`FewShotLearner`] adapts to an episode's support set and predicts its query labels; a
//! [`MetaLearner`] can also take an outer-loop step from a batch of tasks. Baselines that do no
//! meta-learning implement only the first. [`evaluate`] measures any learner on many episodes
//! and reports the mean accuracy with a 95 % confidence interval.

pub mod ensemble;
pub mod es_maml;
pub mod finetune;
pub mod inner;
pub mod maml;
pub mod meta_sgd;
pub mod params;
pub mod pretrained;
pub mod protonet;
pub mod reptile;
pub mod run;
pub mod scratch;
pub mod unroll;

use crate::data::episode::{Episode, EpisodeError};
use crate::data::tasks::Tasks;
use crate::model::Network;
use crate::rng::Rng;
use burn::tensor::{Int, Tensor};
use inner::InnerLoop;

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
    fn model(&self) -> &Network;
    /// How the network adapts to a task, for learners with an inner loop.
    fn inner_loop(&self) -> Option<&InnerLoop> {
        None
    }
    /// Learned per-parameter inner learning rates, for learners that have them (Meta-SGD).
    fn rates(&self) -> Option<&Network> {
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
    /// Nothing to evaluate.
    #[error("evaluation needs at least one task")]
    NoEpisodes,
}

/// Evaluates `learner` on `episodes` of `tasks` drawn with `seed`.
pub async fn evaluate(
    learner: &dyn FewShotLearner,
    tasks: Tasks<'_>,
    episodes: usize,
    seed: u64,
) -> Result<Accuracy, EvalError> {
    if episodes == 0 {
        return Err(EvalError::NoEpisodes);
    }
    let mut rng = Rng::new(seed);
    let mut accuracies = Vec::with_capacity(episodes);
    for _ in 0..episodes {
        let episode = tasks.sample(&mut rng)?;
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
    use crate::backend::cpu_device;
    use crate::bench::synthetic_images;
    use crate::data::episode::{ClassPool, EpisodeSpec};
    use crate::data::tasks::TaskDraw;
    use crate::model::Backbone;

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

    /// Plain MAML on the tiny problem: learned output layer, two whole-network inner steps.
    pub(crate) fn plain_maml(second_order: bool) -> maml::MamlConfig {
        let inner = InnerLoop::new().with_steps(2).with_lr(0.05);
        maml::MamlConfig::new(5, inner).with_second_order(second_order)
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
            "{} on {:?}: query loss {before} -> {after}",
            learner.name(),
            learner.model().backbone()
        );
    }

    /// Runs the meta-loss check on a learner made for each backbone.
    fn on_both_backbones(make: impl Fn(Backbone, &burn::tensor::Device) -> Box<dyn MetaLearner>) {
        for backbone in [Backbone::Reference, Backbone::Conv4] {
            let device = cpu_device();
            device.seed(4);
            assert_meta_training_lowers_query_loss(make(backbone, &device).as_mut());
        }
    }

    #[test]
    fn first_order_maml_lowers_its_meta_loss() {
        on_both_backbones(|b, d| Box::new(maml::Maml::new(b, plain_maml(false), d)));
    }

    #[test]
    fn second_order_maml_lowers_its_meta_loss() {
        on_both_backbones(|b, d| Box::new(maml::Maml::new(b, plain_maml(true), d)));
    }

    #[test]
    fn head_only_proto_maml_lowers_its_meta_loss() {
        let inner = InnerLoop::new()
            .with_steps(2)
            .with_lr(0.5)
            .with_head_only(true)
            .with_proto_head(true);
        on_both_backbones(|b, d| {
            let config = maml::MamlConfig::new(5, inner.clone());
            Box::new(maml::Maml::new(b, config, d))
        });
    }

    #[test]
    fn meta_sgd_lowers_its_meta_loss_first_and_second_order() {
        for second_order in [false, true] {
            let config = plain_maml(second_order);
            on_both_backbones(|b, d| Box::new(meta_sgd::MetaSgd::new(b, config.clone(), d)));
        }
    }

    #[test]
    fn reptile_lowers_its_meta_loss() {
        let inner = InnerLoop::new().with_steps(3).with_lr(0.05);
        on_both_backbones(|b, d| Box::new(reptile::Reptile::new(b, 5, inner.clone(), 0.5, d)));
        on_both_backbones(|b, d| {
            Box::new(reptile::Reptile::new(b, 5, inner.clone(), 0.5, d).with_query_minibatches())
        });
    }

    #[test]
    fn protonet_lowers_its_meta_loss() {
        on_both_backbones(|b, d| Box::new(protonet::ProtoNet::new(b, 1e-3, d)));
    }

    #[test]
    fn pretraining_lowers_its_classification_loss() {
        on_both_backbones(|b, d| Box::new(pretrained::Pretrained::new(b, 10, d)));
    }

    #[test]
    fn scratch_learns_easy_tasks_on_both_backbones() {
        for backbone in [Backbone::Reference, Backbone::Conv4] {
            let device = cpu_device();
            device.seed(3);
            let learner = scratch::Scratch::new(backbone, 30, 1e-2, &device);
            let pool = easy_pool();
            let classes: Vec<usize> = (0..10).collect();
            let spec = EpisodeSpec {
                way: 5,
                shot: 2,
                query: 4,
            };
            let tasks = Tasks {
                pool: &pool,
                classes: &classes,
                spec,
                draw: TaskDraw::default(),
            };
            let accuracy = pollster::block_on(evaluate(&learner, tasks, 5, 1)).unwrap();
            assert!(
                accuracy.mean > 0.6,
                "{backbone:?}: scratch accuracy {} on easy 5-way tasks",
                accuracy.mean
            );
        }
    }

    #[test]
    fn confidence_interval_matches_the_formula() {
        let accuracy = Accuracy::from_episodes(&[0.5, 0.7, 0.9, 0.7]);
        assert!((accuracy.mean - 0.7).abs() < 1e-12);
        // sample sd = sqrt(0.08 / 3); ci = 1.96 · sd / 2
        assert!((accuracy.ci95 - 1.96 * (0.08f64 / 3.0).sqrt() / 2.0).abs() < 1e-12);
    }
}
