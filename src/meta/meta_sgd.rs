//! Meta-SGD (Li et al., 2017): learned per-parameter inner learning rates.
//!
//! Like MAML, but each parameter has its own inner learning rate α, and α is meta-learned
//! together with the initialisation: θ′ = θ − α ⊙ ∇L_s(θ). The rates live in a second network
//! of the same architecture (so they save, load and optimise like weights); both get their
//! gradients through the inner loop from [`super::unroll`] and take Adam steps. First order by
//! default (the initialisation's gradient drops the Hessian terms; the rates' gradient is exact
//! for one inner step); `second_order` keeps the Hessian terms for both, as in MAML.

use super::inner::{InnerLoop, SupportCrossEntropy, predict_query, query_loss};
use super::maml::MamlConfig;
use super::params::ParamVec;
use super::unroll::meta_gradient;
use super::{FewShotLearner, MetaLearner};
use crate::data::episode::Episode;
use crate::model::{Architecture, Network};
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};

/// Meta-SGD on either backbone.
pub struct MetaSgd {
    model: Network,
    rates: Network,
    model_optim: ModuleOptimizer,
    rates_optim: ModuleOptimizer,
    config: MamlConfig,
    device: Device,
}

impl MetaSgd {
    /// A fresh initialisation of `architecture` on `device` with every adapted parameter's
    /// rate at `config.inner.lr` (the others at zero).
    pub fn new(architecture: impl Into<Architecture>, config: MamlConfig, device: &Device) -> Self {
        let architecture = architecture.into();
        let device = device.clone().autodiff();
        let model = Network::new(architecture, config.way, &device);
        let rates = config
            .inner
            .rates(&model, config.inner.lr)
            .assign(Network::new(architecture, config.way, &device));
        Self::from_parts(model, rates, config, &device)
    }

    /// Starts from saved weights and rates (both on `device` with autodiff).
    pub fn from_parts(model: Network, rates: Network, config: MamlConfig, device: &Device) -> Self {
        Self {
            model: model.train(),
            rates: rates.train(),
            model_optim: AdamConfig::new().init(),
            rates_optim: AdamConfig::new().init(),
            config,
            device: device.clone().autodiff(),
        }
    }
}

impl FewShotLearner for MetaSgd {
    fn name(&self) -> &'static str {
        "meta-sgd"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let rates = ParamVec::values(&self.rates);
        let way = episode.classes.len();
        let adapted =
            self.config
                .inner
                .fast_adapt_with(&self.model, &episode.support, way, Some(&rates));
        predict_query(&adapted, &episode.support, &episode.query)
    }
}

impl MetaLearner for MetaSgd {
    fn model(&self) -> &Network {
        &self.model
    }

    fn inner_loop(&self) -> Option<&InnerLoop> {
        Some(&self.config.inner)
    }

    fn rates(&self) -> Option<&Network> {
        Some(&self.rates)
    }

    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1> {
        let learned_rates = ParamVec::values(&self.rates);
        let inner = &self.config.inner;
        let (mut inits, mut rates, mut losses) = (Vec::new(), Vec::new(), Vec::new());
        for task in tasks {
            let support = task.support.to_batch(&self.device);
            let query = task.query.to_batch(&self.device);
            let start = inner.task_start(&self.model, &task.support, self.config.way);
            let unroll = inner.unroll(
                &start,
                &task.support,
                Some(&learned_rates),
                self.config.second_order,
            );
            let gradient = meta_gradient(&start, &unroll, SupportCrossEntropy(&support), |m| {
                query_loss(m, &support, &query)
            });
            inits.push(gradient.init);
            rates.push(gradient.rates);
            losses.push(gradient.query_loss);
        }
        let lr = self.config.outer_lr;
        let grads = ParamVec::mean(inits).to_grads(&self.model);
        self.model = self.model_optim.step(lr, self.model.clone(), grads);
        // `rates` is the gradient with respect to the rates the inner loop used; with
        // `head_only` those are the learned rates times a 0/1 mask and a positive normaliser.
        // The mask keeps the unused rates at zero; the normaliser, a positive factor per task,
        // is left out (it only rescales each task's gradient, which Adam mostly absorbs).
        let mask = self.config.inner.rates(&self.rates, 1.0);
        let grads = ParamVec::mean(rates).mul(&mask).to_grads(&self.rates);
        self.rates = self.rates_optim.step(lr, self.rates.clone(), grads);
        Tensor::cat(losses, 0).mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::meta::tests::fixed_tasks;
    use crate::model::Backbone;

    #[test]
    fn head_only_rates_start_masked_and_move_with_meta_training() {
        let device = cpu_device();
        device.seed(4);
        let inner = InnerLoop::new()
            .with_steps(1)
            .with_lr(0.05)
            .with_head_only(true);
        let mut learner = MetaSgd::new(Backbone::Reference, MamlConfig::new(5, inner), &device);
        let start = ParamVec::values(learner.rates().unwrap());
        // Every rate of the output layer starts at 0.05, the others at zero (head only).
        let expected = start.fill_last(0.05, 2);
        let off_start = start.sub(&expected).norm().into_scalar::<f32>();
        assert!(
            off_start < 1e-6,
            "rates start {off_start} away from 0.05 / 0"
        );
        for _ in 0..4 {
            learner.meta_step(&fixed_tasks());
        }
        let moved = ParamVec::values(learner.rates().unwrap()).sub(&start);
        let head = moved
            .mul(&start.fill_last(1.0, 2))
            .norm()
            .into_scalar::<f32>();
        let rest = moved.sub(&moved.mul(&start.fill_last(1.0, 2))).norm();
        assert!(head > 1e-3, "the output layer's rates did not learn");
        assert_eq!(
            rest.into_scalar::<f32>(),
            0.0,
            "unused rates must stay at zero"
        );
    }
}
