//! MAML (Finn et al., 2017), second-order or first-order (FOMAML, Nichol et al., 2018).
//!
//! Inner loop: from the shared initialisation, a few plain SGD steps on the task's support
//! set. Outer loop: the gradient of the query loss *with respect to the initialisation*, through
//! the inner steps, averaged over a batch of tasks, applied with Adam. Second-order MAML keeps
//! the Hessian terms of the inner steps (finite-difference Hessian-vector products, see
//! [`super::unroll`]); first-order MAML drops them and applies the query gradient taken at the
//! adapted weights.

use super::params::ParamVec;
use super::protonet::prototype_head;
use super::unroll::{InnerRate, Unroll, adapt, meta_gradient};
use super::{FewShotLearner, MetaLearner};
use crate::data::episode::Episode;
use crate::data::{Batch, ImageSet};
use crate::model::{ReferenceCnn, cross_entropy};
use burn::config::Config;
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};

/// Settings of MAML and of the inner loops of Reptile and Meta-SGD.
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
    /// Differentiate through the inner steps (MAML) or not (FOMAML).
    #[config(default = false)]
    pub second_order: bool,
    /// Start each task with the output layer set from the support prototypes (Proto-MAML)
    /// instead of the meta-learned one.
    #[config(default = true)]
    pub proto_head: bool,
    /// Adapt only the output layer in the inner loop (ANIL, Raghu et al., 2020), with the rate
    /// divided by the support features' mean squared norm (a normalised step, as in NLMS, so one
    /// rate suits any feature scale); the features are still meta-learned by the outer loop.
    /// Measured reason: plain SGD steps on the reference CNN's unnormalised features wreck a
    /// 5-shot task unless the rate is below about 1e-4.
    #[config(default = true)]
    pub head_only: bool,
}

/// Parameters of the reference CNN's output layer (weight, bias): the last two it visits.
const OUTPUT_LAYER_PARAMS: usize = 2;

impl MamlConfig {
    /// `rate` on the parameters the inner loop adapts (all, or the output layer), zero elsewhere.
    pub fn rates(&self, model: &ReferenceCnn, rate: f64) -> ParamVec {
        let values = ParamVec::values(model);
        if self.head_only {
            values.fill_last(rate, OUTPUT_LAYER_PARAMS)
        } else {
            values.fill(rate)
        }
    }

    /// The factor a head-only step is scaled by: 1 / mean ‖f‖² over the support features.
    pub fn step_normaliser(&self, model: &ReferenceCnn, support: &ImageSet) -> Tensor<1> {
        let device = model
            .devices()
            .into_iter()
            .next()
            .expect("a model has parameters");
        let features = model
            .valid()
            .embed(support.to_batch(&device.inner()).images);
        let mean_square = features.powi_scalar(2).sum_dim(1).mean();
        Tensor::from_inner((mean_square + 1e-6).recip())
    }

    /// The inner loop on `support` from `model` as [`unroll`](super::unroll) runs it.
    pub fn unroll(&self, model: &ReferenceCnn, support: &ImageSet) -> Unroll {
        Unroll {
            steps: self.inner_steps,
            rate: if self.head_only {
                let normaliser = self.step_normaliser(model, support);
                InnerRate::PerParameter(self.rates(model, self.inner_lr).scale_by(&normaliser))
            } else {
                InnerRate::Shared(self.inner_lr)
            },
            second_order: self.second_order,
        }
    }
}

/// The network a task's inner loop starts from: `model`, with its output layer replaced by
/// the support prototypes' layer when `config.proto_head` (Proto-MAML, Triantafillou et al.,
/// 2020). The prototype layer is treated as a constant of the task: meta-gradients reach the
/// features through the inner and query losses, not through the prototypes.
pub fn task_start(model: &ReferenceCnn, config: &MamlConfig, support: &ImageSet) -> ReferenceCnn {
    if config.proto_head {
        let device = model
            .devices()
            .into_iter()
            .next()
            .expect("a model has parameters");
        let head = prototype_head(model, support, config.way, &device);
        model.clone().with_output(head)
    } else {
        model.clone()
    }
}

/// The query-set cross-entropy of `model` on `batch`.
pub fn batch_loss(model: &ReferenceCnn, batch: &Batch) -> Tensor<1> {
    cross_entropy(model.forward(batch.images.clone()), batch.labels.clone())
}

/// MAML on the reference CNN.
pub struct Maml {
    model: ReferenceCnn,
    optim: ModuleOptimizer,
    config: MamlConfig,
    device: Device,
}

impl Maml {
    /// A fresh initialisation on `device` (autodiff is enabled here).
    pub fn new(config: MamlConfig, device: &Device) -> Self {
        let device = device.clone().autodiff();
        Self::from_model(
            ReferenceCnn::with_classes(config.way, &device),
            config,
            &device,
        )
    }

    /// Starts from a saved initialisation.
    /// `model` must live on `device` with autodiff (see [`crate::model::from_bytes`]).
    pub fn from_model(model: ReferenceCnn, config: MamlConfig, device: &Device) -> Self {
        Self {
            // Loaded parameters are not tracked until the module is put back into training.
            model: model.train(),
            optim: AdamConfig::new().init(),
            config,
            device: device.clone().autodiff(),
        }
    }
}

impl FewShotLearner for Maml {
    fn name(&self) -> &'static str {
        if self.config.second_order {
            "maml"
        } else {
            "fomaml"
        }
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let support = episode.support.to_batch(&self.device);
        let start = task_start(&self.model, &self.config, &episode.support);
        let unroll = self.config.unroll(&start, &episode.support);
        let (fast, _) = adapt(&start, &unroll, &|m| batch_loss(m, &support));
        let query = episode.query.to_batch(&self.device);
        fast.valid()
            .forward(query.images.inner())
            .argmax(1)
            .squeeze_dim(1)
    }
}

impl MetaLearner for Maml {
    fn model(&self) -> &ReferenceCnn {
        &self.model
    }

    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1> {
        let mut gradients = Vec::with_capacity(tasks.len());
        let mut losses = Vec::with_capacity(tasks.len());
        for task in tasks {
            let support = task.support.to_batch(&self.device);
            let query = task.query.to_batch(&self.device);
            let start = task_start(&self.model, &self.config, &task.support);
            let gradient = meta_gradient(
                &start,
                &self.config.unroll(&start, &task.support),
                |m| batch_loss(m, &support),
                |m| batch_loss(m, &query),
            );
            losses.push(gradient.query_loss);
            gradients.push(gradient.init);
        }
        let grads = ParamVec::mean(gradients).to_grads(&self.model);
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

    /// Plain MAML (learned output layer, whole-network inner steps) on a tiny problem.
    fn plain(second_order: bool) -> MamlConfig {
        MamlConfig::new(5)
            .with_inner_steps(2)
            .with_inner_lr(0.05)
            .with_second_order(second_order)
            .with_proto_head(false)
            .with_head_only(false)
    }

    #[test]
    fn first_order_meta_training_lowers_the_post_adaptation_query_loss() {
        let device = cpu_device();
        device.seed(4);
        let config = plain(false);
        let mut learner = Maml::new(config, &device);
        assert_meta_training_lowers_query_loss(&mut learner);

        // A saved initialisation, loaded again, adapts and predicts the same way.
        let bytes = crate::model::to_bytes(learner.model().clone());
        let loaded = crate::model::from_bytes(&bytes, 5, &device.clone().autodiff()).unwrap();
        let reloaded = Maml::from_model(loaded, learner.config.clone(), &device);
        let task = &fixed_tasks()[0];
        assert_eq!(
            reloaded.predict(task).into_data(),
            learner.predict(task).into_data()
        );
    }

    #[test]
    fn second_order_meta_training_lowers_the_post_adaptation_query_loss() {
        let device = cpu_device();
        device.seed(4);
        assert_meta_training_lowers_query_loss(&mut Maml::new(plain(true), &device));
    }
}
