//! Classic supervised training of the reference CNN: the loop, its settings and its reports.
//!
//! A [`TrainRun`] is a small state machine: each call to [`TrainRun::advance`] does one unit of
//! work — one Adam step on a mini-batch, or the test evaluation that closes an epoch — and
//! returns a [`TrainEvent`]. The CLI drives it in a blocking loop with a progress bar; the
//! browser drives it from an async task that yields to the page between steps and can pause,
//! resume or drop it. Both read the same events, so the figures they print are the same.
//! Reads from the device are async (`into_scalar_async`), as a GPU in a browser requires.

use crate::data::{ImageSet, NUM_CLASSES};
use crate::model::{Backbone, Network, cross_entropy};
use crate::rng::Rng;
use burn::config::Config;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};

/// Everything that defines a training run.
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training images.
    #[config(default = 2)]
    pub epochs: usize,
    /// Images per Adam step (see the README for the settings compared).
    #[config(default = 32)]
    pub batch_size: usize,
    /// Adam learning rate (peak of the cosine schedule).
    #[config(default = 3e-3)]
    pub learning_rate: f64,
    /// Seed for weight initialisation and data order.
    #[config(default = 42)]
    pub seed: u64,
    /// Anneal the learning rate to zero along a cosine over the whole run.
    #[config(default = true)]
    pub cosine_decay: bool,
    /// Cap on training images per epoch (0: all available) — for quick demos and tests.
    #[config(default = 0)]
    pub epoch_images: usize,
    /// Cap on test images evaluated after each epoch (0: all available).
    #[config(default = 0)]
    pub test_images: usize,
    /// Architecture trained.
    #[config(default = "Backbone::Reference")]
    pub backbone: Backbone,
}

/// Figures after one training step.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepReport {
    /// Epoch in progress, from 1.
    pub epoch: usize,
    /// Step number since the start of the run, from 1.
    pub step: usize,
    /// Images trained on since the start of the run.
    pub images_seen: usize,
    /// Images in this step's batch (the last batch of an epoch may be smaller).
    pub batch: usize,
    /// Images of this epoch done so far.
    pub epoch_done: usize,
    /// Images this epoch will cover (may grow while shards still arrive).
    pub epoch_size: usize,
    /// Mean cross-entropy of the batch.
    pub loss: f32,
    /// Fraction of the batch classified correctly (before the update).
    pub accuracy: f32,
}

/// Figures of the evaluation that closes an epoch.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochReport {
    /// Epoch just finished, from 1.
    pub epoch: usize,
    /// Accuracy on the evaluated test images.
    pub test_accuracy: f32,
    /// Mean cross-entropy on them.
    pub test_loss: f32,
    /// How many test images were evaluated.
    pub test_images: usize,
}

/// What one call to [`TrainRun::advance`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrainEvent {
    /// One optimiser step.
    Step(StepReport),
    /// One batch of the end-of-epoch test evaluation was run.
    Evaluating {
        /// Test images evaluated so far.
        done: usize,
        /// Test images to evaluate.
        total: usize,
    },
    /// An epoch ended and the test set was evaluated.
    Epoch(EpochReport),
    /// All epochs are done; further calls do nothing.
    Finished,
}

/// Why training could not go on.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// No training or test images yet.
    #[error("no {0} images are loaded yet")]
    NoData(&'static str),
    /// Reading a result back from the device failed (e.g. the GPU device was lost).
    #[error("reading results from the device failed: {0}")]
    Device(String),
    /// The loss became NaN or infinite.
    #[error("training diverged: the loss is {0}")]
    Diverged(f32),
}

/// Told the name of each phase of a training step as it ends.
pub type PhaseMark<'a> = &'a mut dyn FnMut(&'static str) -> Result<(), TrainError>;

/// A training run in progress: model, optimiser state, data and position.
pub struct TrainRun {
    config: TrainConfig,
    device: Device,
    model: Network,
    optim: ModuleOptimizer,
    rng: Rng,
    /// Training images (grows while shards arrive).
    pub train: ImageSet,
    /// Test images (grows while shards arrive).
    pub test: ImageSet,
    epoch: usize,
    order: Vec<usize>,
    cursor: usize,
    step: usize,
    images_seen: usize,
    evaluation: Option<Evaluation>,
}

/// Reads a one-element float tensor back from its device.
pub async fn read_f32(tensor: Tensor<1>) -> Result<f32, TrainError> {
    tensor
        .into_scalar_async::<f32>()
        .await
        .map_err(|e| TrainError::Device(format!("{e:?}")))
}

impl TrainRun {
    /// A fresh run on `device` (plain, without autodiff) with a newly initialised model.
    pub fn new(config: TrainConfig, device: &Device) -> Self {
        device.seed(config.seed);
        let train_device = device.clone().autodiff();
        let model = Network::new(config.backbone, NUM_CLASSES, &train_device);
        let optim = AdamConfig::new().init();
        let rng = Rng::new(config.seed);
        Self {
            config,
            device: train_device,
            model,
            optim,
            rng,
            train: ImageSet::default(),
            test: ImageSet::default(),
            epoch: 1,
            order: Vec::new(),
            cursor: 0,
            step: 0,
            images_seen: 0,
            evaluation: None,
        }
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The model as it is now, for inference (no autodiff).
    pub fn model(&self) -> Network {
        self.model.valid()
    }

    /// True once every epoch is done.
    pub fn is_finished(&self) -> bool {
        self.epoch > self.config.epochs
    }

    fn capped(len: usize, cap: usize) -> usize {
        if cap == 0 { len } else { len.min(cap) }
    }

    /// Adds images that arrived since the epoch's order was drawn (the epoch covers them too).
    fn extend_order(&mut self) {
        let target = Self::capped(self.train.len(), self.config.epoch_images);
        if target > self.order.len() {
            let mut fresh: Vec<usize> = (self.order.len()..target).collect();
            self.rng.shuffle(&mut fresh);
            self.order.extend(fresh);
        }
    }

    /// Does the next unit of work: a training step, or one batch of the test evaluation that
    /// closes an epoch (so a page can update between batches), or the end of the epoch.
    pub async fn advance(&mut self) -> Result<TrainEvent, TrainError> {
        self.advance_marked(&mut |_| Ok(())).await
    }

    /// [`TrainRun::advance`], calling `mark` with the name of each phase of a training step as
    /// it ends (the profile times them: `bench --profile`).
    pub async fn advance_marked(&mut self, mark: PhaseMark<'_>) -> Result<TrainEvent, TrainError> {
        if self.is_finished() {
            return Ok(TrainEvent::Finished);
        }
        if self.evaluation.is_none() {
            if self.train.is_empty() {
                return Err(TrainError::NoData("training"));
            }
            self.extend_order();
            if self.cursor < self.order.len() {
                return self.train_step(mark).await.map(TrainEvent::Step);
            }
            let limit = Self::capped(self.test.len(), self.config.test_images);
            self.evaluation = Some(Evaluation::new(self.model(), &self.train, limit)?);
        }
        let evaluation = self
            .evaluation
            .as_mut()
            .expect("an evaluation is in progress");
        if !evaluation.is_done() {
            let done = evaluation.step(&self.test);
            return Ok(TrainEvent::Evaluating {
                done,
                total: evaluation.limit,
            });
        }
        let evaluation = self
            .evaluation
            .take()
            .expect("an evaluation is in progress");
        let test_images = evaluation.limit;
        let (test_accuracy, test_loss) = evaluation.finish().await?;
        let report = EpochReport {
            epoch: self.epoch,
            test_accuracy,
            test_loss,
            test_images,
        };
        self.epoch += 1;
        self.order.clear();
        self.cursor = 0;
        Ok(TrainEvent::Epoch(report))
    }

    async fn train_step(&mut self, mark: PhaseMark<'_>) -> Result<StepReport, TrainError> {
        let end = (self.cursor + self.config.batch_size).min(self.order.len());
        let batch = self
            .train
            .batch(&self.order[self.cursor..end], &self.device);
        let batch_len = end - self.cursor;
        mark("upload the batch")?;
        // Forward pass and loss on the batch.
        let logits = self.model.forward(batch.images);
        let loss = cross_entropy(logits.clone(), batch.labels.clone());
        let correct = count_correct(logits.detach(), batch.labels);
        mark("forward, loss and correct count")?;
        // Backward pass, then one Adam update.
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        mark("backward")?;
        let learning_rate = self.learning_rate();
        self.model = self.optim.step(learning_rate, self.model.clone(), grads);
        mark("Adam update")?;
        // Read both figures in one go: the loss and the correct count share a readback.
        let figures = Tensor::cat(vec![loss.detach(), correct.float()], 0);
        let values = figures
            .into_data_async()
            .await
            .map_err(|e| TrainError::Device(format!("{e:?}")))?;
        let values: Vec<f32> = values.iter::<f32>().collect();
        mark("read back loss and correct count")?;
        let (loss, correct) = (values[0], values[1]);
        if !loss.is_finite() {
            return Err(TrainError::Diverged(loss));
        }
        self.cursor = end;
        self.step += 1;
        self.images_seen += batch_len;
        Ok(StepReport {
            epoch: self.epoch,
            step: self.step,
            images_seen: self.images_seen,
            batch: batch_len,
            epoch_done: self.cursor,
            epoch_size: self.order.len(),
            loss,
            accuracy: correct / batch_len as f32,
        })
    }

    /// The learning rate for the next step, following the schedule.
    pub fn learning_rate(&self) -> f64 {
        let base = self.config.learning_rate;
        if !self.config.cosine_decay {
            return base;
        }
        let within = self.cursor as f64 / self.order.len().max(1) as f64;
        let progress = ((self.epoch - 1) as f64 + within) / self.config.epochs as f64;
        0.5 * base * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
    }
}

/// Number of rows of `logits` whose arg-max equals the label, as a one-element tensor.
pub fn count_correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1, Int> {
    let predicted = logits.argmax(1).squeeze_dim::<1>(1);
    predicted.equal(labels).int().sum()
}

/// A test-set evaluation run a batch at a time; its sums stay on the device until
/// [`Evaluation::finish`] reads them back once.
pub struct Evaluation {
    model: Network,
    /// Images whose statistics normalise every test batch (Conv-4), so test images never
    /// influence one another's predictions.
    reference: ImageSet,
    limit: usize,
    next: usize,
    correct: Tensor<1, Int>,
    loss_sum: Tensor<1>,
}

impl Evaluation {
    /// Images per evaluation batch.
    const BATCH: usize = 500;

    /// Training images that normalise the test batches.
    const REFERENCE: usize = 256;

    /// An evaluation of `model` (no autodiff) on the first `limit` images of a set, normalised
    /// with the statistics of the first training images of `train`.
    pub fn new(model: Network, train: &ImageSet, limit: usize) -> Result<Self, TrainError> {
        if limit == 0 {
            return Err(TrainError::NoData("test"));
        }
        let device = model
            .devices()
            .into_iter()
            .next()
            .expect("a model has a device");
        Ok(Self {
            correct: Tensor::zeros([1], &device),
            loss_sum: Tensor::zeros([1], &device),
            model,
            reference: train.range(0..Self::REFERENCE.min(train.len())),
            limit,
            next: 0,
        })
    }

    /// True once every image has been evaluated.
    pub fn is_done(&self) -> bool {
        self.next >= self.limit
    }

    /// Evaluates the next batch of `set`; returns how many images are done.
    pub fn step(&mut self, set: &ImageSet) -> usize {
        let end = (self.next + Self::BATCH).min(self.limit);
        let indices: Vec<usize> = (self.next..end).collect();
        let device = self.correct.device();
        let batch = set.batch(&indices, &device);
        let reference = self.reference.to_batch(&device).images;
        let logits = self.model.classify(reference, batch.images);
        let batch_loss = cross_entropy(logits.clone(), batch.labels.clone());
        self.loss_sum = self.loss_sum.clone() + batch_loss * (indices.len() as f32);
        self.correct = self.correct.clone() + count_correct(logits, batch.labels);
        self.next = end;
        end
    }

    /// Reads back accuracy and mean loss over the evaluated images.
    pub async fn finish(self) -> Result<(f32, f32), TrainError> {
        let figures = Tensor::cat(vec![self.correct.float(), self.loss_sum], 0)
            .into_data_async()
            .await
            .map_err(|e| TrainError::Device(format!("{e:?}")))?;
        let values: Vec<f32> = figures.iter::<f32>().collect();
        let n = self.next as f32;
        Ok((values[0] / n, values[1] / n))
    }
}

/// Chance-level accuracy of a classifier that guesses.
pub const CHANCE_ACCURACY: f32 = 1.0 / NUM_CLASSES as f32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::bench::synthetic_images;

    #[test]
    fn loss_decreases_over_adam_steps_and_epochs_are_evaluated() {
        let config = TrainConfig::new()
            .with_epochs(1)
            .with_batch_size(20)
            .with_epoch_images(190);
        let mut run = TrainRun::new(config, &cpu_device());
        run.train = synthetic_images(200, 1);
        run.test = synthetic_images(100, 2);
        let mut losses = Vec::new();
        let mut batches = Vec::new();
        let mut evaluation = None;
        loop {
            match pollster::block_on(run.advance()).unwrap() {
                TrainEvent::Step(report) => {
                    losses.push(report.loss);
                    batches.push(report.batch);
                }
                TrainEvent::Epoch(report) => evaluation = Some(report),
                TrainEvent::Evaluating { done, total } => assert!(done <= total),
                TrainEvent::Finished => break,
            }
        }
        assert_eq!(losses.len(), 10);
        // Each report says how many images its step trained on (the page's images/s uses it).
        assert_eq!(batches, [20, 20, 20, 20, 20, 20, 20, 20, 20, 10]);
        let first: f32 = losses[..2].iter().sum();
        let last: f32 = losses[8..].iter().sum();
        assert!(last < first * 0.5, "loss did not fall: {losses:?}");
        let evaluation = evaluation.expect("the epoch was evaluated");
        assert_eq!(evaluation.test_images, 100);
        assert!(evaluation.test_accuracy > 0.9, "{evaluation:?}");
        assert!(run.is_finished());
    }

    #[test]
    fn a_run_without_data_says_so() {
        let mut run = TrainRun::new(TrainConfig::new(), &cpu_device());
        assert!(matches!(
            pollster::block_on(run.advance()),
            Err(TrainError::NoData("training"))
        ));
    }
}
