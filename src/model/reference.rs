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
        let x = switches.relu(self.conv.forward(standardise(images)));
        let x = switches.max_pool(&self.pool, x);
        switches.relu(self.hidden.forward(x.flatten::<2>(1, 3)))
    }

    /// Class logits `[n, classes]` for images `[n, 1, 28, 28]` with intensities in `[0, 1]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.output.forward(self.embed(images))
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

    /// `x` `[n, 1, side, side]` convolved with `weights` `[c, 1, 3, 3]` and `bias` `[c]`,
    /// zero-padded by `pad`, written out in f64 loops.
    fn convolve_by_definition(
        x: &[f32],
        n: usize,
        side: usize,
        weights: &[f32],
        bias: &[f32],
        pad: usize,
    ) -> Vec<f32> {
        let channels = bias.len();
        let out = side + 2 * pad - 2;
        let pixel = |image: usize, row: isize, column: isize| {
            let inside = (0..side as isize).contains(&row) && (0..side as isize).contains(&column);
            match inside {
                true => f64::from(x[image * side * side + row as usize * side + column as usize]),
                false => 0.0,
            }
        };
        let mut result = Vec::with_capacity(n * channels * out * out);
        for image in 0..n {
            for channel in 0..channels {
                for row in 0..out {
                    for column in 0..out {
                        let mut sum = f64::from(bias[channel]);
                        for k in 0..9 {
                            let (r, c) = ((row + k / 3) as isize, (column + k % 3) as isize);
                            let value = pixel(image, r - pad as isize, c - pad as isize);
                            sum += f64::from(weights[channel * 9 + k]) * value;
                        }
                        result.push(sum as f32);
                    }
                }
            }
        }
        result
    }

    /// The CPU backend's convolution of one input channel into many, as both backbones' first
    /// layers do it (vendor/burn-flex sends it down its small-channel path), matches its
    /// definition, without and with padding.
    #[test]
    fn cpu_first_layer_convolution_matches_its_definition() {
        use burn::tensor::module::conv2d;
        use burn::tensor::ops::ConvOptions;
        let device = cpu_device();
        let [n, side] = [3, 28];
        let x: Vec<f32> = (0..n * side * side)
            .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
            .collect();
        for (channels, pad) in [(32, 0), (64, 1)] {
            let weights: Vec<f32> = (0..channels * 9)
                .map(|i| ((i * 104_729) % 37) as f32 / 18.0 - 1.0)
                .collect();
            let bias: Vec<f32> = (0..channels).map(|c| c as f32 / 10.0 - 1.0).collect();
            let got = conv2d(
                Tensor::<4>::from_data(TensorData::new(x.clone(), [n, 1, side, side]), &device),
                Tensor::from_data(
                    TensorData::new(weights.clone(), [channels, 1, 3, 3]),
                    &device,
                ),
                Some(Tensor::from_data(
                    TensorData::new(bias.clone(), [channels]),
                    &device,
                )),
                ConvOptions::new([1, 1], [pad, pad], [1, 1], 1),
            );
            let out = side + 2 * pad - 2;
            assert_eq!(got.dims(), [n, channels, out, out]);
            let got: Vec<f32> = got.into_data().try_to_vec().expect("floats");
            let want = convolve_by_definition(&x, n, side, &weights, &bias, pad);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst < 1e-4,
                "{channels} channels, padding {pad}: off by {worst}"
            );
        }
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
}
