//! Conv-4, the standard few-shot backbone (Vinyals et al., 2016; MAML; Prototypical Networks):
//! four blocks of [3×3 conv, 64 channels → normalisation → ReLU → 2×2 max-pool], which take a
//! 28×28 image to 64 features (28 → 14 → 7 → 3 → 1), then a linear output layer.
//! Optionally *spatial*: the last block does not pool, so the features are its whole 3×3 map
//! (576 at 64 channels) and keep where in the image each stroke feature was found — as Conv-4's
//! 5×5 map does on 84×84 images (ProtoNets' 1,600 features on miniImageNet).
//!
//! **Normalisation by the statistics of a reference set.** Each block normalises every channel
//! with the mean and variance of that channel over the *reference* images only — the support
//! set of a task, or the training batch itself — and applies them to every image it is given,
//! then a learned per-channel scale and shift (adapted in the inner loop like any weight).
//! Query images therefore never influence one another's predictions: a query is classified the
//! same alone or in a batch (MetaBN, Bronskill et al., 2020, "TaskNorm"). Batch norm with
//! running averages would instead carry statistics across tasks, and transductive batch norm
//! (statistics of the query batch) lets queries leak into each other's predictions.

use super::switches::Switchboard;
use super::{slices, standardise};
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

/// Channels of every block at the standard size, and so the number of features unless spatial.
pub const CHANNELS: usize = 64;
/// Blocks of the backbone.
const BLOCKS: usize = 4;
/// Positions of the last block's unpooled map (3×3 on 28×28 images): spatial features per channel.
pub const SPATIAL_POSITIONS: usize = 9;
/// Added to the variance before the square root.
const EPSILON: f64 = 1e-5;

/// Per-channel normalisation with the statistics of the first `reference` images of a batch.
#[derive(Module, Debug)]
pub struct SupportNorm {
    scale: Param<Tensor<1>>,
    shift: Param<Tensor<1>>,
}

impl SupportNorm {
    fn new(channels: usize, device: &Device) -> Self {
        Self {
            scale: Param::from_tensor(Tensor::ones([channels], device)),
            shift: Param::from_tensor(Tensor::zeros([channels], device)),
        }
    }

    /// `x` `[n, c, h, w]` normalised per channel with the mean and variance `statistics` says.
    fn forward(&self, x: Tensor<4>, statistics: &mut Statistics) -> Tensor<4> {
        let [_, channels, _, _] = x.dims();
        let ChannelStatistics { mean, variance } = statistics.next(&x);
        let scale = self.scale.val().reshape([1, channels, 1, 1]);
        let shift = self.shift.val().reshape([1, channels, 1, 1]);
        (x - mean) / (variance + EPSILON).sqrt() * scale + shift
    }
}

/// Features of a Conv-4 of `channels` per block: one a channel, or 9 when `spatial`.
pub fn features(channels: usize, spatial: bool) -> usize {
    channels * if spatial { SPATIAL_POSITIONS } else { 1 }
}

/// One block's per-channel mean and variance over a reference set, `[1, c, 1, 1]` each.
#[derive(Debug, Clone)]
pub struct ChannelStatistics {
    mean: Tensor<4>,
    variance: Tensor<4>,
}

impl ChannelStatistics {
    /// The statistics of `x` `[n, c, h, w]`.
    fn of(x: Tensor<4>) -> Self {
        let mean = x.clone().mean_dims(&[0, 2, 3]);
        let variance = (x - mean.clone()).powi_scalar(2).mean_dims(&[0, 2, 3]);
        Self { mean, variance }
    }

    /// The statistics of several batches of images taken together, from each one's statistics
    /// and image count: the same as [`Self::of`] on the batches joined (Chan et al.'s pairwise
    /// combination), without joining them.
    fn combined(parts: &[(Self, usize)]) -> Self {
        let total = parts.iter().map(|(_, n)| n).sum::<usize>().max(1) as f64;
        let weighted_sum = |term: &dyn Fn(&Self) -> Tensor<4>| {
            (parts.iter())
                .map(|(part, n)| term(part) * (*n as f64 / total))
                .reduce(|a, b| a + b)
                .expect("statistics of at least one batch")
        };
        let mean = weighted_sum(&|part| part.mean.clone());
        let spread = |part: &Self| (part.mean.clone() - mean.clone()).powi_scalar(2);
        let variance = weighted_sum(&|part| part.variance.clone() + spread(part));
        Self { mean, variance }
    }
}

/// Where each block's normalisation statistics come from.
pub enum Statistics<'a> {
    /// The first this many images of the batch.
    FirstRows(usize),
    /// The whole batch, each block's statistics written down.
    Record(&'a mut Vec<ChannelStatistics>),
    /// As written down, in order.
    Given(std::slice::Iter<'a, ChannelStatistics>),
}

impl Statistics<'_> {
    /// The next block's statistics, for its input `x`.
    fn next(&mut self, x: &Tensor<4>) -> ChannelStatistics {
        match self {
            Self::FirstRows(reference) => ChannelStatistics::of(x.clone().narrow(0, 0, *reference)),
            Self::Record(recorded) => {
                let statistics = ChannelStatistics::of(x.clone());
                recorded.push(statistics.clone());
                statistics
            }
            Self::Given(given) => given.next().cloned().expect("statistics for every block"),
        }
    }
}

/// One block: conv → normalisation → ReLU → max-pool (the pool left out where asked).
#[derive(Module, Debug)]
struct Block {
    conv: Conv2d,
    norm: SupportNorm,
    pool: MaxPool2d,
}

impl Block {
    fn new(in_channels: usize, channels: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([in_channels, channels], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device),
            norm: SupportNorm::new(channels, device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
        }
    }

    fn forward(
        &self,
        x: Tensor<4>,
        pooled: bool,
        statistics: &mut Statistics,
        switches: &mut Switchboard,
    ) -> Tensor<4> {
        self.after_conv(self.conv.forward(x), pooled, statistics, switches)
    }

    /// The block after its convolution: normalisation, ReLU, then max-pool when `pooled`.
    fn after_conv(
        &self,
        convolved: Tensor<4>,
        pooled: bool,
        statistics: &mut Statistics,
        switches: &mut Switchboard,
    ) -> Tensor<4> {
        let x = switches.relu(self.norm.forward(convolved, statistics));
        if pooled {
            switches.max_pool(&self.pool, x)
        } else {
            x
        }
    }
}

/// Conv-4's support pass ([`Conv4::embed_with`], statistics recorded) a few images at a time:
/// each block convolves slice by slice (with each slice's statistics), combines those into the
/// statistics over every slice's output, then normalises, rectifies and pools slice by slice. The same features and statistics as the
/// pass in one go; each call of [`Self::advance`] is a small piece of it.
pub struct SlicedPass {
    net: Conv4,
    /// The block under way (all done at `BLOCKS`).
    block: usize,
    /// Its inputs, slice by slice.
    inputs: Vec<Tensor<4>>,
    /// Its convolution outputs so far; then, once its statistics are taken, its outputs so far.
    outputs: Vec<Tensor<4>>,
    /// The statistics and image count of each convolution output so far.
    parts: Vec<(ChannelStatistics, usize)>,
    /// Statistics of the blocks so far (the block under way's, once every slice is convolved).
    recorded: Vec<ChannelStatistics>,
}

impl SlicedPass {
    /// A pass of `net` over `images` `[n, 1, 28, 28]`, `slice` images at a time.
    pub fn new(net: Conv4, images: Tensor<4>, slice: usize) -> Self {
        let inputs = slices(images, slice).into_iter().map(standardise).collect();
        Self {
            net,
            block: 0,
            inputs,
            outputs: Vec::new(),
            parts: Vec::new(),
            recorded: Vec::new(),
        }
    }

    /// Takes the next piece of the pass; false once there is none left.
    pub fn advance(&mut self) -> bool {
        let Some(block) = self.net.blocks.get(self.block) else {
            return false;
        };
        let convolving = self.recorded.len() == self.block;
        let done = self.outputs.len();
        if convolving && done < self.inputs.len() {
            let convolved = block.conv.forward(self.inputs[done].clone());
            let images = convolved.dims()[0];
            self.parts
                .push((ChannelStatistics::of(convolved.clone()), images));
            self.outputs.push(convolved);
        } else if convolving {
            let parts = std::mem::take(&mut self.parts);
            self.recorded.push(ChannelStatistics::combined(&parts));
            self.inputs = std::mem::take(&mut self.outputs);
        } else if done < self.inputs.len() {
            let given = &mut Statistics::Given(self.recorded[self.block..].iter());
            let pooled = self.net.pools(self.block);
            let x = block.after_conv(
                self.inputs[done].clone(),
                pooled,
                given,
                &mut Switchboard::Free,
            );
            self.outputs.push(x);
        } else {
            self.inputs = std::mem::take(&mut self.outputs);
            self.block += 1;
        }
        true
    }

    /// The features `[n, features]` and each block's statistics, once [`Self::advance`] says
    /// the pass is done (taking what is left of it first otherwise).
    pub fn finish(mut self) -> (Tensor<2>, Vec<ChannelStatistics>) {
        while self.advance() {}
        let features = Tensor::cat(self.inputs, 0).flatten::<2>(1, 3);
        (features, self.recorded)
    }
}

/// The Conv-4 backbone with a linear output layer.
#[derive(Module, Debug)]
pub struct Conv4 {
    blocks: Vec<Block>,
    output: Linear,
}

impl Conv4 {
    /// A freshly initialised network of `channels` per block, spatial or not, with a
    /// `classes`-way output layer.
    pub fn sized(channels: usize, spatial: bool, classes: usize, device: &Device) -> Self {
        Self {
            blocks: (0..BLOCKS)
                .map(|i| Block::new(if i == 0 { 1 } else { channels }, channels, device))
                .collect(),
            output: LinearConfig::new(features(channels, spatial), classes).init(device),
        }
    }

    /// Channels of every block. Read from the output layer, which this initialises if it is
    /// still lazy, as it always has: seeded runs keep drawing their weights in the same order.
    pub fn channels(&self) -> usize {
        let features = self.output.weight.dims()[0];
        features / if self.spatial() { SPATIAL_POSITIONS } else { 1 }
    }

    /// True when the last block keeps its 3×3 map: the output layer reads 9 features a channel.
    /// Shapes read without initialising a lazy parameter: the forward pass asks this, and an
    /// initialisation out of turn would change which random weights a seed gives.
    pub fn spatial(&self) -> bool {
        let channels = self.blocks[0].conv.weight.lazy_shape()[0];
        self.output.weight.lazy_shape()[0] == channels * SPATIAL_POSITIONS
    }

    /// True when block `index` ends in its max-pool (all but a spatial network's last).
    fn pools(&self, index: usize) -> bool {
        !(self.spatial() && index == BLOCKS - 1)
    }

    /// The output layer.
    pub fn output_layer(&self) -> &Linear {
        &self.output
    }

    /// The same network with `output` as its last layer.
    pub fn with_output(self, output: Linear) -> Self {
        Self { output, ..self }
    }

    /// Features `[n, channels]` (`[n, 9 · channels]` when spatial) of `images`
    /// `[n, 1, 28, 28]`, every block normalised with the statistics of the first `reference`
    /// images.
    pub fn embed(&self, images: Tensor<4>, reference: usize) -> Tensor<2> {
        let statistics = &mut Statistics::FirstRows(reference);
        self.embed_with(images, statistics, &mut Switchboard::Free)
    }

    /// [`Self::embed`] with the statistics and the ReLU and max-pool choices given.
    pub(super) fn embed_with(
        &self,
        images: Tensor<4>,
        statistics: &mut Statistics,
        switches: &mut Switchboard,
    ) -> Tensor<2> {
        let x = (self.blocks.iter().enumerate()).fold(standardise(images), |x, (i, block)| {
            block.forward(x, self.pools(i), statistics, switches)
        });
        x.flatten::<2>(1, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;

    #[test]
    fn shapes_and_parameter_count() {
        let device = cpu_device();
        let model = Conv4::sized(CHANNELS, false, 5, &device);
        let features = model.embed(Tensor::zeros([3, 1, 28, 28], &device), 3);
        assert_eq!(features.dims(), [3, CHANNELS]);
        assert_eq!(model.channels(), CHANNELS);
        // conv 1→64: 576 + 64; three convs 64→64: 36,864 + 64 each; four norms: 128 each;
        // output 64·5 + 5.
        let convs = 640 + 3 * 36_928;
        assert_eq!(model.num_params(), convs + 4 * 128 + 325);
        // At 16 channels: conv 1→16: 144 + 16; three 16→16: 2,304 + 16; norms 32; out 16·5+5.
        let narrow = Conv4::sized(16, false, 5, &device);
        let features = narrow.embed(Tensor::zeros([2, 1, 28, 28], &device), 2);
        assert_eq!(features.dims(), [2, 16]);
        assert_eq!(narrow.num_params(), 160 + 3 * 2_320 + 4 * 32 + 85);
        // Spatial: the same blocks, a 3×3 map of features, an output layer of 576·5 + 5.
        let spatial = Conv4::sized(CHANNELS, true, 5, &device);
        let features = spatial.embed(Tensor::zeros([3, 1, 28, 28], &device), 3);
        assert_eq!(features.dims(), [3, CHANNELS * SPATIAL_POSITIONS]);
        assert_eq!((spatial.channels(), spatial.spatial()), (CHANNELS, true));
        assert!(!model.spatial());
        assert_eq!(spatial.num_params(), convs + 4 * 128 + 576 * 5 + 5);
    }
}
