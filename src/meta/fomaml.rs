//! First-order MAML (Finn et al., 2017; Nichol et al., 2018).
//!
//! Inner loop: from the shared initialisation, a few plain SGD steps on the task's support
//! set. Outer loop: the query-set gradient *at the adapted weights* is applied to the shared
//! initialisation (the first-order approximation drops the second derivatives of the inner
//! steps), averaged over a batch of tasks, with Adam.

use super::{FewShotLearner, MetaLearner, sgd_adapt};
use crate::data::Batch;
use crate::data::episode::Episode;
use crate::model::{ReferenceCnn, cross_entropy};
use burn::config::Config;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};

/// Settings of (FO)MAML.
#[derive(Config, Debug, PartialEq)]
pub struct MamlConfig {
    /// Classes per task: the size of the output layer.
    pub way: usize,
    /// SGD steps on the support set.
    #[config(default = 5)]
    pub inner_steps: usize,
    /// SGD learning rate of the inner loop.
    #[config(default = 0.1)]
    pub inner_lr: f64,
    /// Adam learning rate of the outer loop.
    #[config(default = 1e-3)]
    pub outer_lr: f64,
}

/// First-order MAML on the reference CNN.
pub struct Fomaml {
    model: ReferenceCnn,
    optim: ModuleOptimizer,
    config: MamlConfig,
    device: Device,
}

impl Fomaml {
    /// A fresh initialisation on `device` (autodiff is enabled here).
    pub fn new(config: MamlConfig, device: &Device) -> Self {
        let device = device.clone().autodiff();
        Self {
            model: ReferenceCnn::with_classes(config.way, &device),
            optim: AdamConfig::new().init(),
            config,
            device,
        }
    }

    /// Starts from a saved initialisation.
    /// `model` must live on `device` with autodiff (see [`crate::model::from_bytes`]).
    pub fn from_model(model: ReferenceCnn, config: MamlConfig, device: &Device) -> Self {
        let device = device.clone().autodiff();
        Self {
            // Loaded parameters are not tracked until the module is put back into training.
            model: model.train(),
            optim: AdamConfig::new().init(),
            config,
            device,
        }
    }

    /// The initialisation after `inner_steps` SGD steps on `support`.
    fn adapt(&self, support: &Batch) -> ReferenceCnn {
        sgd_adapt(
            &self.model,
            support,
            self.config.inner_steps,
            self.config.inner_lr,
        )
    }
}

impl FewShotLearner for Fomaml {
    fn name(&self) -> &'static str {
        "fomaml"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let fast = self.adapt(&episode.support.to_batch(&self.device));
        let query = episode.query.to_batch(&self.device);
        fast.forward(query.images).argmax(1).squeeze_dim(1)
    }
}

impl MetaLearner for Fomaml {
    fn model(&self) -> &ReferenceCnn {
        &self.model
    }

    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1> {
        let mut accumulated = GradientsAccumulator::new();
        let mut losses = Vec::with_capacity(tasks.len());
        for task in tasks {
            let fast = self.adapt(&task.support.to_batch(&self.device));
            let query = task.query.to_batch(&self.device);
            let loss = cross_entropy(fast.forward(query.images), query.labels);
            // The adapted copy shares the initialisation's parameter ids, so its gradients
            // land on the initialisation: that is the first-order approximation.
            accumulated.accumulate(
                &self.model,
                GradientsParams::from_grads(loss.backward(), &fast),
            );
            losses.push(loss.detach());
        }
        let grads = accumulated.grads();
        self.model = self
            .optim
            .step(self.config.outer_lr, self.model.clone(), grads);
        Tensor::cat(losses, 0).mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::meta::tests::{assert_meta_training_lowers_query_loss, fixed_tasks};

    #[test]
    fn meta_training_lowers_the_post_adaptation_query_loss() {
        let device = cpu_device();
        device.seed(4);
        let config = MamlConfig::new(5).with_inner_steps(2).with_inner_lr(0.05);
        let mut learner = Fomaml::new(config, &device);
        assert_meta_training_lowers_query_loss(&mut learner);

        // A saved initialisation, loaded again, adapts and predicts the same way.
        let bytes = crate::model::to_bytes(learner.model().clone());
        let loaded = crate::model::from_bytes(&bytes, 5, &device.clone().autodiff()).unwrap();
        let reloaded = Fomaml::from_model(loaded, learner.config.clone(), &device);
        let task = &fixed_tasks()[0];
        assert_eq!(
            reloaded.predict(task).into_data(),
            learner.predict(task).into_data()
        );
    }
}
