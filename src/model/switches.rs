//! The switches of a network's piecewise-linear layers — which inputs each ReLU passes, which
//! input each max-pool window picks — recorded in one forward pass and held in others.
//!
//! A ReLU network's gradient jumps wherever a switch flips, and with hundreds of thousands of
//! them some flip within any probe a float can resolve: a central difference of gradients
//! across such a kink measures the jump divided by the probe, not the curvature. With the
//! switches held as they are at a point θ, the loss is smooth around θ and has the gradient and
//! Hessian the free loss has at θ (almost everywhere; the Hessian autodiff's double backward
//! gives). Second-order MAML takes its Hessian-vector products on that loss
//! ([`crate::meta::unroll`]), for the few-shot backbones and for the meta-RL policy.

use burn::nn::pool::MaxPool2d;
use burn::tensor::module::max_pool2d_with_indices;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Int, Tensor};

/// One recorded choice.
#[derive(Debug, Clone)]
pub(crate) enum Switch {
    /// A ReLU's mask, 1 where its input was positive, as `[n, rest]`.
    Relu(Tensor<2>),
    /// A max-pool's choices: the flat position `row · width + column` of each window's
    /// maximum, `[n, channels, rows out, columns out]`.
    Pool(Tensor<4, Int>),
}

/// The switches of one forward pass, in the order the network met them (see
/// [`super::Network::switches`]).
#[derive(Debug, Clone)]
pub struct Switches(Vec<Switch>);

/// How the ReLUs and max-pools of a forward pass choose: a network's layers call it in order.
pub(crate) enum Switchboard {
    /// By their inputs, as usual.
    Free,
    /// By their inputs, writing down each choice.
    Record(Vec<Switch>),
    /// As written down, in order.
    Hold(std::vec::IntoIter<Switch>),
}

impl Switchboard {
    /// A pass that writes its switches down.
    pub fn record() -> Self {
        Self::Record(Vec::new())
    }

    /// A pass that holds `switches`.
    pub fn hold(switches: &Switches) -> Self {
        Self::Hold(switches.0.clone().into_iter())
    }

    /// What a recording pass wrote down.
    pub fn recorded(self) -> Switches {
        match self {
            Self::Record(switches) => Switches(switches),
            _ => Switches(Vec::new()),
        }
    }

    /// The ReLU of `x`.
    pub fn relu<const D: usize>(&mut self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Free => burn::tensor::activation::relu(x),
            Self::Record(switches) => {
                let mask = x.clone().greater_elem(0.0).float();
                let n = x.dims()[0];
                let rest = x.shape().num_elements() / n.max(1);
                switches.push(Switch::Relu(mask.clone().reshape([n, rest])));
                x * mask
            }
            Self::Hold(switches) => match switches.next() {
                Some(Switch::Relu(mask)) => {
                    let dims = x.dims();
                    x * mask.reshape(dims)
                }
                _ => panic!("the switches were recorded by another network"),
            },
        }
    }

    /// `layer` (no padding) applied to `x` `[n, channels, rows, columns]`.
    pub fn max_pool(&mut self, layer: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::Free => layer.forward(x),
            Self::Record(switches) => {
                let options = MaxPoolOptions::new(layer.kernel_size)
                    .with_stride(layer.stride)
                    .with_dilation(layer.dilation)
                    .with_ceil_mode(layer.ceil_mode);
                let (pooled, positions) = max_pool2d_with_indices(x, options);
                switches.push(Switch::Pool(positions));
                pooled
            }
            Self::Hold(switches) => match switches.next() {
                Some(Switch::Pool(positions)) => {
                    let [n, channels, rows, columns] = x.dims();
                    let [_, _, rows_out, columns_out] = positions.dims();
                    let positions = positions.reshape([n, channels, rows_out * columns_out]);
                    x.reshape([n, channels, rows * columns])
                        .gather(2, positions)
                        .reshape([n, channels, rows_out, columns_out])
                }
                _ => panic!("the switches were recorded by another network"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use burn::tensor::TensorData;

    /// 2×2 max-pooling by its definition: each window's value and flat position in its plane,
    /// the first maximum in scan order, or the last NaN.
    fn pool_by_definition(x: &[f32], rows: usize, columns: usize) -> (Vec<f32>, Vec<i64>) {
        let (mut values, mut positions) = (Vec::new(), Vec::new());
        for plane in x.chunks(rows * columns) {
            for r in 0..rows / 2 {
                for c in 0..columns / 2 {
                    let window = [0, 1, columns, columns + 1].map(|o| 2 * r * columns + 2 * c + o);
                    let best = window.into_iter().reduce(|best, i| {
                        if plane[i] > plane[best] || plane[i].is_nan() {
                            i
                        } else {
                            best
                        }
                    });
                    let best = best.expect("four positions");
                    values.push(plane[best]);
                    positions.push(best as i64);
                }
            }
        }
        (values, positions)
    }

    /// The CPU backend's pooling (vendor/burn-flex has its own 2×2 path) on planes with ties,
    /// zeros (as after a ReLU), NaNs and odd sizes.
    #[test]
    fn cpu_max_pool_matches_its_definition() {
        let [n, channels, rows, columns] = [2, 3, 7, 9];
        let x: Vec<f32> = (0..n * channels * rows * columns)
            .map(|i| match (i * 7919) % 23 {
                // Neighbours differ by 7 here: some windows hold two NaNs (the last one wins).
                0 | 7 => f32::NAN,
                k if k < 9 => 0.0,
                k => (k % 5) as f32 - 1.0,
            })
            .collect();
        let device = cpu_device();
        let input = Tensor::<4>::from_data(
            TensorData::new(x.clone(), [n, channels, rows, columns]),
            &device,
        );
        let (pooled, positions) = max_pool2d_with_indices(input, MaxPoolOptions::new([2, 2]));
        assert_eq!(pooled.dims(), [n, channels, rows / 2, columns / 2]);
        let pooled: Vec<f32> = pooled.into_data().try_to_vec().expect("floats");
        let positions: Vec<i64> = positions
            .into_data()
            .convert::<i64>()
            .try_to_vec()
            .expect("integers");
        let (values, expected) = pool_by_definition(&x, rows, columns);
        assert_eq!(positions, expected);
        let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
        assert!(pooled.iter().zip(&values).all(|(&a, &b)| same(a, b)));
        assert!(values.iter().any(|v| v.is_nan()), "the planes hold NaNs");
    }

    /// A plane one row high pools to no rows (the 2×2 path once panicked on it).
    #[test]
    fn cpu_max_pool_of_a_single_row_is_empty() {
        let input = Tensor::<4>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 1, 4]),
            &cpu_device(),
        );
        let (pooled, positions) = max_pool2d_with_indices(input, MaxPoolOptions::new([2, 2]));
        assert_eq!(pooled.dims(), [1, 1, 0, 2]);
        assert_eq!(positions.dims(), [1, 1, 0, 2]);
    }
}
