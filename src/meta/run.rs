//! Meta-training as a steppable run, with validation, early stopping and the best checkpoint.
//!
//! A [`MetaTrainRun`] owns a learner and a protocol's class pools. Each call to
//! [`MetaTrainRun::advance`] does one unit of work — one meta-step on a batch of freshly drawn
//! training tasks, or, every `validate_every` steps, an evaluation on the validation classes —
//! and returns a [`MetaEvent`]. The best validated network is kept; the run stops after
//! `max_steps`, or once `patience` validations in a row did not improve on the best. The CLI
//! drives it with a progress bar; a page can drive it a step per frame.

use super::{Accuracy, EvalError, MetaLearner, evaluate};
use crate::data::episode::{EpisodeError, EpisodeSpec};
use crate::data::protocol::Protocol;
use crate::model::Network;
use crate::rng::Rng;
use burn::config::Config;
use burn::module::Module;

/// How long meta-training runs and how it is validated.
#[derive(Config, Debug, PartialEq)]
pub struct MetaTrainConfig {
    /// The task shape meta-training draws.
    pub spec: EpisodeSpec,
    /// Meta-steps at most.
    #[config(default = 20_000)]
    pub max_steps: usize,
    /// Tasks per meta-step.
    #[config(default = 4)]
    pub meta_batch: usize,
    /// Meta-steps between validations.
    #[config(default = 250)]
    pub validate_every: usize,
    /// Validation tasks (always the same ones, so validations compare).
    #[config(default = 200)]
    pub val_episodes: usize,
    /// Validations in a row without a new best before stopping (0: never stop early).
    #[config(default = 5)]
    pub patience: usize,
    /// Seed of the task sampler.
    #[config(default = 1)]
    pub seed: u64,
}

/// Seed of the validation tasks.
const VALIDATION_SEED: u64 = 1000;

/// The best network so far and when it was validated.
#[derive(Debug, Clone)]
pub struct Best {
    /// Meta-step after which it was validated.
    pub step: usize,
    /// Its validation accuracy.
    pub accuracy: Accuracy,
    /// The network (inference copy).
    pub model: Network,
    /// Its learned inner learning rates (Meta-SGD).
    pub rates: Option<Network>,
}

/// What one call to [`MetaTrainRun::advance`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaEvent {
    /// One meta-step.
    Step {
        /// Meta-steps done, from 1.
        step: usize,
        /// The tasks' mean query loss before the update.
        loss: f32,
    },
    /// A validation.
    Validated {
        /// Meta-steps done.
        step: usize,
        /// Accuracy on the validation tasks.
        accuracy: Accuracy,
        /// True when it is the best so far (and so the kept network).
        best: bool,
    },
    /// The run is over; further calls return this again.
    Finished(StopReason),
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `max_steps` meta-steps were done.
    MaxSteps,
    /// `patience` validations in a row brought no improvement.
    NoImprovement,
}

impl StopReason {
    /// Short name for logs and result files.
    pub fn label(self) -> &'static str {
        match self {
            Self::MaxSteps => "max-steps",
            Self::NoImprovement => "early-stop",
        }
    }
}

/// Why meta-training could not go on.
#[derive(Debug, thiserror::Error)]
pub enum MetaTrainError {
    /// Tasks of this shape cannot be drawn from the protocol.
    #[error(transparent)]
    Episode(#[from] EpisodeError),
    /// Validation failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// A reading back from the device failed.
    #[error("reading the loss from the device failed: {0}")]
    Device(String),
    /// The meta-loss became NaN or infinite.
    #[error("meta-training diverged: the query loss is {0} (try smaller learning rates)")]
    Diverged(f32),
    /// A setting that cannot work.
    #[error("{0}")]
    Setting(String),
}

/// A meta-training run in progress.
pub struct MetaTrainRun {
    config: MetaTrainConfig,
    learner: Box<dyn MetaLearner>,
    protocol: Protocol,
    rng: Rng,
    step: usize,
    validated_at: usize,
    validations_without_gain: usize,
    best: Option<Best>,
    stopped: Option<StopReason>,
}

impl MetaTrainRun {
    /// A run of `learner` on `protocol`; refuses settings that cannot work.
    pub fn new(
        config: MetaTrainConfig,
        learner: Box<dyn MetaLearner>,
        protocol: Protocol,
    ) -> Result<Self, MetaTrainError> {
        let positive = [
            ("way", config.spec.way),
            ("shot", config.spec.shot),
            ("query", config.spec.query),
            ("meta-batch", config.meta_batch),
            ("max steps", config.max_steps),
            ("validate-every", config.validate_every),
            ("validation episodes", config.val_episodes),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(MetaTrainError::Setting(format!(
                "{name} must be at least 1"
            )));
        }
        Ok(Self {
            rng: Rng::new(config.seed),
            config,
            learner,
            protocol,
            step: 0,
            validated_at: 0,
            validations_without_gain: 0,
            best: None,
            stopped: None,
        })
    }

    /// The learner being trained.
    pub fn learner(&self) -> &dyn MetaLearner {
        self.learner.as_ref()
    }

    /// The protocol it runs on.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }

    /// The best validated network so far.
    pub fn best(&self) -> Option<&Best> {
        self.best.as_ref()
    }

    /// Meta-steps done.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The run's settings.
    pub fn config(&self) -> &MetaTrainConfig {
        &self.config
    }

    /// The validation task shape: the training shape, narrowed to the validation classes.
    pub fn validation_spec(&self) -> EpisodeSpec {
        self.protocol.val_tasks(self.config.spec).spec
    }

    /// Does the next unit of work (see the module documentation).
    pub async fn advance(&mut self) -> Result<MetaEvent, MetaTrainError> {
        if let Some(reason) = self.stopped {
            return Ok(MetaEvent::Finished(reason));
        }
        let due = self.step > self.validated_at
            && (self.step.is_multiple_of(self.config.validate_every)
                || self.step == self.config.max_steps);
        if due {
            return self.validate().await;
        }
        if self.step == self.config.max_steps {
            return Ok(self.stop(StopReason::MaxSteps));
        }
        let train = self.protocol.train_tasks(self.config.spec);
        let tasks = (0..self.config.meta_batch)
            .map(|_| train.sample(&mut self.rng))
            .collect::<Result<Vec<_>, EpisodeError>>()?;
        let loss = self
            .learner
            .meta_step(&tasks)
            .into_scalar_async::<f32>()
            .await
            .map_err(|e| MetaTrainError::Device(format!("{e:?}")))?;
        if !loss.is_finite() {
            return Err(MetaTrainError::Diverged(loss));
        }
        self.step += 1;
        Ok(MetaEvent::Step {
            step: self.step,
            loss,
        })
    }

    /// The learner's accuracy as it is now on the validation tasks (the same tasks every
    /// validation uses), not recorded: before the first meta-step, the accuracy of the same
    /// learner without meta-training.
    pub async fn accuracy_now(&self) -> Result<Accuracy, MetaTrainError> {
        evaluate(
            self.learner.as_ref(),
            self.protocol.val_tasks(self.config.spec),
            self.config.val_episodes,
            VALIDATION_SEED,
        )
        .await
        .map_err(MetaTrainError::from)
    }

    async fn validate(&mut self) -> Result<MetaEvent, MetaTrainError> {
        let accuracy = self.accuracy_now().await?;
        self.validated_at = self.step;
        let best = self
            .best
            .as_ref()
            .is_none_or(|b| accuracy.mean > b.accuracy.mean);
        if best {
            self.validations_without_gain = 0;
            self.best = Some(Best {
                step: self.step,
                accuracy,
                model: self.learner.model().valid(),
                rates: self.learner.rates().map(|r| r.valid()),
            });
        } else {
            self.validations_without_gain += 1;
            if self.config.patience > 0 && self.validations_without_gain >= self.config.patience {
                self.stopped = Some(StopReason::NoImprovement);
            }
        }
        Ok(MetaEvent::Validated {
            step: self.step,
            accuracy,
            best,
        })
    }

    fn stop(&mut self, reason: StopReason) -> MetaEvent {
        self.stopped = Some(reason);
        MetaEvent::Finished(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::bench::synthetic_images;
    use crate::data::protocol::{ExtraClasses, digits};
    use crate::meta::protonet::ProtoNet;
    use crate::model::Backbone;

    fn protocol() -> Protocol {
        let images = synthetic_images(300, 2);
        digits(&images, &images, ExtraClasses::default())
    }

    fn learner() -> Box<dyn MetaLearner> {
        let device = cpu_device();
        device.seed(1);
        Box::new(ProtoNet::new(Backbone::Reference, 1e-3, &device))
    }

    fn spec() -> EpisodeSpec {
        EpisodeSpec {
            way: 3,
            shot: 1,
            query: 2,
        }
    }

    /// `meta-train --meta-batch 0` meta-stepped on no tasks and panicked.
    #[test]
    fn settings_that_cannot_work_are_refused() {
        let config = MetaTrainConfig::new(spec()).with_meta_batch(0);
        let error = MetaTrainRun::new(config, learner(), protocol())
            .err()
            .unwrap();
        assert!(error.to_string().contains("meta-batch"), "{error}");
    }

    #[test]
    fn a_run_validates_keeps_the_best_and_stops() {
        let config = MetaTrainConfig::new(spec())
            .with_max_steps(6)
            .with_validate_every(3)
            .with_val_episodes(4);
        let mut run = MetaTrainRun::new(config, learner(), protocol()).unwrap();
        let mut events = Vec::new();
        loop {
            let event = pollster::block_on(run.advance()).unwrap();
            let done = matches!(event, MetaEvent::Finished(_));
            events.push(event);
            if done {
                break;
            }
        }
        let steps = events
            .iter()
            .filter(|e| matches!(e, MetaEvent::Step { .. }))
            .count();
        let validations: Vec<usize> = events
            .iter()
            .filter_map(|e| match e {
                MetaEvent::Validated { step, .. } => Some(*step),
                _ => None,
            })
            .collect();
        assert_eq!(steps, 6);
        assert_eq!(validations, [3, 6]);
        assert_eq!(
            events.last(),
            Some(&MetaEvent::Finished(StopReason::MaxSteps))
        );
        assert!(run.best().is_some_and(|b| b.step == 3 || b.step == 6));
    }

    #[test]
    fn patience_stops_a_run_that_no_longer_improves() {
        // A zero learning rate never improves after the first validation.
        let device = cpu_device();
        device.seed(1);
        let frozen = Box::new(ProtoNet::new(Backbone::Reference, 0.0, &device));
        let config = MetaTrainConfig::new(spec())
            .with_max_steps(100)
            .with_validate_every(1)
            .with_val_episodes(4)
            .with_patience(2);
        let mut run = MetaTrainRun::new(config, frozen, protocol()).unwrap();
        let reason = loop {
            if let MetaEvent::Finished(reason) = pollster::block_on(run.advance()).unwrap() {
                break reason;
            }
        };
        assert_eq!(reason, StopReason::NoImprovement);
        assert_eq!(
            run.step(),
            3,
            "one best, then two validations without a gain"
        );
    }
}
