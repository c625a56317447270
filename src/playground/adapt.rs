//! Adapting a network to a person's support set, one visible step at a time.
//!
//! Two starting points, so the value of meta-learning can be seen side by side:
//! - **meta-learned**: the features of a meta-trained checkpoint with a new output layer set
//!   from the support prototypes (weight 2·cₖ, bias −‖cₖ‖² for class mean cₖ, as in
//!   Proto-MAML), so it predicts like a prototypical network before any step and works for any
//!   number of classes; each step is then SGD on that output layer (the meta-learners' inner
//!   loop: head only, normalised step);
//! - **random init**: the same architecture freshly initialised, trained with Adam for the same
//!   number of steps (the "no meta-learning" baseline).
//!
//! Every read-back is asynchronous, so this runs on WebGPU in a browser as well as natively.

use crate::data::ImageSet;
use crate::meta::inner::InnerLoop;
use crate::meta::params::ParamVec;
use crate::meta::protonet::prototype_head;
use crate::model::{Network, cross_entropy};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

/// Where an adaptation starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A meta-trained network's features, prototype-initialised output layer, SGD steps.
    MetaLearned,
    /// A random network, Adam steps.
    RandomInit,
}

/// How each step updates the network.
enum Rule {
    /// SGD on the output layer alone, with these rates, on support features computed once
    /// (the meta-learned start's inner loop: the features never change, so one forward pass
    /// through them serves every step).
    HeadSgd {
        /// Rates for the output layer's parameters.
        rates: ParamVec,
        /// The support images' features `[n, 64]`, without autodiff.
        support_features: Box<Tensor<2>>,
    },
    /// Adam on the whole network at this learning rate (the random-init baseline).
    Adam(ModuleOptimizer, f64),
}

/// A network being adapted to one support set.
pub struct Adaptation {
    model: Network,
    rule: Rule,
    support: ImageSet,
    steps: usize,
    done: usize,
    device: Device,
}

/// Why an adaptation step could not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdaptError {
    /// Reading a result back from the device failed (a lost GPU, say).
    #[error("reading from the device failed: {0}")]
    Device(String),
    /// The loss became NaN or infinite: the learning rate is too high.
    #[error("the loss diverged (NaN) — try a smaller learning rate")]
    Diverged,
}

/// Adam learning rate of the random-init baseline.
pub const RANDOM_INIT_LR: f64 = 1e-3;

impl Adaptation {
    /// Starts adapting to `support` (labels `0..way`, every class present) on `device`.
    /// `features` is the meta-trained network (ignored for [`Start::RandomInit`]);
    /// `learning_rate` is the meta-learned start's SGD rate on its output layer, normalised by
    /// the support features' mean squared norm as in the meta-learners' inner loop
    /// ([`InnerLoop::head_only`]).
    pub fn new(
        start: Start,
        features: &Network,
        support: &ImageSet,
        way: usize,
        steps: usize,
        learning_rate: f64,
        device: &Device,
    ) -> Self {
        let device = device.clone().autodiff();
        let (model, rule) = match start {
            Start::MetaLearned => {
                let features = features.clone().train();
                let head = prototype_head(&features, support, way, &device);
                let normaliser = InnerLoop::step_normaliser(&features, support);
                let rates = ParamVec::values(&head)
                    .fill(learning_rate)
                    .scale_by(&normaliser);
                let support_features = features
                    .valid()
                    .embed(support.to_batch(&device.clone().inner()).images);
                let rule = Rule::HeadSgd {
                    rates,
                    support_features: Box::new(support_features),
                };
                (features.with_output(head), rule)
            }
            Start::RandomInit => (
                Network::new(features.backbone(), way, &device),
                Rule::Adam(AdamConfig::new().init(), RANDOM_INIT_LR),
            ),
        };
        Self {
            model,
            rule,
            support: support.clone(),
            steps,
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
        let batch = self.support.to_batch(&self.device);
        let model = self.model.clone();
        let (model, loss) = match &mut self.rule {
            Rule::HeadSgd {
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
            Rule::Adam(optim, rate) => {
                let loss = cross_entropy(model.forward(batch.images), batch.labels);
                let grads = GradientsParams::from_grads(loss.clone().backward(), &model);
                (optim.step(*rate, model, grads), loss)
            }
        };
        self.model = model;
        let value = read_scalar(loss).await?;
        if !value.is_finite() {
            return Err(AdaptError::Diverged);
        }
        self.done += 1;
        Ok(value)
    }

    /// Class probabilities `[n][way]` for the images of `set`.
    pub async fn probabilities(&self, set: &ImageSet) -> Result<Vec<Vec<f32>>, AdaptError> {
        probabilities(&self.model, &self.support, set).await
    }

    /// Fraction of the support set the current network labels right.
    pub async fn support_accuracy(&self) -> Result<f64, AdaptError> {
        let probabilities = self.probabilities(&self.support).await?;
        let correct = probabilities
            .iter()
            .zip(&self.support.labels)
            .filter(|(p, label)| argmax(p) == usize::from(**label))
            .count();
        Ok(correct as f64 / self.support.len().max(1) as f64)
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
    let device = model
        .devices()
        .into_iter()
        .next()
        .expect("a model has parameters");
    let logits = model.classify(
        support.to_batch(&device).images,
        set.to_batch(&device).images,
    );
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
    use crate::model::{Backbone, FEATURES as HIDDEN};

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

    #[test]
    fn prototype_head_predicts_like_nearest_prototype_before_any_step() {
        let device = cpu_device();
        device.seed(1);
        let features = Network::new(Backbone::Reference, 10, &device);
        let (support, test) = task(3);
        let adaptation =
            Adaptation::new(Start::MetaLearned, &features, &support, 3, 0, 0.1, &device);
        let probabilities = pollster::block_on(adaptation.probabilities(&test)).unwrap();
        // The same decision computed directly from distances to class-mean features.
        let embed = |set: &ImageSet| {
            let data = features.embed(set.to_batch(&device).images).into_data();
            let values: Vec<f32> = data.iter::<f32>().collect();
            values
                .chunks(HIDDEN)
                .map(<[f32]>::to_vec)
                .collect::<Vec<_>>()
        };
        let (support_features, test_features) = (embed(&support), embed(&test));
        let prototype = |k: usize| -> Vec<f32> {
            (0..HIDDEN)
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

    #[test]
    fn steps_lower_the_support_loss_from_either_start() {
        let device = cpu_device();
        device.seed(2);
        let features = Network::new(Backbone::Reference, 10, &device);
        let (support, test) = task(2);
        // Classes that overlap: each class's second example is an image of the next class, so
        // the prototypes alone leave a real support loss for the steps to lower.
        let mut overlapping = support.clone();
        for label in 0..3 {
            let next = support.image(((label + 1) % 3) * 2).to_vec();
            let at = (label * 2 + 1) * crate::data::IMAGE_PIXELS;
            overlapping.pixels[at..at + next.len()].copy_from_slice(&next);
        }
        for (start, support) in [
            (Start::MetaLearned, &overlapping),
            (Start::RandomInit, &support),
        ] {
            let mut adaptation = Adaptation::new(start, &features, support, 3, 15, 0.5, &device);
            let first = pollster::block_on(adaptation.step()).unwrap();
            let mut last = first;
            while !adaptation.finished() {
                last = pollster::block_on(adaptation.step()).unwrap();
            }
            assert!(last < first * 0.8, "{start:?}: loss {first} -> {last}");
            assert_eq!(adaptation.progress(), (15, 15));
            let rows = pollster::block_on(adaptation.probabilities(&test)).unwrap();
            assert_eq!(rows.len(), test.len());
            assert!(
                rows.iter()
                    .all(|r| (r.iter().sum::<f32>() - 1.0).abs() < 1e-4)
            );
        }
    }
}
