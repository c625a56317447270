//! Meta-SGD (Li et al., 2017): learned per-parameter inner learning rates.
//!
//! Like MAML, but each parameter has its own inner learning rate α, and α is meta-learned
//! together with the initialisation: θ′ = θ − α ⊙ ∇L_s(θ). The rates live in a second network
//! of the same architecture (so they save, load and optimise like weights); both get their
//! gradients through the inner loop from [`super::unroll`] and take Adam steps.

use super::maml::{MamlConfig, batch_loss, task_start};
use super::params::ParamVec;
use super::unroll::{InnerRate, Unroll, adapt, meta_gradient};
use super::{FewShotLearner, MetaLearner};
use crate::data::ImageSet;
use crate::data::episode::Episode;
use crate::model::ReferenceCnn;
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};

/// Meta-SGD on the reference CNN.
pub struct MetaSgd {
    model: ReferenceCnn,
    rates: ReferenceCnn,
    model_optim: ModuleOptimizer,
    rates_optim: ModuleOptimizer,
    config: MamlConfig,
    device: Device,
}

impl MetaSgd {
    /// A fresh initialisation on `device` with every rate at `config.inner_lr`.
    pub fn new(config: MamlConfig, device: &Device) -> Self {
        let device = device.clone().autodiff();
        let model = ReferenceCnn::with_classes(config.way, &device);
        let rates = config
            .rates(&model, config.inner_lr)
            .assign(ReferenceCnn::with_classes(config.way, &device));
        Self::from_parts(model, rates, config, &device)
    }

    /// Starts from saved weights and rates (both on `device` with autodiff).
    pub fn from_parts(
        model: ReferenceCnn,
        rates: ReferenceCnn,
        config: MamlConfig,
        device: &Device,
    ) -> Self {
        Self {
            model: model.train(),
            rates: rates.train(),
            model_optim: AdamConfig::new().init(),
            rates_optim: AdamConfig::new().init(),
            config,
            device: device.clone().autodiff(),
        }
    }

    /// The inner loop on `support` from `start` with the learned rates (on the output layer
    /// only, and normalised, when `config.head_only`).
    fn unroll(&self, start: &ReferenceCnn, support: &ImageSet) -> Unroll {
        let mut rates = ParamVec::values(&self.rates);
        if self.config.head_only {
            let mask = self.config.rates(start, 1.0);
            rates = rates
                .mul(&mask)
                .scale_by(&self.config.step_normaliser(start, support));
        }
        Unroll {
            rate: InnerRate::PerParameter(rates),
            ..self.config.unroll(start, support)
        }
    }
}

impl FewShotLearner for MetaSgd {
    fn name(&self) -> &'static str {
        "meta-sgd"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let support = episode.support.to_batch(&self.device);
        let start = task_start(&self.model, &self.config, &episode.support);
        let unroll = self.unroll(&start, &episode.support);
        let (fast, _) = adapt(&start, &unroll, &|m| batch_loss(m, &support));
        let query = episode.query.to_batch(&self.device);
        fast.valid()
            .forward(query.images.inner())
            .argmax(1)
            .squeeze_dim(1)
    }
}

impl MetaLearner for MetaSgd {
    fn model(&self) -> &ReferenceCnn {
        &self.model
    }

    fn rates(&self) -> Option<&ReferenceCnn> {
        Some(&self.rates)
    }

    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1> {
        let (mut inits, mut rates, mut losses) = (Vec::new(), Vec::new(), Vec::new());
        for task in tasks {
            let support = task.support.to_batch(&self.device);
            let query = task.query.to_batch(&self.device);
            let start = task_start(&self.model, &self.config, &task.support);
            let gradient = meta_gradient(
                &start,
                &self.unroll(&start, &task.support),
                |m| batch_loss(m, &support),
                |m| batch_loss(m, &query),
            );
            inits.push(gradient.init);
            rates.push(gradient.rates);
            losses.push(gradient.query_loss);
        }
        let lr = self.config.outer_lr;
        let grads = ParamVec::mean(inits).to_grads(&self.model);
        self.model = self.model_optim.step(lr, self.model.clone(), grads);
        // `rates` is the gradient with respect to the rates the inner loop used; with
        // `head_only` those are the learned rates times a 0/1 mask and a positive normaliser,
        // a factor this leaves out (it only rescales each task's gradient; Adam absorbs most
        // of that, and masked rates are never used).
        let grads = ParamVec::mean(rates).to_grads(&self.rates);
        self.rates = self.rates_optim.step(lr, self.rates.clone(), grads);
        Tensor::cat(losses, 0).mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::meta::tests::assert_meta_training_lowers_query_loss;

    #[test]
    fn meta_training_lowers_the_query_loss_and_moves_the_rates() {
        let device = cpu_device();
        device.seed(4);
        let config = MamlConfig::new(5).with_inner_steps(1).with_inner_lr(0.05);
        let mut learner = MetaSgd::new(config, &device);
        let start = ParamVec::values(learner.rates().unwrap());
        // Every rate of the output layer starts at 0.05, the others at zero (head only).
        let expected = start.fill_last(0.05, 2);
        let off_start = start.sub(&expected).norm().into_scalar::<f32>();
        assert!(
            off_start < 1e-6,
            "rates start {off_start} away from 0.05 / 0"
        );
        assert_meta_training_lowers_query_loss(&mut learner);
        let moved = ParamVec::values(learner.rates().unwrap())
            .sub(&start)
            .norm();
        assert!(moved.into_scalar::<f32>() > 1e-3, "the rates did not learn");
    }
}
