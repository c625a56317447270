//! Models: the network architectures, their checkpoints, the catalogue of shipped weights and
//! networks kept in browser storage ([`stored`]) — no training.
//!
//! Two backbones share one interface, [`Network`]: the product's [`ReferenceCnn`] (the MNIST
//! classifier) and [`Conv4`], the standard few-shot backbone with normalisation by the support
//! set's statistics. At their standard sizes both give 64 features; either can be built with
//! other layer sizes ([`Architecture`]). Both end in a linear output layer of any width.
//! Networks carry no backend type: the device their parameters live on (CPU, WebGPU, with or
//! without autodiff) decides where they run.

pub mod catalog;
mod checkpoint;
mod conv4;
mod reference;
pub mod stored;
mod switches;

pub use checkpoint::{
    CheckpointError, from_bytes, load_module, module_to_bytes, to_bytes, to_bytes_async,
};
pub use conv4::Conv4;
use conv4::Statistics;
pub use reference::ReferenceCnn;
pub(crate) use switches::Switchboard;
pub use switches::Switches;

use burn::module::Module;
use burn::nn::Linear;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor};

/// Features every backbone produces at its standard sizes (the input width of the output
/// layer).
pub const FEATURES: usize = 64;

/// Mean and standard deviation of MNIST pixel intensities (in `[0, 1]`), used to centre inputs.
const PIXEL_MEAN: f32 = 0.1307;
const PIXEL_STD: f32 = 0.3081;

/// Images in `[0, 1]` centred and scaled by MNIST's pixel statistics.
fn standardise(images: Tensor<4>) -> Tensor<4> {
    (images - PIXEL_MEAN) / PIXEL_STD
}

/// `images` `[n, …]` split into runs of `size` images (the last one shorter if need be).
fn slices(images: Tensor<4>, size: usize) -> Vec<Tensor<4>> {
    let (n, size) = (images.dims()[0], size.max(1));
    (0..n)
        .step_by(size)
        .map(|from| images.clone().narrow(0, from, size.min(n - from)))
        .collect()
}

/// Which architecture a network has.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
pub enum Backbone {
    /// The reference CNN (one conv layer, a 5,408 → 64 dense layer, no normalisation).
    #[default]
    Reference,
    /// Four conv blocks with support-set normalisation.
    Conv4,
}

impl Backbone {
    /// Name used in the CLI, the catalogue and result files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Conv4 => "conv4",
        }
    }

    /// The layer sizes of the published architecture.
    pub fn standard_sizes(self) -> Sizes {
        match self {
            Self::Reference => Sizes {
                channels: reference::CONV_CHANNELS,
                hidden: reference::HIDDEN,
                spatial: false,
            },
            Self::Conv4 => Sizes {
                channels: conv4::CHANNELS,
                hidden: conv4::CHANNELS,
                spatial: false,
            },
        }
    }
}

/// Layer sizes of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Sizes {
    /// Channels of every convolution.
    pub channels: usize,
    /// Width of the reference CNN's hidden dense layer (its features). Conv-4 has no hidden
    /// dense layer: its features are its channels (9 a channel when spatial), and this is
    /// ignored.
    pub hidden: usize,
    /// Conv-4 only: the last block keeps its 3×3 map instead of pooling it, so there are 9
    /// features a channel (see [`conv4`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spatial: bool,
}

/// A backbone and its layer sizes: what building a network needs besides its output width.
/// Two architectures are equal when they build the same network (the sizes a backbone does not
/// use aside).
#[derive(Debug, Clone, Copy, Eq, serde::Serialize, serde::Deserialize)]
pub struct Architecture {
    /// Which backbone.
    pub backbone: Backbone,
    /// Its layer sizes.
    pub sizes: Sizes,
}

impl PartialEq for Architecture {
    fn eq(&self, other: &Self) -> bool {
        self.backbone == other.backbone && self.canonical().sizes == other.canonical().sizes
    }
}

impl From<Backbone> for Architecture {
    /// The backbone at its standard sizes.
    fn from(backbone: Backbone) -> Self {
        Self {
            backbone,
            sizes: backbone.standard_sizes(),
        }
    }
}

impl Architecture {
    /// The same network with the sizes it ignores set from those it uses (Conv-4's hidden
    /// width is its channels; the reference CNN is never spatial), so that stored copies of
    /// equal architectures are equal.
    pub fn canonical(self) -> Self {
        let mut sizes = self.sizes;
        match self.backbone {
            Backbone::Conv4 => sizes.hidden = sizes.channels,
            Backbone::Reference => sizes.spatial = false,
        }
        Self { sizes, ..self }
    }

    /// Features the backbone produces: the input width of its output layer.
    pub fn features(&self) -> usize {
        match self.backbone {
            Backbone::Reference => self.sizes.hidden,
            Backbone::Conv4 => conv4::features(self.sizes.channels, self.sizes.spatial),
        }
    }

    /// True when the sizes are the backbone's standard ones (as far as the backbone uses them).
    pub fn is_standard(&self) -> bool {
        *self == Self::from(self.backbone)
    }

    /// The conv channels and the hidden width where they differ from the backbone's standard
    /// ones (Conv-4's hidden width never does: it has no hidden layer), and whether the
    /// features are spatial (never at the standard sizes).
    pub fn non_standard(&self) -> (Option<usize>, Option<usize>, bool) {
        let standard = self.backbone.standard_sizes();
        let channels = (self.sizes.channels != standard.channels).then_some(self.sizes.channels);
        let hidden = (self.backbone == Backbone::Reference && self.sizes.hidden != standard.hidden)
            .then_some(self.sizes.hidden);
        (channels, hidden, self.canonical().sizes.spatial)
    }

    /// Its name with the sizes that differ from the standard ones (`conv4`, `conv4 (32
    /// channels)`, `conv4 (3×3 features)`, `reference (16 channels, 128 hidden)`).
    pub fn describe(&self) -> String {
        let (channels, hidden, spatial) = self.non_standard();
        let differs: Vec<String> = [
            channels.map(|n| format!("{n} channels")),
            hidden.map(|n| format!("{n} hidden")),
            spatial.then(|| "3×3 features".to_string()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if differs.is_empty() {
            self.backbone.name().into()
        } else {
            format!("{} ({})", self.backbone.name(), differs.join(", "))
        }
    }

    /// Refuses sizes no network can have.
    pub fn check(&self) -> Result<(), String> {
        let used = [
            ("channels", self.sizes.channels),
            ("hidden", self.canonical().sizes.hidden),
        ];
        match used.iter().find(|(_, n)| !(1..=MAX_WIDTH).contains(n)) {
            Some((name, n)) => Err(format!("{name} = {n} must be 1–{MAX_WIDTH}")),
            None => Ok(()),
        }
    }
}

/// The most channels, or hidden units, a network may have (a spatial Conv-4's output layer
/// reads 9 features a channel).
pub const MAX_WIDTH: usize = 512;

/// A network of either backbone.
// burn's Module derive cannot box a variant; networks are few and long-lived.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    /// The reference CNN.
    Reference(ReferenceCnn),
    /// Conv-4.
    Conv4(Conv4),
}

impl Network {
    /// A freshly initialised network of `architecture` (a backbone at its standard sizes, or
    /// with others) with a `classes`-way output layer on `device` (seed the device first for
    /// reproducibility).
    pub fn new(architecture: impl Into<Architecture>, classes: usize, device: &Device) -> Self {
        let Architecture { backbone, sizes } = architecture.into();
        match backbone {
            Backbone::Reference => Self::Reference(ReferenceCnn::sized(sizes, classes, device)),
            Backbone::Conv4 => {
                Self::Conv4(Conv4::sized(sizes.channels, sizes.spatial, classes, device))
            }
        }
    }

    /// Its backbone.
    pub fn backbone(&self) -> Backbone {
        match self {
            Self::Reference(_) => Backbone::Reference,
            Self::Conv4(_) => Backbone::Conv4,
        }
    }

    /// Its backbone and layer sizes.
    pub fn architecture(&self) -> Architecture {
        let sizes = match self {
            Self::Reference(net) => net.sizes(),
            Self::Conv4(net) => Sizes {
                channels: net.channels(),
                hidden: net.channels(),
                spatial: net.spatial(),
            },
        };
        Architecture {
            backbone: self.backbone(),
            sizes,
        }
    }

    /// The output layer (weight `[features, classes]`, then bias: the last two parameters).
    pub fn output_layer(&self) -> &Linear {
        match self {
            Self::Reference(net) => net.output_layer(),
            Self::Conv4(net) => net.output_layer(),
        }
    }

    /// Width of the output layer.
    pub fn classes(&self) -> usize {
        self.output_layer().weight.dims()[1]
    }

    /// The same network with `output` as its last layer (any number of classes).
    pub fn with_output(self, output: Linear) -> Self {
        match self {
            Self::Reference(net) => Self::Reference(net.with_output(output)),
            Self::Conv4(net) => Self::Conv4(net.with_output(output)),
        }
    }

    /// Features `[n, features]` of images `[n, 1, 28, 28]` in `[0, 1]` that are their own reference
    /// set (a support set, or a training batch): Conv-4 normalises with their statistics.
    pub fn embed(&self, images: Tensor<4>) -> Tensor<2> {
        self.embed_with(images, &mut Switchboard::Free)
    }

    fn embed_with(&self, images: Tensor<4>, switches: &mut Switchboard) -> Tensor<2> {
        match self {
            Self::Reference(net) => net.embed_with(images, switches),
            Self::Conv4(net) => {
                let n = images.dims()[0];
                net.embed_with(images, &mut Statistics::FirstRows(n), switches)
            }
        }
    }

    /// Features of `support` images (their own reference set), and what queries need from
    /// that set besides: Conv-4's normalisation statistics.
    pub fn embed_support(&self, support: Tensor<4>) -> (Tensor<2>, SupportStatistics) {
        let mut recorded = Vec::new();
        let features = match self {
            Self::Reference(net) => net.embed(support),
            Self::Conv4(net) => {
                let statistics = &mut Statistics::Record(&mut recorded);
                net.embed_with(support, statistics, &mut Switchboard::Free)
            }
        };
        (features, SupportStatistics(recorded))
    }

    /// [`Self::embed_support`] a few images at a time (`slice`), so that a page can yield to
    /// the browser between pieces of the pass.
    pub fn support_pass(&self, support: Tensor<4>, slice: usize) -> SupportPass {
        match self {
            Self::Reference(net) => {
                let slices = slices(support, slice);
                SupportPass::Reference {
                    net: Box::new(net.clone()),
                    slices,
                    features: Vec::new(),
                }
            }
            Self::Conv4(net) => SupportPass::Conv4(Box::new(conv4::SlicedPass::new(
                net.clone(),
                support,
                slice,
            ))),
        }
    }

    /// [`Self::classify`] without passing the support set through the network again: its
    /// `statistics` from [`Self::embed_support`] while the network had the layers it has now
    /// (its output layer aside).
    pub fn classify_with(&self, statistics: &SupportStatistics, query: Tensor<4>) -> Tensor<2> {
        let features = match self {
            Self::Reference(net) => net.embed(query),
            Self::Conv4(net) => {
                let given = &mut Statistics::Given(statistics.0.iter());
                net.embed_with(query, given, &mut Switchboard::Free)
            }
        };
        self.output_layer().forward(features)
    }

    /// The switches of its ReLUs and max-pools in [`Self::forward`] over `images`, recorded by
    /// its inference copy (no autodiff graph).
    pub fn switches(&self, images: Tensor<4>) -> Switches {
        let mut board = Switchboard::record();
        self.valid().embed_with(images.inner(), &mut board);
        board.recorded()
    }

    /// [`Self::forward`] over the `images` `switches` were recorded on, with every ReLU and
    /// max-pool choosing as it did then: the network made piecewise-linear-free around the
    /// parameters it had (see [`switches`]).
    pub fn forward_held(&self, images: Tensor<4>, switches: &Switches) -> Tensor<2> {
        let features = self.embed_with(images, &mut Switchboard::hold(switches));
        self.output_layer().forward(features)
    }

    /// Features of a task's support images and of its query images; Conv-4 normalises both
    /// with the support set's statistics, so each query is treated on its own.
    pub fn embed_task(&self, support: Tensor<4>, query: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        match self {
            Self::Reference(net) => (net.embed(support), net.embed(query)),
            Self::Conv4(net) => {
                let (s, q) = (support.dims()[0], query.dims()[0]);
                let features = net.embed(Tensor::cat(vec![support, query], 0), s);
                (features.clone().narrow(0, 0, s), features.narrow(0, s, q))
            }
        }
    }

    /// Class logits `[n, classes]` of images that are their own reference set.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.output_layer().forward(self.embed(images))
    }

    /// Class logits of a task's query images, normalised with its support set's statistics.
    pub fn classify(&self, support: Tensor<4>, query: Tensor<4>) -> Tensor<2> {
        let query_features = match self {
            Self::Reference(net) => net.embed(query),
            Self::Conv4(_) => self.embed_task(support, query).1,
        };
        self.output_layer().forward(query_features)
    }
}

/// [`Network::embed_support`] taken a piece at a time: [`Self::advance`] until it says there
/// is no piece left, then [`Self::finish`].
pub enum SupportPass {
    /// The reference CNN, which has no statistics: its features slice by slice.
    Reference {
        net: Box<ReferenceCnn>,
        slices: Vec<Tensor<4>>,
        features: Vec<Tensor<2>>,
    },
    /// Conv-4, block by block and slice by slice.
    Conv4(Box<conv4::SlicedPass>),
}

impl SupportPass {
    /// Takes the next piece of the pass; false once there is none left.
    pub fn advance(&mut self) -> bool {
        match self {
            Self::Reference {
                net,
                slices,
                features,
            } => match slices.get(features.len()) {
                Some(slice) => {
                    features.push(net.embed(slice.clone()));
                    true
                }
                None => false,
            },
            Self::Conv4(pass) => pass.advance(),
        }
    }

    /// The features and statistics [`Network::embed_support`] gives (taking what is left of
    /// the pass first).
    pub fn finish(mut self) -> (Tensor<2>, SupportStatistics) {
        while self.advance() {}
        match self {
            Self::Reference { features, .. } => {
                (Tensor::cat(features, 0), SupportStatistics(Vec::new()))
            }
            Self::Conv4(pass) => {
                let (features, statistics) = pass.finish();
                (features, SupportStatistics(statistics))
            }
        }
    }
}

/// The normalisation statistics of a task's support set, as Conv-4's blocks took them (none
/// for the reference CNN).
#[derive(Debug, Clone)]
pub struct SupportStatistics(Vec<conv4::ChannelStatistics>);

/// Mean softmax cross-entropy of `logits` `[n, classes]` against class indices `[n]`.
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits, labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use burn::tensor::{Distribution, Tolerance};

    /// Conv-4 whose last block keeps its 3×3 map.
    fn spatial_conv4() -> Architecture {
        let standard = Architecture::from(Backbone::Conv4);
        let sizes = Sizes {
            spatial: true,
            ..standard.sizes
        };
        Architecture { sizes, ..standard }
    }

    /// The reference CNN, Conv-4 and spatial Conv-4.
    fn every_kind_of_network() -> [Architecture; 3] {
        [
            Backbone::Reference.into(),
            Backbone::Conv4.into(),
            spatial_conv4(),
        ]
    }

    /// Predictions for queries do not depend on the other queries: a batch of queries (here
    /// constant images, whose own statistics would be degenerate) gets the logits each query
    /// gets alone, because only the support set's statistics are used.
    #[test]
    fn conv4_queries_use_support_statistics_only() {
        for architecture in [Backbone::Conv4.into(), spatial_conv4()] {
            conv4_queries_use_support_statistics_only_in(architecture);
        }
    }

    fn conv4_queries_use_support_statistics_only_in(architecture: Architecture) {
        let device = cpu_device();
        device.seed(5);
        let net = Network::new(architecture, 5, &device);
        let support = Tensor::<4>::random([5, 1, 28, 28], Distribution::Uniform(0.0, 1.0), &device);
        let constants: Vec<Tensor<4>> = [0.0, 0.3, 1.0]
            .iter()
            .map(|&v| Tensor::full([1, 1, 28, 28], v, &device))
            .collect();
        let batch = net.classify(support.clone(), Tensor::cat(constants.clone(), 0));
        for (i, query) in constants.into_iter().enumerate() {
            let alone = net.classify(support.clone(), query);
            batch
                .clone()
                .narrow(0, i, 1)
                .into_data()
                .assert_approx_eq::<f32>(&alone.into_data(), Tolerance::absolute(1e-4));
        }
        // And the support set does matter: other statistics, other logits.
        let other = net.classify(support * 0.5, Tensor::full([1, 1, 28, 28], 0.3, &device));
        let diff = (other - batch.narrow(0, 1, 1))
            .abs()
            .max()
            .into_scalar::<f32>();
        assert!(diff > 1e-3, "the support statistics had no effect");
    }

    /// Queries classified with a support set's recorded statistics get the logits they get
    /// with the support set itself.
    #[test]
    fn recorded_support_statistics_classify_as_the_support_set_does() {
        let device = cpu_device();
        let support = crate::bench::synthetic_images(10, 2)
            .to_batch(&device)
            .images;
        let query = crate::bench::synthetic_images(3, 3)
            .to_batch(&device)
            .images;
        for architecture in every_kind_of_network() {
            let net = Network::new(architecture, 5, &device);
            let (features, statistics) = net.embed_support(support.clone());
            features.into_data().assert_approx_eq::<f32>(
                &net.embed(support.clone()).into_data(),
                Tolerance::absolute(1e-5),
            );
            net.classify_with(&statistics, query.clone())
                .into_data()
                .assert_approx_eq::<f32>(
                    &net.classify(support.clone(), query.clone()).into_data(),
                    Tolerance::absolute(1e-4),
                );
        }
    }

    /// The support pass taken a few images at a time gives the features and statistics of the
    /// pass in one go (slices that do not divide the set included), in several pieces.
    #[test]
    fn a_support_pass_in_slices_is_the_pass_in_one_go() {
        let device = cpu_device();
        let support = crate::bench::synthetic_images(13, 4)
            .to_batch(&device)
            .images;
        let query = crate::bench::synthetic_images(3, 5)
            .to_batch(&device)
            .images;
        for architecture in every_kind_of_network() {
            let net = Network::new(architecture, 5, &device);
            let (features, statistics) = net.embed_support(support.clone());
            let mut pass = net.support_pass(support.clone(), 4);
            let mut pieces = 0;
            while pass.advance() {
                pieces += 1;
            }
            // Four slices: the reference CNN takes one piece each; Conv-4 convolves, takes the
            // statistics, finishes and moves on, in each of its four blocks.
            let expected = match architecture.backbone {
                Backbone::Reference => 4,
                Backbone::Conv4 => 4 * (4 + 1 + 4 + 1),
            };
            assert_eq!(pieces, expected, "{}", architecture.describe());
            let (sliced_features, sliced_statistics) = pass.finish();
            sliced_features
                .into_data()
                .assert_approx_eq::<f32>(&features.into_data(), Tolerance::absolute(1e-5));
            net.classify_with(&sliced_statistics, query.clone())
                .into_data()
                .assert_approx_eq::<f32>(
                    &net.classify_with(&statistics, query.clone()).into_data(),
                    Tolerance::absolute(1e-5),
                );
        }
    }

    /// Held at the parameters they were recorded at, the switches change nothing: the same
    /// logits, the same gradient. Moved away, the held network is no longer the free one: some
    /// switch would have flipped.
    #[test]
    fn held_switches_give_the_free_forward_pass_where_they_were_recorded() {
        let device = cpu_device().autodiff();
        let images = crate::bench::synthetic_images(6, 1)
            .to_batch(&device)
            .images;
        for backbone in [Backbone::Reference, Backbone::Conv4] {
            let net = Network::new(backbone, 5, &device);
            let switches = net.switches(images.clone());
            let held = net.forward_held(images.clone(), &switches);
            let free = net.forward(images.clone());
            held.clone()
                .into_data()
                .assert_approx_eq::<f32>(&free.clone().into_data(), Tolerance::absolute(1e-6));
            let gradient = |logits: Tensor<2>| {
                crate::meta::params::ParamVec::gradient(&net, logits.powi_scalar(2).sum())
            };
            let (held_grad, free_grad) = (gradient(held), gradient(free));
            let difference = held_grad.sub(&free_grad).norm().into_scalar::<f32>();
            let size = free_grad.norm().into_scalar::<f32>();
            assert!(
                difference <= 1e-5 * size,
                "{backbone:?}: {difference} of {size}"
            );

            let moved = net.clone().map(&mut Shift(0.05));
            let held = moved.forward_held(images.clone(), &switches);
            let free = moved.forward(images.clone());
            let gap = (held - free).abs().max().into_scalar::<f32>();
            assert!(
                gap > 1e-4,
                "{backbone:?}: the held switches followed the parameters"
            );
        }
    }

    /// Adds uniform noise of up to ± the given size to every parameter.
    struct Shift(f32);

    impl burn::module::ModuleMapper for Shift {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            let size = self.0;
            param.map(|t| {
                let noise =
                    Tensor::random(t.shape(), Distribution::Uniform(-1.0, 1.0), &t.device());
                t + noise * size
            })
        }
    }

    #[test]
    fn the_reference_cnn_keeps_its_shape_and_parameter_count() {
        let device = cpu_device();
        let net = Network::new(Backbone::Reference, 10, &device);
        assert_eq!(
            net.forward(Tensor::zeros([3, 1, 28, 28], &device)).dims(),
            [3, 10]
        );
        // conv 32·9+32, dense 5408·64+64, out 64·10+10
        assert_eq!(net.num_params(), 320 + 346_176 + 650);
        assert_eq!(net.classes(), 10);
    }
}
