//! Adapting a network to a person's support set, one visible step at a time.
//!
//! One [`Procedure`] adapts every network the Playground compares, so the networks differ in
//! one thing only — where their features come from (meta-training, a random initialisation,
//! plain digit classification). The procedure is either the inner loop a network was
//! meta-trained with ([`InnerLoop`], read from the weights catalogue: the task's starting output
//! layer, then SGD steps on the output layer or on every layer) or whole-network fine-tuning
//! with Adam. Every read-back is asynchronous, so this runs on WebGPU in a browser as well as
//! natively.

use super::host_head::HostHead;
use crate::bench::now_ms;
use crate::data::{Batch, ImageSet};
use crate::meta::inner::{InnerLoop, batch_loss, device_of};
use crate::meta::params::ParamVec;
use crate::model::{Network, SupportPass as ModelSupportPass, SupportStatistics, cross_entropy};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

/// How a network adapts to a support set.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Procedure {
    /// An inner loop, as meta-learners run it.
    Inner(InnerLoop),
    /// Adam on every layer, from the network's own output layer.
    FineTune {
        /// Adam steps.
        steps: usize,
        /// Adam learning rate.
        lr: f64,
    },
}

impl Procedure {
    /// Steps the procedure takes.
    pub fn steps(&self) -> usize {
        match self {
            Self::Inner(inner) => inner.steps,
            Self::FineTune { steps, .. } => *steps,
        }
    }
}

/// Where the steps of a head-only inner loop run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadSteps {
    /// On the backend's device, reading the loss back after each step.
    Device,
    /// On the host ([`HostHead`]), after one read-back of the support features; the layer goes
    /// back to the device after each step. The default: the benchmark compares both.
    Host,
}

/// How each step updates the network.
enum Rule {
    /// Steps on the backend's device.
    Device(DeviceRule),
    /// SGD on the output layer alone, on the host ([`HostHead`]): the support features
    /// `[n, features]` and the rate before normalisation until the first step reads them back, then
    /// the head.
    Host {
        support_features: Box<Tensor<2>>,
        lr: f64,
        head: Option<HostHead>,
    },
}

/// Steps on the backend's device.
enum DeviceRule {
    /// SGD on the output layer alone, with these rates, on support features computed once
    /// (the features never change, so one forward pass through them serves every step).
    HeadSgd {
        /// Rates for the output layer's parameters.
        rates: ParamVec,
        /// The support images' features `[n, features]`, without autodiff.
        support_features: Box<Tensor<2>>,
    },
    /// SGD on every layer at this rate.
    Sgd(f64),
    /// Adam on every layer at this learning rate.
    Adam(ModuleOptimizer, f64),
}

/// A network being adapted to one support set.
pub struct Adaptation {
    model: Network,
    rule: Rule,
    support: ImageSet,
    /// The support set's statistics while only the output layer changes (head-only), so a
    /// prediction need not pass the support set through the network again.
    support_statistics: Option<SupportStatistics>,
    steps: usize,
    done: usize,
    device: Device,
}

/// Why an adaptation step could not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum AdaptError {
    /// Reading a result back from the device failed (a lost GPU, say).
    #[error("reading from the device failed: {0}")]
    Device(String),
    /// The support set and the network's output layer do not fit together.
    #[error("the support set does not fit the network: {0}")]
    Mismatch(String),
    /// The loss became NaN or infinite: the learning rate is too high.
    #[error("the loss diverged (NaN) — try a smaller learning rate")]
    Diverged,
}

impl Adaptation {
    /// Starts adapting `network` to `support` with `procedure`, on `device`. Task label k
    /// (every label present) is output `rows[k]` of the network's learned output layer, when
    /// the procedure starts from it (`0..way` for new symbols; the ticked digits of a digit
    /// classifier).
    pub fn new(
        network: &Network,
        procedure: &Procedure,
        support: &ImageSet,
        rows: &[usize],
        device: &Device,
    ) -> Self {
        Self::with_head_steps(network, procedure, support, rows, device, HeadSteps::Host)
    }

    /// [`Self::new`], with a head-only inner loop's steps run where `head_steps` says.
    pub fn with_head_steps(
        network: &Network,
        procedure: &Procedure,
        support: &ImageSet,
        rows: &[usize],
        device: &Device,
        head_steps: HeadSteps,
    ) -> Self {
        let pass = support_pass(network, procedure, support, device).map(ModelSupportPass::finish);
        Self::after_pass(network, procedure, support, rows, device, head_steps, pass)
    }

    /// [`Self::new`], calling `pause` (to let a page draw and answer) so that the support pass
    /// of a head-only inner loop runs about [`SLICE_BUDGET_MS`] at most between pauses.
    pub async fn in_slices<F: Future<Output = ()>>(
        network: &Network,
        procedure: &Procedure,
        support: &ImageSet,
        rows: &[usize],
        device: &Device,
        pause: impl Fn() -> F,
    ) -> Self {
        let pass = match support_pass(network, procedure, support, device) {
            Some(mut pass) => {
                // Pauses before a piece that, taking as long as the last one, would run past
                // the budget.
                let (mut since, mut last) = (now_ms(), 0.0);
                loop {
                    if now_ms() - since + last > SLICE_BUDGET_MS {
                        pause().await;
                        since = now_ms();
                    }
                    let started = now_ms();
                    if !pass.advance() {
                        break;
                    }
                    last = now_ms() - started;
                }
                Some(pass.finish())
            }
            None => None,
        };
        Self::after_pass(
            network,
            procedure,
            support,
            rows,
            device,
            HeadSteps::Host,
            pass,
        )
    }

    /// The adaptation once a head-only procedure's support pass (`pass`: features and
    /// statistics) is taken.
    fn after_pass(
        network: &Network,
        procedure: &Procedure,
        support: &ImageSet,
        rows: &[usize],
        device: &Device,
        head_steps: HeadSteps,
        pass: Option<(Tensor<2>, SupportStatistics)>,
    ) -> Self {
        let device = device.clone().autodiff();
        let network = network.clone().train();
        let mut support_statistics = None;
        let (model, rule) = match (procedure, pass) {
            (Procedure::Inner(inner), Some((support_features, statistics))) => {
                // One pass through the network serves the prototype layer, every step and every
                // prediction: the features do not depend on the output layer.
                support_statistics = Some(statistics);
                let start = inner.task_start_rows_with(&network, support, rows, &support_features);
                let rule = match head_steps {
                    HeadSteps::Host => Rule::Host {
                        support_features: Box::new(support_features),
                        lr: inner.lr,
                        head: None,
                    },
                    HeadSteps::Device => {
                        let normaliser = InnerLoop::normaliser_of(&support_features);
                        let rates = ParamVec::values(start.output_layer())
                            .fill(inner.lr)
                            .scale_by(&normaliser);
                        Rule::Device(DeviceRule::HeadSgd {
                            rates,
                            support_features: Box::new(support_features),
                        })
                    }
                };
                (start, rule)
            }
            (Procedure::Inner(inner), None) => (
                inner.task_start_rows(&network, support, rows),
                Rule::Device(DeviceRule::Sgd(inner.lr)),
            ),
            (Procedure::FineTune { lr, .. }, _) => (
                InnerLoop::new().task_start_rows(&network, support, rows),
                Rule::Device(DeviceRule::Adam(AdamConfig::new().init(), *lr)),
            ),
        };
        Self {
            model,
            rule,
            support: support.clone(),
            support_statistics,
            steps: procedure.steps(),
            done: 0,
            device,
        }
    }

    /// Steps taken so far and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.done, self.steps)
    }

    /// True once every step is taken.
    pub fn finished(&self) -> bool {
        self.done >= self.steps
    }

    /// One step on the support set; returns the support loss before it.
    pub async fn step(&mut self) -> Result<f32, AdaptError> {
        let value = match &mut self.rule {
            Rule::Host {
                support_features,
                lr,
                head,
            } => {
                if head.is_none() {
                    *head =
                        Some(host_head(&self.model, support_features, &self.support, *lr).await?);
                }
                let Some(head) = head.as_mut() else {
                    return Err(AdaptError::Mismatch("no output layer to adapt".into()));
                };
                let loss = head.step();
                self.model = self.model.clone().with_output(head.to_linear(&self.device));
                loss
            }
            Rule::Device(rule) => {
                let batch = self.support.to_batch(&self.device);
                let (model, loss) = device_step(rule, self.model.clone(), batch);
                self.model = model;
                read_scalar(loss).await?
            }
        };
        if !value.is_finite() {
            return Err(AdaptError::Diverged);
        }
        self.done += 1;
        Ok(value)
    }

    /// Class probabilities `[n][way]` for the images of `set`.
    pub async fn probabilities(&self, set: &ImageSet) -> Result<Vec<Vec<f32>>, AdaptError> {
        let Some(statistics) = &self.support_statistics else {
            return probabilities(&self.model, &self.support, set).await;
        };
        let model = self.model.valid();
        let logits = model.classify_with(statistics, set.to_batch(&device_of(&model)).images);
        read_probabilities(logits).await
    }

    /// Fraction of the support set the current network labels right: on the host, from the
    /// features it already holds, where the steps run there; else by a pass over the support set.
    pub async fn support_accuracy(&self) -> Result<f64, AdaptError> {
        match &self.rule {
            Rule::Host {
                head: Some(head), ..
            } => Ok(head.accuracy()),
            _ => self.accuracy_on(&self.support).await,
        }
    }

    /// Fraction of the labelled images of `set` the current network labels right.
    pub async fn accuracy_on(&self, set: &ImageSet) -> Result<f64, AdaptError> {
        let probabilities = self.probabilities(set).await?;
        let correct = probabilities
            .iter()
            .zip(&set.labels)
            .filter(|(p, label)| argmax(p) == usize::from(**label))
            .count();
        Ok(correct as f64 / set.len().max(1) as f64)
    }
}

/// Images per piece of a sliced support pass: few, so that one piece (Conv-4's second
/// convolution, the largest) stays well inside the budget on a slow CPU.
const SLICE_IMAGES: usize = 2;
/// How long a sliced support pass runs between pauses, in milliseconds (the browser counts a
/// main-thread task over 50 ms as long).
pub const SLICE_BUDGET_MS: f64 = 35.0;

/// The support pass a head-only `procedure` takes of `network` over `support` (none for the
/// others: their steps pass the support set themselves), not yet begun.
fn support_pass(
    network: &Network,
    procedure: &Procedure,
    support: &ImageSet,
    device: &Device,
) -> Option<ModelSupportPass> {
    match procedure {
        Procedure::Inner(inner) if inner.head_only => {
            let images = support.to_batch(device).images;
            Some(
                network
                    .clone()
                    .train()
                    .valid()
                    .support_pass(images, SLICE_IMAGES),
            )
        }
        _ => None,
    }
}

/// Class probabilities `[n][classes]` of `model` (on any device) for the images of `set`,
/// normalised (Conv-4) with the statistics of `support`.
pub async fn probabilities(
    model: &Network,
    support: &ImageSet,
    set: &ImageSet,
) -> Result<Vec<Vec<f32>>, AdaptError> {
    let model = model.valid();
    let device = device_of(&model);
    let logits = model.classify(
        support.to_batch(&device).images,
        set.to_batch(&device).images,
    );
    read_probabilities(logits).await
}

/// The softmax of `logits` `[n, classes]`, read back as one row per image.
async fn read_probabilities(logits: Tensor<2>) -> Result<Vec<Vec<f32>>, AdaptError> {
    let probabilities = softmax(logits, 1);
    let [_, classes] = probabilities.dims();
    let data = probabilities
        .into_data_async()
        .await
        .map_err(|e| AdaptError::Device(format!("{e:?}")))?;
    let values: Vec<f32> = data.iter::<f32>().collect();
    Ok(values.chunks(classes).map(<[f32]>::to_vec).collect())
}

/// Index of the largest value.
pub fn argmax(values: &[f32]) -> usize {
    (0..values.len())
        .max_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0)
}

/// One step of `rule` from `model` on `batch`: the network after it and the loss before it.
fn device_step(rule: &mut DeviceRule, model: Network, batch: Batch) -> (Network, Tensor<1>) {
    match rule {
        DeviceRule::HeadSgd {
            rates,
            support_features,
        } => {
            let head = model.output_layer().clone();
            let logits = head.forward(Tensor::from_inner(*support_features.clone()));
            let loss = cross_entropy(logits, batch.labels);
            let gradient = ParamVec::gradient(&head, loss.clone());
            let head = rates.mul(&gradient).step(head, -1.0);
            (model.with_output(head), loss)
        }
        DeviceRule::Sgd(rate) => {
            let loss = batch_loss(&model, &batch);
            let gradient = ParamVec::gradient(&model, loss.clone());
            (gradient.step(model, -*rate), loss)
        }
        DeviceRule::Adam(optim, rate) => {
            let loss = batch_loss(&model, &batch);
            let grads = GradientsParams::from_grads(loss.clone().backward(), &model);
            (optim.step(*rate, model, grads), loss)
        }
    }
}

/// `model`'s output layer as a [`HostHead`] on `features` (read back once) of `support`, stepping
/// at `lr` normalised as the device path does (by 1 / mean ‖f‖²).
async fn host_head(
    model: &Network,
    features: &Tensor<2>,
    support: &ImageSet,
    lr: f64,
) -> Result<HostHead, AdaptError> {
    let layer = model.output_layer();
    let features = read_all(features.clone()).await?;
    let weight = read_all(layer.weight.val().inner()).await?;
    let outputs = layer.weight.dims()[1];
    let bias = match &layer.bias {
        Some(bias) => read_all(bias.val().inner()).await?,
        None => vec![0.0; outputs],
    };
    let n = support.len().max(1);
    let mean_square = features.iter().map(|v| v * v).sum::<f32>() / n as f32;
    let rate = (lr / (f64::from(mean_square) + 1e-6)) as f32;
    let labels = support.labels.iter().map(|&l| usize::from(l)).collect();
    HostHead::new(features, labels, weight, bias, rate).map_err(AdaptError::Mismatch)
}

/// Every value of `tensor`, read back from its device.
async fn read_all<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, AdaptError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| AdaptError::Device(format!("{e:?}")))?;
    Ok(data.iter::<f32>().collect())
}

async fn read_scalar(tensor: Tensor<1>) -> Result<f32, AdaptError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| AdaptError::Device(format!("{e:?}")))?;
    Ok(data.iter::<f32>().next().unwrap_or(f32::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::bench::synthetic_images;
    use crate::model::{Backbone, FEATURES};

    /// Three easy classes, `shot` support images each, plus the rest as test images.
    fn task(shot: usize) -> (ImageSet, ImageSet) {
        let all = synthetic_images(300, 5);
        let (mut support, mut test) = (ImageSet::default(), ImageSet::default());
        for label in 0..3u8 {
            let members: Vec<usize> = (0..all.len()).filter(|&i| all.labels[i] == label).collect();
            for (n, &i) in members.iter().enumerate() {
                let target = if n < shot { &mut support } else { &mut test };
                target.labels.push(label);
                target.pixels.extend(all.image(i));
            }
        }
        (support, test)
    }

    /// Classes that overlap: each class's second example (of a 2-shot `support`) becomes an
    /// image of the next class, so the prototypes alone leave a real support loss to lower.
    fn overlapping(support: &ImageSet) -> ImageSet {
        let mut overlapping = support.clone();
        for label in 0..3 {
            let next = support.image(((label + 1) % 3) * 2).to_vec();
            let at = (label * 2 + 1) * crate::data::IMAGE_PIXELS;
            overlapping.pixels[at..at + next.len()].copy_from_slice(&next);
        }
        overlapping
    }

    fn anil(steps: usize, lr: f64) -> Procedure {
        Procedure::Inner(
            InnerLoop::new()
                .with_steps(steps)
                .with_lr(lr)
                .with_head_only(true)
                .with_proto_head(true),
        )
    }

    #[test]
    fn prototype_head_predicts_like_nearest_prototype_before_any_step() {
        let device = cpu_device();
        device.seed(1);
        let features = Network::new(Backbone::Reference, 10, &device);
        let (support, test) = task(3);
        let adaptation = Adaptation::new(&features, &anil(0, 0.1), &support, &[0, 1, 2], &device);
        let probabilities = pollster::block_on(adaptation.probabilities(&test)).unwrap();
        // The same decision computed directly from distances to class-mean features.
        let embed = |set: &ImageSet| {
            let data = features.embed(set.to_batch(&device).images).into_data();
            let values: Vec<f32> = data.iter::<f32>().collect();
            values
                .chunks(FEATURES)
                .map(<[f32]>::to_vec)
                .collect::<Vec<_>>()
        };
        let (support_features, test_features) = (embed(&support), embed(&test));
        let prototype = |k: usize| -> Vec<f32> {
            (0..FEATURES)
                .map(|d| (0..3).map(|s| support_features[k * 3 + s][d]).sum::<f32>() / 3.0)
                .collect()
        };
        let prototypes: Vec<Vec<f32>> = (0..3).map(prototype).collect();
        for (p, f) in probabilities.iter().zip(&test_features) {
            let distances: Vec<f32> = prototypes
                .iter()
                .map(|c| -c.iter().zip(f).map(|(a, b)| (a - b).powi(2)).sum::<f32>())
                .collect();
            assert_eq!(argmax(p), argmax(&distances));
        }
    }

    /// Every step of `adaptation` (the support loss before each), then its class
    /// probabilities for `test`.
    fn run_to_end(mut adaptation: Adaptation, test: &ImageSet) -> (Vec<f32>, Vec<Vec<f32>>) {
        let mut losses = Vec::new();
        while !adaptation.finished() {
            losses.push(pollster::block_on(adaptation.step()).unwrap());
        }
        let probabilities = pollster::block_on(adaptation.probabilities(test)).unwrap();
        (losses, probabilities)
    }

    /// Head-only steps on the host take the device path's steps: the same losses, the same
    /// network after them — from the prototype layer, and from rows of the learned layer.
    #[test]
    fn head_steps_on_the_host_match_those_on_the_device() {
        let device = cpu_device();
        device.seed(3);
        let network = Network::new(Backbone::Conv4, 10, &device);
        let (support, test) = task(2);
        let support = overlapping(&support);
        let learned_head = Procedure::Inner(
            InnerLoop::new()
                .with_steps(6)
                .with_lr(0.5)
                .with_head_only(true),
        );
        for (procedure, rows) in [(anil(6, 0.5), [0, 1, 2]), (learned_head, [3, 0, 7])] {
            let run = |head_steps| {
                let adaptation = Adaptation::with_head_steps(
                    &network, &procedure, &support, &rows, &device, head_steps,
                );
                run_to_end(adaptation, &test)
            };
            let (host_losses, host) = run(HeadSteps::Host);
            let (device_losses, on_device) = run(HeadSteps::Device);
            let what = format!("{procedure:?} rows {rows:?}");
            assert!(
                host_losses.last() < host_losses.first(),
                "{what}: {host_losses:?}"
            );
            assert_eq!(host_losses.len(), device_losses.len());
            for (h, d) in host_losses.iter().zip(&device_losses) {
                assert!(
                    (h - d).abs() < 1e-4,
                    "{what}: {host_losses:?} vs {device_losses:?}"
                );
            }
            assert_eq!(host.len(), on_device.len());
            for (h, d) in host.iter().flatten().zip(on_device.iter().flatten()) {
                assert!((h - d).abs() < 1e-4, "{what}: {h} vs {d}");
            }
        }
    }

    /// An adaptation whose support pass is taken in slices, the page free between them, is
    /// the adaptation taken in one go: the same losses, the same predictions.
    #[test]
    fn an_adaptation_with_its_support_pass_in_slices_is_the_same_adaptation() {
        let device = cpu_device();
        device.seed(6);
        // Fifteen support images: two slices, the second short.
        let (support, test) = task(5);
        for backbone in [Backbone::Reference, Backbone::Conv4] {
            let network = Network::new(backbone, 10, &device);
            let procedure = anil(3, 0.5);
            let run = |adaptation| run_to_end(adaptation, &test);
            let rows = [0, 1, 2];
            let whole = run(Adaptation::new(
                &network, &procedure, &support, &rows, &device,
            ));
            let sliced = run(pollster::block_on(Adaptation::in_slices(
                &network,
                &procedure,
                &support,
                &rows,
                &device,
                || async {},
            )));
            for (a, b) in whole.0.iter().zip(&sliced.0) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "{backbone:?}: {whole:?} vs {sliced:?}"
                );
            }
            for (a, b) in whole.1.iter().flatten().zip(sliced.1.iter().flatten()) {
                assert!((a - b).abs() < 1e-5, "{backbone:?}: {a} vs {b}");
            }
        }
    }

    /// The support accuracy taken on the host from the features read back once is the one a
    /// pass of the support set through the adapted network gives, step after step.
    #[test]
    fn the_support_accuracy_on_the_host_is_that_of_the_adapted_network() {
        let device = cpu_device();
        device.seed(5);
        let network = Network::new(Backbone::Conv4, 10, &device);
        let (support, _) = task(2);
        let support = overlapping(&support);
        let mut adaptation =
            Adaptation::new(&network, &anil(4, 0.5), &support, &[0, 1, 2], &device);
        let mut seen = Vec::new();
        while !adaptation.finished() {
            pollster::block_on(adaptation.step()).unwrap();
            let on_host = pollster::block_on(adaptation.support_accuracy()).unwrap();
            let by_pass = pollster::block_on(adaptation.accuracy_on(&support)).unwrap();
            assert_eq!(on_host, by_pass, "after {:?} steps", adaptation.progress());
            seen.push(on_host);
        }
        // Overlapping classes: the network cannot label every example right.
        assert!(seen.iter().all(|&a| a > 0.0 && a < 1.0), "{seen:?}");
    }

    #[test]
    fn every_procedure_lowers_the_support_loss_on_either_backbone() {
        let (support, test) = task(2);
        let overlapping = overlapping(&support);
        let whole = Procedure::Inner(InnerLoop::new().with_steps(15).with_lr(0.05));
        let fine_tune = Procedure::FineTune {
            steps: 15,
            lr: 1e-3,
        };
        for backbone in [Backbone::Reference, Backbone::Conv4] {
            let device = cpu_device();
            device.seed(2);
            let network = Network::new(backbone, 10, &device);
            for (procedure, support) in [
                (anil(15, 0.5), &overlapping),
                (whole.clone(), &support),
                (fine_tune.clone(), &support),
            ] {
                let mut adaptation =
                    Adaptation::new(&network, &procedure, support, &[0, 1, 2], &device);
                let first = pollster::block_on(adaptation.step()).unwrap();
                let mut last = first;
                while !adaptation.finished() {
                    last = pollster::block_on(adaptation.step()).unwrap();
                }
                let what = format!("{procedure:?}");
                assert!(
                    last < first * 0.8,
                    "{backbone:?}, {what}: loss {first} -> {last}"
                );
                assert_eq!(adaptation.progress(), (15, 15));
                let rows = pollster::block_on(adaptation.probabilities(&test)).unwrap();
                assert_eq!(rows.len(), test.len());
                assert!(rows.iter().all(|r| r.len() == 3));
                assert!(
                    rows.iter()
                        .all(|r| (r.iter().sum::<f32>() - 1.0).abs() < 1e-4)
                );
            }
        }
    }
}
