//! Reptile (Nichol et al., 2018).
//!
//! Adapt to each task of a meta-batch with a few SGD steps on its support set, then move the
//! shared initialisation a fraction `outer_step` of the way towards the mean of the adapted
//! weights: θ ← θ + ε (mean θ′ − θ). No query gradient is needed.

use super::inner::{InnerLoop, predict_query};
use super::params::ParamVec;
use super::{FewShotLearner, MetaLearner};
use crate::data::episode::Episode;
use crate::model::{Architecture, Network, cross_entropy};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// Reptile on either backbone.
pub struct Reptile {
    model: Network,
    inner: InnerLoop,
    way: usize,
    outer_step: f64,
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
        }
    }
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
            let adapted = self.inner.fast_adapt(&self.model, &task.support, self.way);
            // The query loss of the adapted weights, for reporting only.
            let device = super::inner::device_of(&adapted).inner();
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
