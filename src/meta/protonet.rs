//! Prototypical networks (Snell et al., 2017): the metric-learning reference.
//!
//! The network embeds images (the reference CNN's 64 hidden features); each class's prototype
//! is the mean embedding of its support images; a query is scored by minus its squared
//! Euclidean distance to each prototype. Meta-training learns the embedding by minimising the
//! query cross-entropy over many tasks. Adaptation is a single forward pass — no gradient steps.

use super::{FewShotLearner, MetaLearner};
use crate::data::episode::Episode;
use crate::model::{ReferenceCnn, cross_entropy};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};

/// A prototypical network and its optimiser.
pub struct ProtoNet {
    model: ReferenceCnn,
    optim: ModuleOptimizer,
    learning_rate: f64,
    device: Device,
}

impl ProtoNet {
    /// A fresh embedding network on `device` (autodiff is enabled here).
    pub fn new(learning_rate: f64, device: &Device) -> Self {
        let device = device.clone().autodiff();
        Self {
            model: ReferenceCnn::new(&device),
            optim: AdamConfig::new().init(),
            learning_rate,
            device,
        }
    }

    /// Starts from trained weights.
    /// `model` must live on `device` with autodiff (see [`crate::model::from_bytes`]).
    pub fn from_model(model: ReferenceCnn, learning_rate: f64, device: &Device) -> Self {
        let device = device.clone().autodiff();
        Self {
            // Loaded parameters are not tracked until the module is put back into training.
            model: model.train(),
            optim: AdamConfig::new().init(),
            learning_rate,
            device,
        }
    }

    /// Query logits `[way · query, way]`: minus squared distances to the class prototypes.
    fn logits(&self, episode: &Episode) -> Tensor<2> {
        let way = episode.classes.len();
        let support = self
            .model
            .embed(episode.support.to_batch(&self.device).images);
        let [n, features] = support.dims();
        // The sampler groups the support set by label, in label order.
        let prototypes = support
            .reshape([way, n / way, features])
            .mean_dim(1)
            .reshape([way, features]);
        let queries = self
            .model
            .embed(episode.query.to_batch(&self.device).images);
        let cross = queries.clone().matmul(prototypes.clone().transpose());
        let query_norms = queries.powi_scalar(2).sum_dim(1);
        let prototype_norms = prototypes.powi_scalar(2).sum_dim(1).transpose();
        cross * 2.0 - query_norms - prototype_norms
    }
}

impl FewShotLearner for ProtoNet {
    fn name(&self) -> &'static str {
        "protonet"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        self.logits(episode).argmax(1).squeeze_dim(1)
    }
}

impl MetaLearner for ProtoNet {
    fn model(&self) -> &ReferenceCnn {
        &self.model
    }

    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1> {
        let losses: Vec<Tensor<1>> = tasks
            .iter()
            .map(|task| cross_entropy(self.logits(task), task.query.to_batch(&self.device).labels))
            .collect();
        let loss = Tensor::cat(losses, 0).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self
            .optim
            .step(self.learning_rate, self.model.clone(), grads);
        loss.detach()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::meta::tests::assert_meta_training_lowers_query_loss;

    #[test]
    fn meta_training_lowers_the_query_loss() {
        let device = cpu_device();
        device.seed(2);
        assert_meta_training_lowers_query_loss(&mut ProtoNet::new(1e-3, &device));
    }
}
