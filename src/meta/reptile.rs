//! Reptile (Nichol et al., 2018).
//!
//! Adapt to each task of a meta-batch with a few SGD steps on its support set, then move the
//! shared initialisation a fraction `outer_step` of the way towards the mean of the adapted
//! weights: θ ← θ + ε (mean θ′ − θ). No query gradient is needed.
//!
//! Optionally ([`Reptile::with_query_minibatches`]), the inner loop of meta-training runs on
//! each task's support and query images together, a different class-balanced minibatch each
//! step, as the paper's does (its inner loop trains on minibatches of more shots than it is
//! tested with). Adaptation at test time stays on the support set alone.

use super::inner::{InnerLoop, batch_loss, device_of, predict_query};
use super::params::ParamVec;
use super::{FewShotLearner, MetaLearner};
use crate::data::episode::Episode;
use crate::data::{Batch, ImageSet};
use crate::model::{Architecture, Network, cross_entropy};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use std::cell::Cell;

/// Images of each class in one inner-loop minibatch of [`Reptile::with_query_minibatches`].
const MINIBATCH_PER_CLASS: usize = 2;

/// Reptile on either backbone.
pub struct Reptile {
    model: Network,
    inner: InnerLoop,
    way: usize,
    outer_step: f64,
    /// Meta-train the inner loop on support and query minibatches (see the module doc).
    query_minibatches: bool,
}

impl Reptile {
    /// A fresh `architecture` initialisation with a `way`-class output layer on `device` (autodiff
    /// is enabled here); `inner` sets the inner loop, `outer_step` the interpolation ε.
    pub fn new(
        architecture: impl Into<Architecture>,
        way: usize,
        inner: InnerLoop,
        outer_step: f64,
        device: &Device,
    ) -> Self {
        let device = device.clone().autodiff();
        Self::from_model(Network::new(architecture, way, &device), inner, outer_step)
    }

    /// Starts from a saved initialisation; `model` must live on a device with autodiff.
    pub fn from_model(model: Network, inner: InnerLoop, outer_step: f64) -> Self {
        Self {
            way: model.classes(),
            // Loaded parameters are not tracked until the module is put back into training.
            model: model.train(),
            inner,
            outer_step,
            query_minibatches: false,
        }
    }

    /// Meta-trains with the inner loop on each task's support and query images together, a
    /// different minibatch of [`MINIBATCH_PER_CLASS`] images per class each step (cycling
    /// through them); predictions still adapt on the support set alone.
    pub fn with_query_minibatches(self) -> Self {
        Self {
            query_minibatches: true,
            ..self
        }
    }

    /// The network adapted to `task` as meta-training adapts it.
    fn adapt_for_meta_step(&self, task: &Episode) -> Network {
        if !self.query_minibatches {
            return self.inner.fast_adapt(&self.model, &task.support, self.way);
        }
        let mut images = task.support.clone();
        images.extend(task.query.clone());
        let batches = class_balanced_minibatches(&images, self.way, &device_of(&self.model));
        let step = Cell::new(0);
        // A plain function of the weights: Reptile is first order, so the loss is never held.
        let minibatch_loss = |model: &Network| {
            let batch = &batches[step.get() % batches.len()];
            step.set(step.get() + 1);
            batch_loss(model, batch)
        };
        self.inner
            .fast_adapt_on(&self.model, &task.support, self.way, None, &minibatch_loss)
    }
}

/// `images` (labels `0..way`) as minibatches of [`MINIBATCH_PER_CLASS`] images per class:
/// taken class by class in turn, so every minibatch but perhaps the last is balanced, and
/// every image is in exactly one.
fn class_balanced_minibatches(images: &ImageSet, way: usize, device: &Device) -> Vec<Batch> {
    let mut by_class = vec![Vec::new(); way];
    for (index, &label) in images.labels.iter().enumerate() {
        by_class[usize::from(label)].push(index);
    }
    let largest = by_class.iter().map(Vec::len).max().unwrap_or(0);
    let interleaved: Vec<usize> = (0..largest)
        .flat_map(|rank| {
            by_class
                .iter()
                .filter_map(move |class| class.get(rank).copied())
        })
        .collect();
    interleaved
        .chunks(MINIBATCH_PER_CLASS * way)
        .map(|indices| images.batch(indices, device))
        .collect()
}

impl FewShotLearner for Reptile {
    fn name(&self) -> &'static str {
        "reptile"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let way = episode.classes.len();
        let adapted = self.inner.fast_adapt(&self.model, &episode.support, way);
        predict_query(&adapted, &episode.support, &episode.query)
    }
}

impl MetaLearner for Reptile {
    fn model(&self) -> &Network {
        &self.model
    }

    fn inner_loop(&self) -> Option<&InnerLoop> {
        Some(&self.inner)
    }

    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1> {
        let mut adapted_weights = Vec::with_capacity(tasks.len());
        let mut losses = Vec::with_capacity(tasks.len());
        for task in tasks {
            let adapted = self.adapt_for_meta_step(task);
            // The query loss of the adapted weights, for reporting only (with query
            // minibatches the inner loop has seen these images, so it reads low).
            let device = device_of(&adapted).inner();
            let (support, query) = (task.support.to_batch(&device), task.query.to_batch(&device));
            let logits = adapted.valid().classify(support.images, query.images);
            losses.push(cross_entropy(logits, query.labels));
            adapted_weights.push(ParamVec::values(&adapted));
        }
        // θ ← θ + ε (mean θ′ − θ)
        let mean = ParamVec::mean(adapted_weights);
        let current = ParamVec::values(&self.model);
        let moved = current.add_scaled(&mean.sub(&current), self.outer_step);
        self.model = moved.assign(self.model.clone());
        Tensor::cat(losses, 0).mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::bench::synthetic_images;

    /// Three classes of 1 support + 5 query images: three minibatches of two per class, every
    /// image in one of them.
    #[test]
    fn minibatches_are_class_balanced_and_cover_every_image() {
        // Labels 0–2, different noise for each seed: support images, then five query rounds.
        let mut images = synthetic_images(3, 1);
        for seed in 2..=6 {
            images.extend(synthetic_images(3, seed));
        }
        let device = cpu_device();
        let batches = class_balanced_minibatches(&images, 3, &device);
        assert_eq!(batches.len(), 3);
        let mut seen = Vec::new();
        for batch in &batches {
            let labels: Vec<i32> = batch
                .labels
                .clone()
                .into_data()
                .convert::<i32>()
                .try_to_vec()
                .expect("labels");
            let mut sorted = labels.clone();
            sorted.sort();
            assert_eq!(sorted, [0, 0, 1, 1, 2, 2], "two images of each class");
            let pixels: Vec<f32> = batch
                .images
                .clone()
                .into_data()
                .try_to_vec()
                .expect("floats");
            seen.extend(pixels.chunks(28 * 28).map(|p| p.to_vec()));
        }
        let mut expected: Vec<Vec<f32>> = (0..images.len())
            .map(|i| {
                images
                    .image(i)
                    .iter()
                    .map(|&p| f32::from(p) / 255.0)
                    .collect()
            })
            .collect();
        let key = |p: &Vec<f32>| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        seen.sort_by_key(key);
        expected.sort_by_key(key);
        assert_eq!(seen, expected, "every image exactly once");
    }
}
