//! Prototypical networks (Snell et al., 2017): the metric-learning reference.
//!
//! The network embeds images (either backbone's features); each class's prototype
//! is the mean embedding of its support images; a query is scored by minus its squared
//! Euclidean distance to each prototype. Meta-training learns the embedding by minimising the
//! query cross-entropy over many tasks. Adaptation is a single forward pass — no gradient steps.
//!
//! Optionally, predictions are *transductive*: the prototypes are refined by soft k-means on
//! the task's unlabelled query images (after Ren et al., 2018), so the query set must be there
//! as a whole — a setting of its own, reported apart from the ordinary one.
//!
//! Also optionally, the support set is *enlarged by shifts*: every support image joins its
//! prototype together with copies of itself moved by up to a pixel or two, and the copies count
//! in the support statistics of Conv-4's normalisation too. That uses the support images alone,
//! so predictions stay inductive, one query at a time. Likewise each query may be *averaged over
//! shifts*: its feature is the mean feature of itself and its shifted copies (test-time
//! augmentation), which uses that query alone. And features may be *centred and scaled to
//! unit length* before prototypes and distances (SimpleShot's CL2N, Wang et al., 2019, centred
//! on the task's support features rather than the training classes'): the squared distances
//! then score cosine similarity about that centre. That too uses the support images alone.

use super::{FewShotLearner, MetaLearner};
use crate::data::ImageSet;
use crate::data::augment::with_all_shifts;
use crate::data::episode::Episode;
use crate::model::{Architecture, Network, cross_entropy};
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// A prototypical network and its optimiser.
pub struct ProtoNet {
    model: Network,
    optim: ModuleOptimizer,
    learning_rate: f64,
    device: Device,
    /// How it predicts (meta-training always uses the plain rule).
    rule: PredictionRule,
}

/// How a [`ProtoNet`] predicts; the default is the plain rule of Snell et al.
#[derive(Debug, Clone, Copy, Default)]
struct PredictionRule {
    /// Soft k-means rounds on the query set (0: the ordinary, inductive rule).
    transductive_rounds: usize,
    /// Largest shift, in pixels per axis, of the support copies (0: none).
    support_shifts: usize,
    /// Largest shift, in pixels per axis, of the query copies averaged into each query's
    /// feature (0: none).
    query_shifts: usize,
    /// Take every feature's square root (sign kept; a query's after averaging its shifts)
    /// before prototypes and centring.
    power_features: bool,
    /// Centre every feature on the mean support feature and scale it to unit length.
    centred_unit_features: bool,
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
            rule: PredictionRule::default(),
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
            rule: PredictionRule::default(),
        }
    }

    /// Predicts transductively: [`refine_prototypes`] for `rounds` rounds on each task's
    /// query images before classifying them. Meta-training is unchanged.
    pub fn with_transductive(mut self, rounds: usize) -> Self {
        self.rule.transductive_rounds = rounds;
        self
    }

    /// Predicts from a support set enlarged by every shift of at most `pixels` per axis
    /// ([`with_all_shifts`]): (2·pixels + 1)² images for each support image. Meta-training is
    /// unchanged.
    pub fn with_support_shifts(mut self, pixels: usize) -> Self {
        self.rule.support_shifts = pixels;
        self
    }

    /// Gives each query the mean feature of itself and its copies shifted by every offset of at
    /// most `pixels` per axis ([`with_all_shifts`]); each query is still classified on its own.
    /// Meta-training is unchanged.
    pub fn with_query_shifts(mut self, pixels: usize) -> Self {
        self.rule.query_shifts = pixels;
        self
    }

    /// Takes the square root of every support and query feature, sign kept ([`square_root`]),
    /// before prototypes, centring and distances: the power transform of Hu et al. (2021) at
    /// their β = 0.5. Meta-training is unchanged.
    pub fn with_power_features(mut self, on: bool) -> Self {
        self.rule.power_features = on;
        self
    }

    /// Centres every support and query feature on the mean of the (enlarged) support set's
    /// features and scales it to unit length before the prototypes are taken
    /// ([`centred_unit_length`]). Meta-training is unchanged.
    pub fn with_centred_unit_features(mut self, on: bool) -> Self {
        self.rule.centred_unit_features = on;
        self
    }

    /// Its prediction logits `[way · query, way]` for the episode's queries.
    fn query_logits(&self, episode: &Episode) -> Tensor<2> {
        let device = self.device.clone().inner();
        Self::logits(&self.model.valid(), &device, episode, self.rule)
    }

    /// Class probabilities `[way · query, way]` of the episode's queries: the softmax of the
    /// logits it predicts by (at the scale it was meta-trained to score with, unless its
    /// features are square-rooted, which changes that scale, or centred and of unit length:
    /// then the logits lie in [−4, 0]).
    pub fn probabilities(&self, episode: &Episode) -> Tensor<2> {
        softmax(self.query_logits(episode), 1)
    }

    /// Query logits `[way · query, way]` by `rule`: minus squared distances from the (shift-
    /// averaged, square-rooted, centred unit-length) query features to the class prototypes
    /// of the (enlarged) support set, refined on the queries, computed by `model` on `device`
    /// (the training network, or its inference copy for predictions: an autodiff graph built
    /// without a backward pass is never freed).
    /// In the refinement an enlarged support set counts as the `shot` images drawn, not as
    /// all their copies.
    fn logits(
        model: &Network,
        device: &Device,
        episode: &Episode,
        rule: PredictionRule,
    ) -> Tensor<2> {
        let way = episode.classes.len();
        let with_shifts = |set: &ImageSet, pixels: usize| match pixels {
            0 => set.to_batch(device).images,
            _ => with_all_shifts(set, pixels).to_batch(device).images,
        };
        let (support, queries) = model.embed_task(
            with_shifts(&episode.support, rule.support_shifts),
            with_shifts(&episode.query, rule.query_shifts),
        );
        let queries = mean_of_copies(queries, (2 * rule.query_shifts + 1).pow(2));
        let (support, queries) = match rule.power_features {
            false => (support, queries),
            true => (square_root(support), square_root(queries)),
        };
        let (support, queries) = match rule.centred_unit_features {
            false => (support, queries),
            true => {
                let centre = support.clone().mean_dim(0);
                (
                    centred_unit_length(support, centre.clone()),
                    centred_unit_length(queries, centre),
                )
            }
        };
        let [n, features] = support.dims();
        // The sampler groups the support set by label, in label order, and each image's
        // shifted copies follow it.
        let prototypes = support
            .reshape([way, n / way, features])
            .mean_dim(1)
            .reshape([way, features]);
        let shot = episode.support.len() / way;
        let prototypes =
            refine_prototypes(prototypes, shot, queries.clone(), rule.transductive_rounds);
        minus_squared_distances(queries, prototypes)
    }
}

/// `[n / copies, features]`: the mean of each image's `copies` consecutive rows of `features`
/// `[n, features]` (as [`with_all_shifts`] orders them); one copy leaves them as they are.
fn mean_of_copies(features: Tensor<2>, copies: usize) -> Tensor<2> {
    if copies == 1 {
        return features;
    }
    let [n, width] = features.dims();
    features
        .reshape([n / copies, copies, width])
        .mean_dim(1)
        .reshape([n / copies, width])
}

/// The square root of each element's magnitude, with its sign (a ReLU network's features are
/// never negative, so there it is the plain square root).
fn square_root(features: Tensor<2>) -> Tensor<2> {
    features.clone().sign() * features.abs().sqrt()
}

/// `features` `[n, width]` less `centre` `[1, width]`, each row scaled to unit length (a row
/// at the centre stays zero).
fn centred_unit_length(features: Tensor<2>, centre: Tensor<2>) -> Tensor<2> {
    let centred = features - centre;
    let length = centred
        .clone()
        .powi_scalar(2)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1e-12);
    centred / length
}

/// `[q, way]`: minus the squared Euclidean distance from each query to each prototype.
fn minus_squared_distances(queries: Tensor<2>, prototypes: Tensor<2>) -> Tensor<2> {
    let cross = queries.clone().matmul(prototypes.clone().transpose());
    let query_norms = queries.powi_scalar(2).sum_dim(1);
    let prototype_norms = prototypes.powi_scalar(2).sum_dim(1).transpose();
    cross * 2.0 - query_norms - prototype_norms
}

/// Prototypes `[way, features]` of `shot` support images each, refined by `rounds` of soft
/// k-means on the unlabelled `queries` `[q, features]` (the refinement of Ren et al., 2018):
/// each round gives every query a soft class membership, the softmax of its minus squared
/// distances, and moves each prototype to the mean of its support images and its queries
/// weighted by membership. Dividing the distances by their spread (the square root of the mean
/// over queries of their unbiased variance across classes) is this project's addition, so that
/// the rule does not depend on the features' scale. With fewer than two classes there is
/// nothing to refine.
pub fn refine_prototypes(
    prototypes: Tensor<2>,
    shot: usize,
    queries: Tensor<2>,
    rounds: usize,
) -> Tensor<2> {
    if prototypes.dims()[0] < 2 {
        return prototypes;
    }
    let shot = shot as f32;
    let support_sums = prototypes.clone() * shot;
    let mut prototypes = prototypes;
    for _ in 0..rounds {
        let logits = minus_squared_distances(queries.clone(), prototypes);
        let spread = logits.clone().var(1).mean().sqrt().clamp_min(1e-6);
        let membership = softmax(logits / spread.reshape([1, 1]), 1); // [q, way]
        let mass = membership.clone().sum_dim(0).transpose(); // [way, 1]
        prototypes =
            (support_sums.clone() + membership.transpose().matmul(queries.clone())) / (mass + shot);
    }
    prototypes
}

impl FewShotLearner for ProtoNet {
    fn name(&self) -> &'static str {
        "protonet"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        self.query_logits(episode).argmax(1).squeeze_dim(1)
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
                    Self::logits(&self.model, &self.device, task, PredictionRule::default()),
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

    /// [`refine_prototypes`] written out in plain f64 arithmetic.
    fn soft_kmeans(
        prototypes: &[Vec<f64>],
        shot: f64,
        queries: &[Vec<f64>],
        rounds: usize,
    ) -> Vec<Vec<f64>> {
        let mut current = prototypes.to_vec();
        for _ in 0..rounds {
            let logits: Vec<Vec<f64>> = queries
                .iter()
                .map(|q| {
                    current
                        .iter()
                        .map(|p| -q.iter().zip(p).map(|(a, b)| (a - b).powi(2)).sum::<f64>())
                        .collect()
                })
                .collect();
            let way = current.len() as f64;
            let variances = logits.iter().map(|row: &Vec<f64>| {
                let mean = row.iter().sum::<f64>() / way;
                row.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (way - 1.0)
            });
            let spread = (variances.sum::<f64>() / queries.len() as f64).sqrt();
            current = (0..current.len())
                .map(|k| {
                    let mut sum: Vec<f64> = prototypes[k].iter().map(|v| v * shot).collect();
                    let mut mass = shot;
                    for (q, row) in queries.iter().zip(&logits) {
                        let total: f64 = row.iter().map(|l| (l / spread).exp()).sum();
                        let weight = (row[k] / spread).exp() / total;
                        mass += weight;
                        sum.iter_mut().zip(q).for_each(|(s, v)| *s += weight * v);
                    }
                    sum.iter().map(|s| s / mass).collect()
                })
                .collect();
        }
        current
    }

    fn tensor(rows: &[Vec<f64>]) -> Tensor<2> {
        let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        let shape = [rows.len(), rows[0].len()];
        Tensor::from_data(TensorData::new(flat, shape), &cpu_device())
    }

    fn rows(tensor: Tensor<2>) -> Vec<Vec<f64>> {
        let [_, columns] = tensor.dims();
        let values: Vec<f64> = tensor.into_data().iter::<f32>().map(f64::from).collect();
        values.chunks(columns).map(<[f64]>::to_vec).collect()
    }

    /// Soft k-means refinement matches its definition, round after round, with several
    /// classes and features; no rounds leave the prototypes as they are.
    #[test]
    fn refined_prototypes_follow_soft_k_means() {
        let prototypes = vec![vec![0.0, 1.0], vec![4.0, 0.0], vec![1.0, 5.0]];
        let queries = vec![
            vec![1.0, 1.5],
            vec![3.0, -1.0],
            vec![5.0, 0.5],
            vec![0.5, 4.0],
            vec![2.0, 2.0],
        ];
        for rounds in 0..4 {
            let got = rows(refine_prototypes(
                tensor(&prototypes),
                2,
                tensor(&queries),
                rounds,
            ));
            let want = soft_kmeans(&prototypes, 2.0, &queries, rounds);
            for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                assert!((g - w).abs() < 1e-4, "{rounds} rounds: {got:?} vs {want:?}");
            }
            if rounds == 0 {
                assert_eq!(got, prototypes);
            } else {
                assert_ne!(got, prototypes, "a round moves the prototypes");
            }
        }
    }

    /// A single class has nothing to refine (its spread across classes once came out NaN).
    #[test]
    fn a_single_prototype_is_left_as_it_is() {
        let prototype = vec![vec![1.0, 2.0]];
        let queries = vec![vec![0.0, 0.0], vec![3.0, 1.0]];
        let got = rows(refine_prototypes(
            tensor(&prototype),
            1,
            tensor(&queries),
            2,
        ));
        assert_eq!(got, prototype);
    }

    /// Transductive predictions depend on the query set as a set, not on its order: an
    /// episode with its queries reversed gets the same predictions, reversed.
    #[test]
    fn transductive_predictions_do_not_depend_on_query_order() {
        let device = cpu_device().autodiff();
        device.seed(4);
        let learner = ProtoNet::new(Backbone::Conv4, 1e-3, &device).with_transductive(3);
        let spec = EpisodeSpec {
            way: 3,
            shot: 2,
            query: 3,
        };
        let classes: Vec<usize> = (0..10).collect();
        let episode = easy_pool()
            .sample(&classes, spec, &mut Rng::new(8))
            .unwrap();
        let mut reversed = episode.clone();
        let n = episode.query.len();
        reversed.query = crate::data::ImageSet::default();
        for index in (0..n).rev() {
            reversed.query.extend(episode.query.range(index..index + 1));
        }
        let predict = |e: &Episode| -> Vec<i64> { learner.predict(e).into_data().iter().collect() };
        let mut backwards = predict(&reversed);
        backwards.reverse();
        assert_eq!(predict(&episode), backwards);
    }

    /// `with_transductive` reaches the predictions: with one support image per class and
    /// queries blended from the two classes, most of them nearer the second, refining the
    /// prototypes on the queries moves the boundary between them, and some blends change class.
    #[test]
    fn transductive_rounds_change_predictions() {
        let device = cpu_device().autodiff();
        device.seed(5);
        let inductive = ProtoNet::new(Backbone::Conv4, 1e-3, &device);
        let transductive =
            ProtoNet::from_model(inductive.model.clone(), 1e-3, &device).with_transductive(3);
        let set = crate::bench::synthetic_images(400, 8);
        let image = |class: u8, index: usize| {
            let mut members = (0..set.len()).filter(|&i| set.labels[i] == class);
            set.image(members.nth(index).expect("enough images"))
                .to_vec()
        };
        let mut support = crate::data::ImageSet::default();
        for label in [0u8, 1] {
            support.labels.push(label);
            support.pixels.extend(image(label, 0));
        }
        let mut query = crate::data::ImageSet::default();
        for step in 0..30 {
            // Of the second class: from 0 to 1, denser towards 1.
            let weight = (step as f32 / 29.0).sqrt();
            let (a, b) = (image(0, 1 + step % 3), image(1, 1 + step % 3));
            query.labels.push(1);
            query.pixels.extend(
                a.iter()
                    .zip(&b)
                    .map(|(&a, &b)| (f32::from(a) * (1.0 - weight) + f32::from(b) * weight) as u8),
            );
        }
        let episode = Episode {
            support,
            query,
            classes: vec![0, 1],
        };
        let predict = |learner: &ProtoNet| -> Vec<i64> {
            learner.predict(&episode).into_data().iter().collect()
        };
        assert_ne!(predict(&inductive), predict(&transductive));
    }

    /// A 3-way 2-shot episode with 2 queries a class from the easy pool, drawn with `seed`.
    fn three_way_two_shot(seed: u64) -> Episode {
        let classes: Vec<usize> = (0..10).collect();
        let spec = EpisodeSpec {
            way: 3,
            shot: 2,
            query: 2,
        };
        easy_pool()
            .sample(&classes, spec, &mut Rng::new(seed))
            .unwrap()
    }

    /// Each row of `logits` is minus the squared distances from its query to the prototypes.
    fn assert_minus_squared_distances(
        logits: &[Vec<f64>],
        queries: &[Vec<f64>],
        prototypes: &[Vec<f64>],
    ) {
        assert_eq!(logits.len(), queries.len());
        for (query, row) in queries.iter().zip(logits) {
            for (prototype, &logit) in prototypes.iter().zip(row) {
                let distance: f64 = query
                    .iter()
                    .zip(prototype)
                    .map(|(q, p)| (q - p).powi(2))
                    .sum();
                assert!(
                    (logit + distance).abs() <= 1e-3 * distance.max(1.0),
                    "{logit} against −{distance}"
                );
            }
        }
    }

    /// The mean of the rows of `group`, feature by feature.
    fn mean_row<R: AsRef<[f64]>>(group: &[R]) -> Vec<f64> {
        let n = group.len() as f64;
        (0..group[0].as_ref().len())
            .map(|f| group.iter().map(|row| row.as_ref()[f]).sum::<f64>() / n)
            .collect()
    }

    /// The mean of `features`' rows for each of the three classes of `set`, whose images they
    /// are, grouped by label.
    fn class_means(set: &crate::data::ImageSet, features: &[Vec<f64>]) -> Vec<Vec<f64>> {
        (0..3u8)
            .map(|class| {
                let members: Vec<&Vec<f64>> = (0..set.len())
                    .filter(|&i| set.labels[i] == class)
                    .map(|i| &features[i])
                    .collect();
                mean_row(&members)
            })
            .collect()
    }

    /// Query `index` of `episode` gets the same `logits` (those of the whole query set) when it
    /// is the task's only query: it is classified on its own.
    fn assert_classified_alone(
        learner: &ProtoNet,
        episode: &Episode,
        index: usize,
        logits: &[Vec<f64>],
    ) {
        let mut alone = episode.clone();
        alone.query = episode.query.range(index..index + 1);
        let alone = rows(learner.query_logits(&alone));
        for (a, b) in alone[0].iter().zip(&logits[index]) {
            assert!(
                (a - b).abs() <= 1e-3 * b.abs().max(1.0),
                "{alone:?} against {logits:?}"
            );
        }
    }

    /// With its support set enlarged by shifts, the logits are minus the squared distances to
    /// each class's mean feature over the enlarged set — grouped here by label, not by position
    /// — with the normalisation statistics of that set; the queries are not shifted.
    #[test]
    fn enlarged_support_sets_give_the_class_means_of_the_shifted_copies() {
        let device = cpu_device().autodiff();
        device.seed(6);
        let learner = ProtoNet::new(Backbone::Conv4, 1e-3, &device).with_support_shifts(1);
        let episode = three_way_two_shot(8);
        let enlarged = with_all_shifts(&episode.support, 1);
        assert_eq!(enlarged.len(), 9 * 6);
        let inner = device.clone().inner();
        let (support, queries) = learner.model.valid().embed_task(
            enlarged.to_batch(&inner).images,
            episode.query.to_batch(&inner).images,
        );
        let (support, queries) = (rows(support), rows(queries));
        let prototypes = class_means(&enlarged, &support);
        let logits = rows(learner.query_logits(&episode));
        let plain =
            rows(ProtoNet::from_model(learner.model.clone(), 0.0, &device).query_logits(&episode));
        assert_ne!(logits, plain, "the shifts change the logits");
        assert_minus_squared_distances(&logits, &queries, &prototypes);
    }

    /// With queries averaged over shifts, each query's logits are minus the squared distances
    /// from the mean feature of itself and its eight shifted copies to the plain prototypes
    /// (not the plain rule's logits), and a query gets the same logits when it is the task's
    /// only query: it is classified on its own.
    #[test]
    fn shifted_queries_are_scored_by_the_mean_feature_of_their_copies() {
        let device = cpu_device().autodiff();
        device.seed(7);
        let learner = ProtoNet::new(Backbone::Conv4, 1e-3, &device).with_query_shifts(1);
        let episode = three_way_two_shot(9);
        let inner = device.clone().inner();
        let copies = with_all_shifts(&episode.query, 1);
        let (support, queries) = learner.model.valid().embed_task(
            episode.support.to_batch(&inner).images,
            copies.to_batch(&inner).images,
        );
        let (support, queries) = (rows(support), rows(queries));
        let prototypes: Vec<Vec<f64>> = support.chunks(2).map(mean_row).collect();
        let logits = rows(learner.query_logits(&episode));
        let plain =
            rows(ProtoNet::from_model(learner.model.clone(), 0.0, &device).query_logits(&episode));
        let largest_change = (logits.iter().flatten().zip(plain.iter().flatten()))
            .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
            .fold(0.0, f64::max);
        assert!(largest_change > 1e-2, "the shifts change the logits");
        let queries: Vec<Vec<f64>> = queries.chunks(9).map(mean_row).collect();
        assert_minus_squared_distances(&logits, &queries, &prototypes);
        assert_classified_alone(&learner, &episode, 4, &logits);
    }

    /// With centred unit-length features (here with support and query shifts, as evaluated),
    /// the logits are minus the squared distances from each query's shift-averaged feature,
    /// less the mean feature of the enlarged support set and scaled to unit length, to the
    /// class means of the enlarged support set's features treated alike (so they lie in
    /// [−4, 0], unlike the plain rule's), and a query gets the same logits when it is the
    /// task's only query.
    #[test]
    fn centred_unit_features_score_by_distances_between_unit_vectors() {
        assert_scored_by_centred_unit_vectors(false);
    }

    /// Square-rooted features are taken before the centring: each support copy's feature and
    /// each query's shift-averaged feature, element by element (never negative after a ReLU).
    #[test]
    fn power_features_are_square_rooted_before_they_are_centred() {
        assert_scored_by_centred_unit_vectors(true);
    }

    /// The logits of a Conv-4 ProtoNet with support and query shifts and centred unit-length
    /// features, square-rooted first where `power`, match their definition.
    fn assert_scored_by_centred_unit_vectors(power: bool) {
        let device = cpu_device().autodiff();
        device.seed(10);
        let learner = ProtoNet::new(Backbone::Conv4, 1e-3, &device)
            .with_support_shifts(1)
            .with_query_shifts(1)
            .with_power_features(power)
            .with_centred_unit_features(true);
        let episode = three_way_two_shot(11);
        let inner = device.clone().inner();
        let enlarged = with_all_shifts(&episode.support, 1);
        let (support, queries) = learner.model.valid().embed_task(
            enlarged.to_batch(&inner).images,
            with_all_shifts(&episode.query, 1).to_batch(&inner).images,
        );
        let root = |row: Vec<f64>| -> Vec<f64> {
            match power {
                false => row,
                true => row.iter().map(|v| v.sqrt()).collect(),
            }
        };
        let support: Vec<Vec<f64>> = rows(support).into_iter().map(root).collect();
        let queries: Vec<Vec<f64>> = rows(queries)
            .chunks(9)
            .map(|copies| root(mean_row(copies)))
            .collect();
        let centre = mean_row(&support);
        let unit = |row: &Vec<f64>| -> Vec<f64> {
            let centred: Vec<f64> = row.iter().zip(&centre).map(|(v, c)| v - c).collect();
            let length = centred.iter().map(|v| v * v).sum::<f64>().sqrt();
            centred.iter().map(|v| v / length).collect()
        };
        let support: Vec<Vec<f64>> = support.iter().map(unit).collect();
        let queries: Vec<Vec<f64>> = queries.iter().map(unit).collect();
        let prototypes = class_means(&enlarged, &support);
        let logits = rows(learner.query_logits(&episode));
        assert!(logits.iter().flatten().all(|&l| (-4.0..=1e-4).contains(&l)));
        let plain =
            rows(ProtoNet::from_model(learner.model.clone(), 0.0, &device).query_logits(&episode));
        assert!(plain.iter().flatten().any(|&l| l < -4.0), "{plain:?}");
        assert_minus_squared_distances(&logits, &queries, &prototypes);
        if power {
            let centred_only = ProtoNet::from_model(learner.model.clone(), 0.0, &device)
                .with_support_shifts(1)
                .with_query_shifts(1)
                .with_centred_unit_features(true);
            let without = rows(centred_only.query_logits(&episode));
            let change = logits
                .iter()
                .flatten()
                .zip(without.iter().flatten())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                change > 1e-2,
                "square roots moved the logits by {change} only"
            );
        }
        assert_classified_alone(&learner, &episode, 3, &logits);
    }

    /// A square root keeps its element's sign.
    #[test]
    fn square_roots_keep_the_sign() {
        let roots = rows(square_root(tensor(&[vec![-4.0, 0.0, 9.0]])));
        assert_eq!(roots, vec![vec![-2.0, 0.0, 3.0]]);
    }

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
