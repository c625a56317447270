//! Prototypical networks (Snell et al., 2017): the metric-learning reference.
//!
//! The network embeds images (either backbone's features); each class's prototype
//! is the mean embedding of its support images; a query is scored by minus its squared
//! Euclidean distance to each prototype. Meta-training learns the embedding by minimising the
//! query cross-entropy over many tasks. Adaptation is a single forward pass — no gradient steps.

use super::{FewShotLearner, MetaLearner};
use crate::data::ImageSet;
use crate::data::episode::Episode;
use crate::model::{Architecture, Network, cross_entropy};
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// A prototypical network and its optimiser.
pub struct ProtoNet {
    model: Network,
    optim: ModuleOptimizer,
    learning_rate: f64,
    device: Device,
}

impl ProtoNet {
    /// A fresh embedding network of `architecture` on `device` (autodiff is enabled here).
    /// Its output layer is never used; it keeps the file loadable like any other network's.
    pub fn new(architecture: impl Into<Architecture>, learning_rate: f64, device: &Device) -> Self {
        let device = device.clone().autodiff();
        Self {
            model: Network::new(architecture, crate::data::NUM_CLASSES, &device),
            optim: AdamConfig::new().init(),
            learning_rate,
            device,
        }
    }

    /// Starts from trained weights.
    /// `model` must live on `device` with autodiff (see [`crate::model::from_bytes`]).
    pub fn from_model(model: Network, learning_rate: f64, device: &Device) -> Self {
        let device = device.clone().autodiff();
        Self {
            // Loaded parameters are not tracked until the module is put back into training.
            model: model.train(),
            optim: AdamConfig::new().init(),
            learning_rate,
            device,
        }
    }

    /// Query logits `[way · query, way]`: minus squared distances to the class prototypes,
    /// computed by `model` on `device` (the training network, or its inference copy for
    /// predictions: an autodiff graph built without a backward pass is never freed).
    fn logits(model: &Network, device: &Device, episode: &Episode) -> Tensor<2> {
        let way = episode.classes.len();
        let (support, queries) = model.embed_task(
            episode.support.to_batch(device).images,
            episode.query.to_batch(device).images,
        );
        let [n, features] = support.dims();
        // The sampler groups the support set by label, in label order.
        let prototypes = support
            .reshape([way, n / way, features])
            .mean_dim(1)
            .reshape([way, features]);
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
        let device = self.device.clone().inner();
        Self::logits(&self.model.valid(), &device, episode)
            .argmax(1)
            .squeeze_dim(1)
    }
}

impl MetaLearner for ProtoNet {
    fn model(&self) -> &Network {
        &self.model
    }

    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1> {
        let losses: Vec<Tensor<1>> = tasks
            .iter()
            .map(|task| {
                cross_entropy(
                    Self::logits(&self.model, &self.device, task),
                    task.query.to_batch(&self.device).labels,
                )
            })
            .collect();
        let loss = Tensor::cat(losses, 0).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self
            .optim
            .step(self.learning_rate, self.model.clone(), grads);
        loss.detach()
    }
}

/// Typical logit gap between two classes of a [`prototype_head`]: large enough to be confident,
/// small enough that an SGD step on its cross-entropy does not blow up.
pub const PROTOTYPE_LOGIT_SCALE: f32 = 10.0;

/// An output layer scoring each class by s · (2 cₖ·f − ‖cₖ‖²) = s · (‖f‖² − ‖f − cₖ‖²), with cₖ
/// the mean feature of class k's support images: nearest-prototype classification. The
/// temperature s sets the mean squared distance between prototypes to
/// [`PROTOTYPE_LOGIT_SCALE`]; raw squared distances between features run into the thousands,
/// which saturates the softmax and makes the first fine-tuning step diverge.
pub fn prototype_head(
    features: &Network,
    support: &ImageSet,
    way: usize,
    device: &Device,
) -> Linear {
    let embedded = features
        .valid()
        .embed(support.to_batch(&device.clone().inner()).images);
    prototype_head_of(embedded, support, way, device)
}

/// [`prototype_head`] from `embedded`, the features `[n, features]` of `support` (without
/// autodiff) when they are computed already.
pub fn prototype_head_of(
    embedded: Tensor<2>,
    support: &ImageSet,
    way: usize,
    device: &Device,
) -> Linear {
    let n = support.len();
    let mut one_hot = vec![0f32; n * way];
    let mut counts = vec![0f32; way];
    for (index, &label) in support.labels.iter().enumerate() {
        one_hot[usize::from(label) * n + index] = 1.0;
        counts[usize::from(label)] += 1.0;
    }
    let inner = device.clone().inner();
    let membership = Tensor::<2>::from_data(TensorData::new(one_hot, [way, n]), &inner);
    let counts = Tensor::<2>::from_data(TensorData::new(counts, [way, 1]), &inner);
    let features = embedded.dims()[1];
    let prototypes = membership.matmul(embedded) / counts.clamp_min(1.0); // [way, features]
    // Mean squared distance between two prototypes = 2 × their mean squared distance to the
    // centre.
    let centre = prototypes.clone().mean_dim(0); // [1, features]
    let spread = (prototypes.clone() - centre)
        .powi_scalar(2)
        .sum_dim(1)
        .mean()
        * 2.0;
    let scale = (spread + 1e-6).recip() * PROTOTYPE_LOGIT_SCALE; // [1]
    let weight = prototypes.clone().transpose() * scale.clone().reshape([1, 1]) * 2.0;
    let bias = prototypes.powi_scalar(2).sum_dim(1).reshape([way]).neg() * scale;
    let mut head = LinearConfig::new(features, way).init(device);
    head.weight = Param::from_tensor(Tensor::from_inner(weight).require_grad());
    head.bias = Some(Param::from_tensor(Tensor::from_inner(bias).require_grad()));
    head
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::data::episode::EpisodeSpec;
    use crate::meta::tests::easy_pool;
    use crate::model::Backbone;
    use crate::rng::Rng;

    /// The prototype output layer classifies like nearest-prototype (the ProtoNet rule).
    #[test]
    fn prototype_head_agrees_with_nearest_prototype_classification() {
        let device = cpu_device().autodiff();
        device.seed(9);
        for backbone in [Backbone::Reference, Backbone::Conv4] {
            let learner = ProtoNet::new(backbone, 1e-3, &device);
            let spec = EpisodeSpec {
                way: 4,
                shot: 3,
                query: 4,
            };
            let classes: Vec<usize> = (0..10).collect();
            let episode = easy_pool()
                .sample(&classes, spec, &mut Rng::new(3))
                .unwrap();
            let start = learner.model.clone().with_output(prototype_head(
                &learner.model,
                &episode.support,
                4,
                &device,
            ));
            let by_head =
                crate::meta::inner::predict_query(&start, &episode.support, &episode.query);
            assert_eq!(
                by_head.into_data().iter::<i64>().collect::<Vec<_>>(),
                learner
                    .predict(&episode)
                    .into_data()
                    .iter::<i64>()
                    .collect::<Vec<_>>(),
                "{backbone:?}"
            );
        }
    }
}
