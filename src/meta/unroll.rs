//! Differentiating through the inner loop: exact-in-the-limit MAML and Meta-SGD gradients.
//!
//! The inner loop takes `S` steps θᵢ₊₁ = θᵢ − α ⊙ ∇L_s(θᵢ) from the initialisation θ₀, with one
//! learning rate α for every parameter (MAML) or one per parameter (Meta-SGD). The
//! meta-gradient of the query loss L_q(θ_S) then runs backwards through the steps:
//! vₛ = ∇L_q(θ_S), vᵢ = vᵢ₊₁ − Hᵢ (α ⊙ vᵢ₊₁) with Hᵢ the support-loss Hessian at θᵢ, and
//! ∂L_q/∂θ₀ = v₀, ∂L_q/∂α = −Σᵢ ∇L_s(θᵢ) ⊙ vᵢ₊₁. burn differentiates only once, so each
//! Hessian-vector product is a central difference of two gradients,
//! H v ≈ (∇L_s(θ + εv̂) − ∇L_s(θ − εv̂)) · ‖v‖ / 2ε with v̂ = v / ‖v‖, which is exact for
//! quadratic losses and converges as ε → 0 for smooth ones. A ReLU network's support loss is
//! not smooth: its gradient jumps where a ReLU or max-pool switch flips, and some of its many
//! switches flip within any probe f32 resolves, so each product is taken on the support loss
//! with the switches held as they are at θᵢ ([`SupportLoss::held_at`],
//! [`crate::model::Switches`]) — the Hessian autodiff's double backward would give. First-order
//! mode skips the products (Hᵢ = 0).

use super::params::ParamVec;
use burn::module::Module;
use burn::tensor::Tensor;

/// Length of the finite-difference probe in parameter space.
pub const FD_EPSILON: f64 = 1e-3;

/// The inner loop's learning rate.
#[derive(Debug, Clone)]
pub enum InnerRate {
    /// The same rate for every parameter (MAML).
    Shared(f64),
    /// One rate per parameter (Meta-SGD), shaped like the network's parameters.
    PerParameter(ParamVec),
}

impl InnerRate {
    /// α ⊙ `v`.
    fn times(&self, v: &ParamVec) -> ParamVec {
        match self {
            Self::Shared(rate) => v.scale(*rate),
            Self::PerParameter(rates) => rates.mul(v),
        }
    }
}

/// How to unroll the inner loop.
#[derive(Debug, Clone)]
pub struct Unroll {
    /// Inner SGD steps S.
    pub steps: usize,
    /// Inner learning rate(s) α.
    pub rate: InnerRate,
    /// Keep the Hessian terms (second order) or drop them (first order).
    pub second_order: bool,
}

/// Meta-gradients of one task's query loss.
#[derive(Debug, Clone)]
pub struct MetaGradient {
    /// With respect to the initialisation θ₀.
    pub init: ParamVec,
    /// With respect to the per-parameter learning rates α (zero-free only for Meta-SGD).
    pub rates: ParamVec,
    /// The query loss after adaptation, L_q(θ_S).
    pub query_loss: Tensor<1>,
}

/// The loss the inner loop descends.
pub trait SupportLoss<M> {
    /// The loss of `model`.
    fn loss(&self, model: &M) -> Tensor<1>;

    /// The loss near `origin`, made smooth there with the loss's gradient and Hessian at
    /// `origin`: for a network, every ReLU and max-pool held as it switches at `origin`. A
    /// smooth loss is its own.
    fn held_at(&self, origin: &M) -> impl Fn(&M) -> Tensor<1>;
}

/// A smooth loss, given as a function.
impl<M, F: Fn(&M) -> Tensor<1>> SupportLoss<M> for F {
    fn loss(&self, model: &M) -> Tensor<1> {
        self(model)
    }

    fn held_at(&self, _origin: &M) -> impl Fn(&M) -> Tensor<1> {
        self
    }
}

/// The parameters after the inner loop, and every iterate before them with its support
/// gradient: `(θ_S, [(θᵢ, ∇L_s(θᵢ))])`.
pub fn adapt<M: Module>(
    init: &M,
    unroll: &Unroll,
    support_loss: &impl SupportLoss<M>,
) -> (M, Vec<(M, ParamVec)>) {
    let mut trajectory = Vec::with_capacity(unroll.steps);
    let mut current = init.clone();
    for _ in 0..unroll.steps {
        let grad = ParamVec::gradient(&current, support_loss.loss(&current));
        let next = unroll.rate.times(&grad).step(current.clone(), -1.0);
        trajectory.push((current, grad));
        current = next;
    }
    (current, trajectory)
}

/// H(θ) `v` for the Hessian of `loss` at `at`, by a central difference of the gradients of the
/// loss held smooth at `at`.
pub fn hessian_vector_product<M: Module>(
    at: &M,
    v: &ParamVec,
    loss: &impl SupportLoss<M>,
) -> ParamVec {
    let norm = v.norm() + 1e-20;
    let probe = v.scale_by(&(norm.clone().recip() * FD_EPSILON));
    let held = loss.held_at(at);
    let gradient_at = |scale: f64| {
        let moved = probe.step(at.clone(), scale);
        ParamVec::gradient(&moved, held(&moved))
    };
    gradient_at(1.0)
        .sub(&gradient_at(-1.0))
        .scale_by(&(norm / (2.0 * FD_EPSILON)))
}

/// The meta-gradients of `query_loss` after the inner loop on `support_loss` from `init`.
pub fn meta_gradient<M: Module>(
    init: &M,
    unroll: &Unroll,
    support_loss: impl SupportLoss<M>,
    query_loss: impl Fn(&M) -> Tensor<1>,
) -> MetaGradient {
    let (adapted, trajectory) = adapt(init, unroll, &support_loss);
    let loss = query_loss(&adapted);
    let mut v = ParamVec::gradient(&adapted, loss.clone());
    let mut rates = v.scale(0.0);
    for (theta, support_grad) in trajectory.iter().rev() {
        rates = rates.sub(&support_grad.mul(&v));
        if unroll.second_order {
            let scaled = unroll.rate.times(&v);
            v = v.sub(&hessian_vector_product(theta, &scaled, &support_loss));
        }
    }
    MetaGradient {
        init: v,
        rates,
        query_loss: loss.detach(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use burn::module::Param;
    use burn::tensor::{Device, TensorData};

    /// Two parameter tensors of two values each: the smallest module whose parameter order
    /// matters (z = (a₀, a₁, b₀, b₁)), with a Hessian worth testing.
    #[derive(Module, Debug)]
    struct Pair {
        a: Param<Tensor<1>>,
        b: Param<Tensor<1>>,
    }

    const N: usize = 4;
    /// Symmetric positive definite, coupling `a` and `b`.
    const A: [[f64; N]; N] = [
        [2.0, 0.5, 0.3, 0.0],
        [0.5, 1.0, 0.0, -0.4],
        [0.3, 0.0, 1.5, 0.2],
        [0.0, -0.4, 0.2, 0.8],
    ];
    const TARGET: [f64; N] = [1.0, -2.0, 0.5, 1.5];
    const START: [f64; N] = [0.8, -0.6, -0.3, 0.9];

    fn z(pair: &Pair) -> Tensor<1> {
        Tensor::cat(vec![pair.a.val(), pair.b.val()], 0)
    }

    /// Support loss ½ zᵀAz + ¼ Σ zᵢ⁴ (its Hessian A + diag(3zᵢ²) changes along the way).
    fn support_loss(pair: &Pair) -> Tensor<1> {
        let z = z(pair);
        let device = z.device();
        let a = Tensor::<2>::from_data(
            TensorData::new(A.concat().iter().map(|&v| v as f32).collect(), [N, N]),
            &device,
        );
        let az = a.matmul(z.clone().reshape([N, 1])).reshape([N]);
        (z.clone() * az).sum() * 0.5 + z.powi_scalar(4).sum() * 0.25
    }

    /// Query loss ½ ‖z − target‖².
    fn query_loss(pair: &Pair) -> Tensor<1> {
        let z = z(pair);
        let target = Tensor::<1>::from_data(TARGET.map(|v| v as f32), &z.device());
        (z - target).powi_scalar(2).sum() * 0.5
    }

    /// The same inner loop in f64 with the exact Hessian: (∂L_q/∂z₀, ∂L_q/∂α).
    fn closed_form(steps: usize, rates: [f64; N], second_order: bool) -> ([f64; N], [f64; N]) {
        let grad = |z: [f64; N]| {
            std::array::from_fn::<f64, N, _>(|i| {
                (0..N).map(|j| A[i][j] * z[j]).sum::<f64>() + z[i].powi(3)
            })
        };
        let mut zs = vec![START];
        for _ in 0..steps {
            let (z, g) = (*zs.last().unwrap(), grad(*zs.last().unwrap()));
            zs.push(std::array::from_fn(|i| z[i] - rates[i] * g[i]));
        }
        let last = zs[steps];
        let mut v: [f64; N] = std::array::from_fn(|i| last[i] - TARGET[i]);
        let mut d_rates = [0.0; N];
        for z in zs[..steps].iter().rev() {
            let g = grad(*z);
            for i in 0..N {
                d_rates[i] -= g[i] * v[i];
            }
            if second_order {
                // v ← (I − H diag(α)) v with H = A + diag(3z²), symmetric.
                let scaled: [f64; N] = std::array::from_fn(|j| rates[j] * v[j]);
                let h = |i: usize, j: usize| A[i][j] + if i == j { 3.0 * z[i] * z[i] } else { 0.0 };
                v = std::array::from_fn(|i| {
                    v[i] - (0..N).map(|j| h(i, j) * scaled[j]).sum::<f64>()
                });
            }
        }
        (v, d_rates)
    }

    fn pair_at(z: [f64; N], device: &Device) -> Pair {
        let tensor = |values: &[f64]| {
            let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            Param::from_tensor(Tensor::<1>::from_data(values.as_slice(), device).require_grad())
        };
        Pair {
            a: tensor(&z[..2]),
            b: tensor(&z[2..]),
        }
    }

    fn start(device: &Device) -> Pair {
        pair_at(START, device)
    }

    /// The vector as (a₀, a₁, b₀, b₁).
    fn to_f64(v: &ParamVec) -> Vec<f64> {
        let values = v.assign(start(&cpu_device().autodiff()));
        z(&values)
            .into_data()
            .iter::<f32>()
            .map(f64::from)
            .collect()
    }

    fn assert_close(got: &[f64], want: &[f64], tolerance: f64) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tolerance, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn second_order_meta_gradient_matches_the_closed_form_and_differs_from_first_order() {
        let device = cpu_device().autodiff();
        let unroll = |second_order| Unroll {
            steps: 3,
            rate: InnerRate::Shared(0.2),
            second_order,
        };
        let exact = meta_gradient(&start(&device), &unroll(true), support_loss, query_loss);
        let (want, _) = closed_form(3, [0.2; N], true);
        assert_close(&to_f64(&exact.init), &want, 2e-3);

        let first = meta_gradient(&start(&device), &unroll(false), support_loss, query_loss);
        let (want_first, _) = closed_form(3, [0.2; N], false);
        assert_close(&to_f64(&first.init), &want_first, 1e-4);
        let gap: f64 = want
            .iter()
            .zip(&want_first)
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!(
            gap > 0.1,
            "the Hessian terms should matter here: {want:?} vs {want_first:?}"
        );
    }

    #[test]
    fn per_parameter_rate_gradient_matches_the_closed_form_in_parameter_order() {
        let device = cpu_device().autodiff();
        // A different rate for every value, so a mix-up of tensors or of their order shows.
        let rates = [0.3, 0.1, 0.25, 0.05];
        for second_order in [true, false] {
            let unroll = Unroll {
                steps: 2,
                rate: InnerRate::PerParameter(ParamVec::values(&pair_at(rates, &device))),
                second_order,
            };
            let got = meta_gradient(&start(&device), &unroll, support_loss, query_loss);
            let (want_init, want_rates) = closed_form(2, rates, second_order);
            assert_close(&to_f64(&got.init), &want_init, 2e-3);
            assert_close(&to_f64(&got.rates), &want_rates, 2e-3);
        }
    }
}
