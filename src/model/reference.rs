//! The reference CNN, the product's classifier: Conv2d(1→32, 3×3) ReLU → MaxPool 2×2 → Flatten
//! → Dense(5408→64) ReLU → Dense(64→classes). No normalisation layer: each image is processed
//! on its own.

use super::switches::Switchboard;
use super::{FEATURES, Sizes, standardise};
use crate::data::IMAGE_SIDE;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use std::convert::Infallible;

/// Channels produced by the convolution at the standard size.
pub const CONV_CHANNELS: usize = 32;
/// Width of the hidden dense layer (the features) at the standard size.
pub const HIDDEN: usize = FEATURES;
/// Positions per channel after conv (26×26) and 2×2 max-pool (13×13).
const POOLED: usize = ((IMAGE_SIDE - 2) / 2) * ((IMAGE_SIDE - 2) / 2);

/// The reference CNN from the product design.
#[derive(Module, Debug)]
pub struct ReferenceCnn {
    conv: Conv2d,
    pool: MaxPool2d,
    hidden: Linear,
    output: Linear,
}

impl ReferenceCnn {
    /// A freshly initialised network of `sizes` with a `classes`-way output layer on `device`
    /// (seed the device first for reproducibility).
    pub fn sized(sizes: Sizes, classes: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([1, sizes.channels], [3, 3]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            hidden: LinearConfig::new(sizes.channels * POOLED, sizes.hidden).init(device),
            output: LinearConfig::new(sizes.hidden, classes).init(device),
        }
    }

    /// Its layer sizes.
    pub fn sizes(&self) -> Sizes {
        let [inputs, hidden] = self.hidden.weight.dims();
        Sizes {
            channels: inputs / POOLED,
            hidden,
            spatial: false,
        }
    }

    /// The output layer.
    pub fn output_layer(&self) -> &Linear {
        &self.output
    }

    /// The same network with `output` as its last layer (any number of classes).
    pub fn with_output(self, output: Linear) -> Self {
        Self { output, ..self }
    }

    /// The hidden features `[n, hidden]` (after ReLU) for images `[n, 1, 28, 28]` in `[0, 1]`.
    pub fn embed(&self, images: Tensor<4>) -> Tensor<2> {
        self.embed_with(images, &mut Switchboard::Free)
    }

    /// [`Self::embed`] with its ReLUs and max-pool choosing as `switches` says.
    pub(super) fn embed_with(&self, images: Tensor<4>, switches: &mut Switchboard) -> Tensor<2> {
        let unmarked = self.embed_marked(images, switches, &mut |_| Ok::<(), Infallible>(()));
        unmarked.unwrap_or_else(|never| match never {})
    }

    /// [`Self::embed_with`], calling `mark` with each layer's name once it has been issued.
    fn embed_marked<E>(
        &self,
        images: Tensor<4>,
        switches: &mut Switchboard,
        mark: &mut impl FnMut(&'static str) -> Result<(), E>,
    ) -> Result<Tensor<2>, E> {
        let x = self.conv.forward(standardise(images));
        mark("standardise and convolve")?;
        let x = switches.relu(x);
        mark("ReLU after the convolution")?;
        let x = switches.max_pool(&self.pool, x);
        mark("max-pool")?;
        let x = self.hidden.forward(x.flatten::<2>(1, 3));
        mark("hidden dense layer")?;
        let features = switches.relu(x);
        mark("ReLU after the dense layer")?;
        Ok(features)
    }

    /// Class logits `[n, classes]` for images `[n, 1, 28, 28]` with intensities in `[0, 1]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.output.forward(self.embed(images))
    }

    /// [`Self::forward`], calling `mark` with each layer's name once it has been issued, so
    /// that the profile ([`crate::bench::profile`]) can time the layers one by one.
    pub fn forward_marked<E>(
        &self,
        images: Tensor<4>,
        mark: &mut impl FnMut(&'static str) -> Result<(), E>,
    ) -> Result<Tensor<2>, E> {
        let features = self.embed_marked(images, &mut Switchboard::Free, mark)?;
        let logits = self.output.forward(features);
        mark("output layer")?;
        Ok(logits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::bench::synthetic_images;
    use crate::data::NUM_CLASSES;
    use crate::model::cross_entropy;
    use burn::module::{ModuleMapper, Param, ParamId};
    use burn::tensor::{Gradients, Int, TensorData};

    /// A 3×3 convolution of `images` `[images, c_in, side, side]` into `c_out` channels,
    /// zero-padded by `pad`, its channels split into `groups` (each output channel sees the
    /// `c_in / groups` input channels of its group).
    #[derive(Debug, Clone, Copy)]
    struct Conv {
        images: usize,
        c_in: usize,
        side: usize,
        c_out: usize,
        pad: usize,
        groups: usize,
    }

    impl Conv {
        /// An ungrouped convolution.
        fn new([images, c_in, side]: [usize; 3], c_out: usize, pad: usize) -> Self {
            let groups = 1;
            Self {
                images,
                c_in,
                side,
                c_out,
                pad,
                groups,
            }
        }

        /// Input channels per group: each output is a sum of `9 ·` this many products.
        fn group_inputs(&self) -> usize {
            self.c_in / self.groups
        }

        /// `x` convolved with `weights` `[c_out, c_in / groups, 3, 3]` and `bias` `[c_out]`,
        /// written out in f64 loops.
        fn by_definition(&self, x: &[f32], weights: &[f32], bias: &[f32]) -> Vec<f32> {
            let Self {
                images,
                c_in,
                side,
                pad,
                ..
            } = *self;
            let (group_inputs, group_outputs) = (self.group_inputs(), self.c_out / self.groups);
            let out = side + 2 * pad - 2;
            let pixel = |image: usize, channel: usize, row: isize, column: isize| {
                let inside =
                    (0..side as isize).contains(&row) && (0..side as isize).contains(&column);
                let plane = (image * c_in + channel) * side * side;
                match inside {
                    true => f64::from(x[plane + row as usize * side + column as usize]),
                    false => 0.0,
                }
            };
            let mut result = Vec::with_capacity(images * bias.len() * out * out);
            for image in 0..images {
                for (output, &b) in bias.iter().enumerate() {
                    let first_input = output / group_outputs * group_inputs;
                    for row in 0..out {
                        for column in 0..out {
                            let mut sum = f64::from(b);
                            for (input, k) in
                                (0..group_inputs).flat_map(|i| (0..9).map(move |k| (i, k)))
                            {
                                let (r, c) = ((row + k / 3) as isize, (column + k % 3) as isize);
                                let (r, c) = (r - pad as isize, c - pad as isize);
                                let value = pixel(image, first_input + input, r, c);
                                let weight = weights[(output * group_inputs + input) * 9 + k];
                                sum += f64::from(weight) * value;
                            }
                            result.push(sum as f32);
                        }
                    }
                }
            }
            result
        }

        /// The CPU backend's result against [`Conv::by_definition`]: the largest difference.
        fn error(&self) -> f32 {
            use burn::tensor::module::conv2d;
            use burn::tensor::ops::ConvOptions;
            let Self {
                images,
                c_in,
                side,
                c_out,
                ..
            } = *self;
            let device = cpu_device();
            let x: Vec<f32> = (0..images * c_in * side * side)
                .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
                .collect();
            let weights: Vec<f32> = (0..c_out * self.group_inputs() * 9)
                .map(|i| ((i * 104_729) % 37) as f32 / 18.0 - 1.0)
                .collect();
            let bias: Vec<f32> = (0..c_out).map(|c| c as f32 / 10.0 - 1.0).collect();
            let data = |values: &[f32], shape: Vec<usize>| TensorData::new(values.to_vec(), shape);
            let got = conv2d(
                Tensor::<4>::from_data(data(&x, vec![images, c_in, side, side]), &device),
                Tensor::from_data(
                    data(&weights, vec![c_out, self.group_inputs(), 3, 3]),
                    &device,
                ),
                Some(Tensor::from_data(data(&bias, vec![c_out]), &device)),
                ConvOptions::new([1, 1], [self.pad; 2], [1, 1], self.groups),
            );
            let out = side + 2 * self.pad - 2;
            assert_eq!(got.dims(), [images, c_out, out, out]);
            let got: Vec<f32> = got.into_data().try_to_vec().expect("floats");
            let want = self.by_definition(&x, &weights, &bias);
            got.iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max)
        }
    }

    /// The CPU backend's convolution of one input channel into many, as both backbones' first
    /// layers do it (vendor/burn-flex sends it down its small-channel path), matches its
    /// definition, without and with padding.
    #[test]
    fn cpu_first_layer_convolution_matches_its_definition() {
        for (channels, pad) in [(32, 0), (64, 1), (8, 2)] {
            let worst = Conv::new([3, 1, 28], channels, pad).error();
            assert!(
                worst < 1e-4,
                "{channels} channels, padding {pad}: off by {worst}"
            );
        }
    }

    /// Many input channels take vendor/burn-flex's im2col and gemm path, which puts several
    /// whole images into one gemm where an image's output is smaller than its tile of 512
    /// positions: Conv-4's 14×14, 7×7 and 3×3 layers, with batches that fill a tile, leave a
    /// partial one, or fit in one, and grouped channels, whose groups each take their own gemm
    /// over the same tile. It matches the definition.
    #[test]
    fn cpu_many_channel_convolution_matches_its_definition() {
        let ungrouped = [(3, 14, 1), (11, 7, 1), (60, 3, 1), (60, 5, 0), (1, 30, 0)]
            .map(|(n, side, pad)| Conv::new([n, 8, side], 16, pad));
        let grouped = [(11, 7, 2), (60, 3, 4)].map(|(n, side, groups)| Conv {
            groups,
            ..Conv::new([n, 8, side], 16, 1)
        });
        for conv in ungrouped.into_iter().chain(grouped) {
            let worst = conv.error();
            // Each output sums 9 · group_inputs products of magnitude ≤ 1 in f32 (measured: under
            // 4e-6 off for 72 products).
            let products = 9.0 * conv.group_inputs() as f32;
            assert!(worst < 1e-6 * products, "{conv:?}: off by {worst}");
        }
    }

    /// Reshaping a tensor whose axes were swapped or sliced copies it; vendor/burn-flex copies
    /// rows of 16 or more contiguous elements run by run (as for the `[C, N, H, W]` output
    /// gradient of a convolution's backward pass) and shorter ones element by element. Both give
    /// the elements in the order the new shape says.
    #[test]
    fn cpu_copies_of_swapped_and_sliced_tensors_keep_their_order() {
        let device = cpu_device();
        for row in [5, 16, 26 * 26] {
            let [n, c] = [3, 4];
            let values: Vec<f32> = (0..n * c * row).map(|i| i as f32).collect();
            let x = Tensor::<3>::from_data(TensorData::new(values, [n, c, row]), &device);
            let copied: Vec<f32> = x
                .swap_dims(0, 1)
                .reshape([c * n * row])
                .into_data()
                .try_to_vec()
                .expect("floats");
            // Element (ni, ci, r) of x is (ni * c + ci) * row + r; the copy walks ci, ni, r.
            let expected: Vec<f32> = (0..c)
                .flat_map(|ci| (0..n).map(move |ni| (ni * c + ci) * row))
                .flat_map(|start| (start..start + row).map(|i| i as f32))
                .collect();
            assert_eq!(copied, expected, "rows of {row}");
        }
        // Columns 2..22 of a [6, 40] matrix: contiguous rows of 20, 40 apart.
        let values: Vec<f32> = (0..6 * 40).map(|i| i as f32).collect();
        let sliced: Vec<f32> = Tensor::<2>::from_data(TensorData::new(values, [6, 40]), &device)
            .slice([0..6, 2..22])
            .reshape([120])
            .into_data()
            .try_to_vec()
            .expect("floats");
        let expected: Vec<f32> = (0..6)
            .flat_map(|r| (2..22).map(move |col| (r * 40 + col) as f32))
            .collect();
        assert_eq!(sliced, expected);
    }

    /// Adds `epsilon` to element `flat_index` of the parameter `id`.
    struct Nudge {
        id: ParamId,
        flat_index: usize,
        epsilon: f32,
    }

    impl ModuleMapper for Nudge {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if param.id != self.id {
                return param;
            }
            let (index, epsilon) = (self.flat_index, self.epsilon);
            param.map(|t| {
                let shape = t.shape();
                let mut delta = vec![0.0f32; shape.num_elements()];
                delta[index] = epsilon;
                let delta = Tensor::from_data(TensorData::new(delta, shape), &t.device());
                t + delta
            })
        }
    }

    /// A parameter's id and its gradient, flattened.
    fn gradient<const D: usize>(
        param: &Param<Tensor<D>>,
        grads: &Gradients,
    ) -> (ParamId, Vec<f32>) {
        let grad = param
            .val()
            .grad(grads)
            .expect("the parameter takes part in the loss");
        (
            param.id,
            grad.into_data().try_to_vec().expect("float gradients"),
        )
    }

    fn loss(model: &ReferenceCnn, images: &Tensor<4>, labels: &Tensor<1, Int>) -> Tensor<1> {
        cross_entropy(model.forward(images.clone()), labels.clone())
    }

    #[test]
    fn gradients_match_finite_differences() {
        let device = cpu_device().autodiff();
        device.seed(11);
        let sizes = crate::model::Backbone::Reference.standard_sizes();
        let model = ReferenceCnn::sized(sizes, NUM_CLASSES, &device);
        let batch = synthetic_images(6, 4).batch(&[0, 1, 2, 3, 4, 5], &device);
        let grads = loss(&model, &batch.images, &batch.labels).backward();

        let plain = model.valid();
        let plain_images = batch.images.clone().inner();
        let plain_labels = batch.labels.clone().inner();
        let loss_at = |id: ParamId, flat_index: usize, epsilon: f32| {
            let nudged = plain.clone().map(&mut Nudge {
                id,
                flat_index,
                epsilon,
            });
            f64::from(loss(&nudged, &plain_images, &plain_labels).into_scalar::<f32>())
        };
        let output_bias = model
            .output
            .bias
            .as_ref()
            .expect("dense layers have a bias");
        let params = [
            ("conv.weight", gradient(&model.conv.weight, &grads)),
            ("hidden.weight", gradient(&model.hidden.weight, &grads)),
            ("output.weight", gradient(&model.output.weight, &grads)),
            ("output.bias", gradient(output_bias, &grads)),
        ];
        for (name, (id, analytic)) in params {
            // The three largest components: well above the f32 rounding noise of the loss.
            let mut order: Vec<usize> = (0..analytic.len()).collect();
            order.sort_by(|&a, &b| analytic[b].abs().total_cmp(&analytic[a].abs()));
            for &i in &order[..3] {
                let h = 1e-3;
                let numeric = (loss_at(id, i, h) - loss_at(id, i, -h)) / (2.0 * f64::from(h));
                let exact = f64::from(analytic[i]);
                let error = (numeric - exact).abs() / exact.abs().max(1e-3);
                assert!(
                    error < 0.05,
                    "{name}[{i}]: autodiff {exact}, finite difference {numeric}"
                );
            }
        }
    }

    /// Marking the layers for the profile changes nothing about the logits, and a mark that
    /// fails stops the pass there.
    #[test]
    fn a_marked_forward_pass_gives_the_same_logits() {
        let device = cpu_device();
        device.seed(5);
        let sizes = crate::model::Backbone::Reference.standard_sizes();
        let model = ReferenceCnn::sized(sizes, NUM_CLASSES, &device);
        let images = synthetic_images(4, 9).batch(&[0, 1, 2, 3], &device).images;
        let mut marks = Vec::new();
        let marked = model.forward_marked(images.clone(), &mut |layer| {
            marks.push(layer);
            Ok::<(), ()>(())
        });
        assert_eq!(
            marked.unwrap().into_data(),
            model.forward(images.clone()).into_data()
        );
        assert_eq!(marks.len(), 6);
        assert_eq!(marks.last(), Some(&"output layer"));
        let stopped = model.forward_marked(images, &mut |layer| match layer {
            "max-pool" => Err(layer),
            _ => Ok(()),
        });
        assert_eq!(stopped.err(), Some("max-pool"));
    }
}
