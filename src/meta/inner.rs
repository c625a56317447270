//! The inner loop: how a network adapts to one task's support set.
//!
//! Every gradient-based learner (MAML, FOMAML, Meta-SGD, Reptile), the evaluation of a saved
//! network and the Playground adapt the same way, described by one [`InnerLoop`] value that is
//! saved in the weights catalogue beside each checkpoint:
//!
//! 1. the task's starting network ([`task_start`]): the meta-learned one, or — with
//!    `proto_head` — the same features with the output layer set from the support prototypes
//!    (Proto-MAML, Triantafillou et al., 2020), which serves any number of classes in any
//!    label order;
//! 2. `steps` plain SGD steps at rate `lr` on the support cross-entropy, on every parameter —
//!    the MAML recipe — or, with `head_only`, on the output layer alone (ANIL, Raghu et al.,
//!    2020) with the rate divided by the support features' mean squared norm (a normalised step,
//!    as in NLMS, so one rate suits any feature scale).

use super::params::ParamVec;
use super::protonet::{prototype_head, prototype_head_of};
use super::unroll::{InnerRate, SupportLoss, Unroll, adapt};
use crate::data::{Batch, ImageSet};
use crate::model::{Network, cross_entropy};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor};

/// How a network adapts to a task.
#[derive(Config, Debug, PartialEq)]
pub struct InnerLoop {
    /// SGD steps on the support set.
    #[config(default = 5)]
    pub steps: usize,
    /// SGD learning rate (with `head_only`: before normalisation by the feature scale).
    #[config(default = 0.1)]
    pub lr: f64,
    /// Adapt only the output layer, with the normalised step.
    #[config(default = false)]
    pub head_only: bool,
    /// Set the output layer from the support prototypes before the first step.
    #[config(default = false)]
    pub proto_head: bool,
}

/// Parameters of a network's output layer (weight, bias): the last two it visits.
const OUTPUT_LAYER_PARAMS: usize = 2;

/// The device a network's parameters live on.
pub fn device_of(model: &Network) -> Device {
    model
        .devices()
        .into_iter()
        .next()
        .expect("a network has parameters")
}

/// The support-set cross-entropy of `model` on `batch` (normalised with its own statistics).
pub fn batch_loss(model: &Network, batch: &Batch) -> Tensor<1> {
    cross_entropy(model.forward(batch.images.clone()), batch.labels.clone())
}

/// The support-set cross-entropy as the inner loop descends it: held smooth around a network
/// by that network's ReLU and max-pool switches.
pub struct SupportCrossEntropy<'a>(pub &'a Batch);

impl SupportLoss<Network> for SupportCrossEntropy<'_> {
    fn loss(&self, model: &Network) -> Tensor<1> {
        batch_loss(model, self.0)
    }

    fn held_at(&self, origin: &Network) -> impl Fn(&Network) -> Tensor<1> {
        let Batch { images, labels } = self.0;
        let switches = origin.switches(images.clone());
        move |model| {
            cross_entropy(
                model.forward_held(images.clone(), &switches),
                labels.clone(),
            )
        }
    }
}

/// The query cross-entropy of `model`, normalised with the support set's statistics.
pub fn query_loss(model: &Network, support: &Batch, query: &Batch) -> Tensor<1> {
    let logits = model.classify(support.images.clone(), query.images.clone());
    cross_entropy(logits, query.labels.clone())
}

/// Predicted labels of the query images by the inference copy of `model` (an autodiff graph
/// built without a backward pass would never be freed).
pub fn predict_query(model: &Network, support: &ImageSet, query: &ImageSet) -> Tensor<1, Int> {
    let device = device_of(model).inner();
    let (support, query) = (support.to_batch(&device), query.to_batch(&device));
    model
        .valid()
        .classify(support.images, query.images)
        .argmax(1)
        .squeeze_dim(1)
}

/// Outputs `rows` of `layer`, in that order, as a new layer.
fn select_outputs(layer: &Linear, rows: &[usize]) -> Linear {
    let device = layer.weight.val().device().inner();
    let indices: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
    let indices = Tensor::<1, Int>::from_data(indices.as_slice(), &device);
    let weight = layer.weight.val().inner().select(1, indices.clone());
    let bias = layer
        .bias
        .as_ref()
        .map(|b| b.val().inner().select(0, indices));
    Linear {
        weight: Param::from_tensor(Tensor::from_inner(weight).require_grad()),
        bias: bias.map(|b| Param::from_tensor(Tensor::from_inner(b).require_grad())),
    }
}

impl InnerLoop {
    /// `rate` on the parameters the inner loop adapts (all, or the output layer), zero elsewhere.
    pub fn rates(&self, model: &Network, rate: f64) -> ParamVec {
        let values = ParamVec::values(model);
        if self.head_only {
            values.fill_last(rate, OUTPUT_LAYER_PARAMS)
        } else {
            values.fill(rate)
        }
    }

    /// The factor a head-only step is scaled by: 1 / mean ‖f‖² over the support features.
    pub fn step_normaliser(model: &Network, support: &ImageSet) -> Tensor<1> {
        let device = device_of(model).inner();
        Self::normaliser_of(&model.valid().embed(support.to_batch(&device).images))
    }

    /// 1 / mean ‖f‖² over `features` `[n, features]` (without autodiff), as an autodiff constant.
    pub fn normaliser_of(features: &Tensor<2>) -> Tensor<1> {
        let mean_square = features.clone().powi_scalar(2).sum_dim(1).mean();
        Tensor::from_inner((mean_square + 1e-6).recip())
    }

    /// The network a `way`-class task starts from: `model` with the prototype output layer
    /// when `proto_head` (or when its learned layer has fewer than `way` outputs), else with the
    /// first `way` outputs of its learned layer (all of them when the widths match; meta-trained
    /// on tasks in random label order, its outputs are interchangeable). The prototype layer is
    /// a constant of the task: meta-gradients reach the features through the inner and query
    /// losses, not through the prototypes.
    pub fn task_start(&self, model: &Network, support: &ImageSet, way: usize) -> Network {
        let rows: Vec<usize> = (0..way).collect();
        self.task_start_rows(model, support, &rows)
    }

    /// [`Self::task_start`] for a task whose label k is output `rows[k]` of the learned layer
    /// (the ticked digits of a digit classifier, say); the prototype layer is used when
    /// `proto_head` or when a row is missing. A selected or prototype layer is a new leaf,
    /// detached from `model`'s own output layer: meta-gradients for it have its shape, so a
    /// meta-learner may only use a start whose output width equals its own (the CLI checks).
    pub fn task_start_rows(&self, model: &Network, support: &ImageSet, rows: &[usize]) -> Network {
        self.start_from(model, support, rows, None)
    }

    /// [`Self::task_start_rows`] when `features`, the support set's features `[n, features]` (without
    /// autodiff), are computed already: a prototype layer is made from them, not from another
    /// pass through the network.
    pub fn task_start_rows_with(
        &self,
        model: &Network,
        support: &ImageSet,
        rows: &[usize],
        features: &Tensor<2>,
    ) -> Network {
        self.start_from(model, support, rows, Some(features))
    }

    fn start_from(
        &self,
        model: &Network,
        support: &ImageSet,
        rows: &[usize],
        features: Option<&Tensor<2>>,
    ) -> Network {
        let classes = model.classes();
        let identity = rows.len() == classes && rows.iter().enumerate().all(|(i, &r)| i == r);
        if self.proto_head || rows.iter().any(|&r| r >= classes) {
            let device = device_of(model);
            let head = match features {
                Some(features) => prototype_head_of(features.clone(), support, rows.len(), &device),
                None => prototype_head(model, support, rows.len(), &device),
            };
            model.clone().with_output(head)
        } else if identity {
            model.clone()
        } else {
            let head = select_outputs(model.output_layer(), rows);
            model.clone().with_output(head)
        }
    }

    /// The inner loop from `start` on `support`, as [`super::unroll`] runs it, with one shared
    /// rate (`lr`) or the given per-parameter `rates` (Meta-SGD).
    pub fn unroll(
        &self,
        start: &Network,
        support: &ImageSet,
        rates: Option<&ParamVec>,
        second_order: bool,
    ) -> Unroll {
        let rate = match (rates, self.head_only) {
            (None, false) => InnerRate::Shared(self.lr),
            (Some(rates), false) => InnerRate::PerParameter(rates.clone()),
            (rates, true) => {
                let normaliser = Self::step_normaliser(start, support);
                let masked = match rates {
                    Some(rates) => rates.mul(&self.rates(start, 1.0)),
                    None => self.rates(start, self.lr),
                };
                InnerRate::PerParameter(masked.scale_by(&normaliser))
            }
        };
        Unroll {
            steps: self.steps,
            rate,
            second_order,
        }
    }

    /// `model` adapted to `support` (labels `0..way`): the task start, then the SGD steps.
    /// `model` must live on an autodiff device.
    pub fn fast_adapt(&self, model: &Network, support: &ImageSet, way: usize) -> Network {
        self.fast_adapt_with(model, support, way, None)
    }

    /// [`Self::fast_adapt`] with per-parameter learning rates (Meta-SGD).
    pub fn fast_adapt_with(
        &self,
        model: &Network,
        support: &ImageSet,
        way: usize,
        rates: Option<&ParamVec>,
    ) -> Network {
        let batch = support.to_batch(&device_of(model));
        self.fast_adapt_on(model, support, way, rates, &SupportCrossEntropy(&batch))
    }

    /// [`Self::fast_adapt_with`] descending `loss` instead of the support cross-entropy (the
    /// task start and the step sizes still come from `support`).
    pub fn fast_adapt_on(
        &self,
        model: &Network,
        support: &ImageSet,
        way: usize,
        rates: Option<&ParamVec>,
        loss: &impl SupportLoss<Network>,
    ) -> Network {
        let start = self.task_start(model, support, way);
        let unroll = self.unroll(&start, support, rates, false);
        adapt(&start, &unroll, loss).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::bench::synthetic_images;
    use crate::model::Backbone;

    /// A task over some of a classifier's classes starts from exactly those outputs.
    #[test]
    fn a_task_over_chosen_rows_starts_from_those_outputs() {
        let device = cpu_device().autodiff();
        device.seed(3);
        let classifier = Network::new(Backbone::Reference, 10, &device);
        let images = synthetic_images(6, 1);
        let support = images.range(0..3);
        let rows = [7, 2, 9];
        let start = InnerLoop::new().task_start_rows(&classifier, &support, &rows);
        let batch = support.to_batch(&device.clone().inner());
        let all = classifier.valid().forward(batch.images.clone());
        let chosen = start.valid().forward(batch.images);
        assert_eq!(chosen.dims(), [3, 3]);
        for (k, &row) in rows.iter().enumerate() {
            let want = all.clone().narrow(1, row, 1);
            let got = chosen.clone().narrow(1, k, 1);
            let diff = (want - got).abs().max().into_scalar::<f32>();
            assert!(
                diff < 1e-6,
                "output {k} should be the classifier's output {row}"
            );
        }
        // Rows the layer does not have fall back to prototypes (any width works).
        let wide: Vec<usize> = (0..12).collect();
        let start = InnerLoop::new().task_start_rows(&classifier, &images.range(0..6), &wide);
        assert_eq!(start.classes(), 12);
    }
}
