//! Reptile (Nichol et al., 2018).
//!
//! Adapt to each task of a meta-batch with a few SGD steps on its support set, then move the
//! shared initialisation a fraction `outer_step` of the way towards the mean of the adapted
//! weights: θ ← θ + ε (mean θ′ − θ). No query gradient is needed.

use super::maml::{MamlConfig, batch_loss, task_start};
use super::params::ParamVec;
use super::unroll::adapt;
use super::{FewShotLearner, MetaLearner};
use crate::data::episode::Episode;
use crate::model::{ReferenceCnn, cross_entropy};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// Reptile on the reference CNN.
pub struct Reptile {
    model: ReferenceCnn,
    inner: MamlConfig,
    outer_step: f64,
    device: Device,
}

impl Reptile {
    /// A fresh initialisation on `device` (autodiff is enabled here); `inner` sets the inner
    /// loop, `outer_step` the interpolation ε.
    pub fn new(inner: MamlConfig, outer_step: f64, device: &Device) -> Self {
        let device = device.clone().autodiff();
        Self {
            model: ReferenceCnn::with_classes(inner.way, &device),
            inner,
            outer_step,
            device,
        }
    }

    /// Starts from a saved initialisation; `model` must live on `device` with autodiff.
    pub fn from_model(
        model: ReferenceCnn,
        inner: MamlConfig,
        outer_step: f64,
        device: &Device,
    ) -> Self {
        Self {
            // Loaded parameters are not tracked until the module is put back into training.
            model: model.train(),
            inner,
            outer_step,
            device: device.clone().autodiff(),
        }
    }

    fn adapt(&self, episode: &Episode) -> ReferenceCnn {
        let support = episode.support.to_batch(&self.device);
        let start = task_start(&self.model, &self.inner, &episode.support);
        let unroll = self.inner.unroll(&start, &episode.support);
        adapt(&start, &unroll, &|m| batch_loss(m, &support)).0
    }
}

impl FewShotLearner for Reptile {
    fn name(&self) -> &'static str {
        "reptile"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let query = episode.query.to_batch(&self.device.clone().inner());
        self.adapt(episode)
            .valid()
            .forward(query.images)
            .argmax(1)
            .squeeze_dim(1)
    }
}

impl MetaLearner for Reptile {
    fn model(&self) -> &ReferenceCnn {
        &self.model
    }

    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1> {
        let mut adapted_weights = Vec::with_capacity(tasks.len());
        let mut losses = Vec::with_capacity(tasks.len());
        for task in tasks {
            let adapted = self.adapt(task);
            let query = task.query.to_batch(&self.device);
            // The query loss of the adapted weights, for reporting only.
            let logits = adapted.valid().forward(query.images.inner());
            losses.push(cross_entropy(logits, query.labels.inner()));
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
    use crate::meta::tests::assert_meta_training_lowers_query_loss;

    #[test]
    fn meta_training_lowers_the_post_adaptation_query_loss() {
        let device = cpu_device();
        device.seed(4);
        let config = MamlConfig::new(5)
            .with_inner_steps(3)
            .with_inner_lr(0.05)
            .with_head_only(false);
        assert_meta_training_lowers_query_loss(&mut Reptile::new(config, 0.5, &device));
    }
}
