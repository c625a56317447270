//! Reptile (Nichol et al., 2018).
//!
//! Adapt to each task of a meta-batch with a few SGD steps on its support set, then move the
//! shared initialisation a fraction `outer_step` of the way towards the mean of the adapted
//! weights: θ ← θ + ε (mean θ′ − θ). No query gradient is needed; the update is written as an
//! SGD step on the "gradient" θ − mean θ′ so burn's optimiser keeps the parameters trainable.

use super::fomaml::MamlConfig;
use super::{FewShotLearner, MetaLearner, sgd_adapt};
use crate::data::episode::Episode;
use crate::model::{ReferenceCnn, cross_entropy};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor};

/// Reptile on the reference CNN.
pub struct Reptile {
    model: ReferenceCnn,
    inner: MamlConfig,
    outer_step: f64,
    device: Device,
}

/// Adds each parameter (without autodiff) into `sums`, keyed by parameter id.
struct SumParams<'a> {
    sums: &'a mut GradientsParams,
}

impl ModuleVisitor for SumParams<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val().inner();
        let sum = match self.sums.remove::<D>(param.id) {
            Some(sum) => sum + value,
            None => value,
        };
        self.sums.register(param.id, sum);
    }
}

/// Turns the sums of adapted weights into θ − mean θ′ for each parameter.
struct TowardsMean<'a> {
    sums: &'a mut GradientsParams,
    tasks: f32,
}

impl ModuleVisitor for TowardsMean<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(sum) = self.sums.remove::<D>(param.id) {
            self.sums
                .register(param.id, param.val().inner() - sum / self.tasks);
        }
    }
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
        sgd_adapt(
            &self.model,
            &support,
            self.inner.inner_steps,
            self.inner.inner_lr,
        )
    }
}

impl FewShotLearner for Reptile {
    fn name(&self) -> &'static str {
        "reptile"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let query = episode.query.to_batch(&self.device);
        self.adapt(episode)
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
        let mut sums = GradientsParams::new();
        let mut losses = Vec::with_capacity(tasks.len());
        for task in tasks {
            let adapted = self.adapt(task);
            let query = task.query.to_batch(&self.device);
            // The query loss of the adapted weights, for reporting only.
            let logits = adapted.valid().forward(query.images.inner());
            losses.push(cross_entropy(logits, query.labels.inner()));
            adapted.visit(&mut SumParams { sums: &mut sums });
        }
        self.model.visit(&mut TowardsMean {
            sums: &mut sums,
            tasks: tasks.len() as f32,
        });
        self.model = SgdConfig::new()
            .init()
            .step(self.outer_step, self.model.clone(), sums);
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
        let config = MamlConfig::new(5).with_inner_steps(3).with_inner_lr(0.05);
        assert_meta_training_lowers_query_loss(&mut Reptile::new(config, 0.5, &device));
    }
}
