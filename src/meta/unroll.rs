//! Differentiating through the inner loop: exact-in-the-limit MAML and Meta-SGD gradients.
//!
//! The inner loop takes `S` steps θᵢ₊₁ = θᵢ − α ⊙ ∇L_s(θᵢ) from the initialisation θ₀, with one
//! learning rate α for every parameter (MAML) or one per parameter (Meta-SGD). The
//! meta-gradient of the query loss L_q(θ_S) then runs backwards through the steps:
//! vₛ = ∇L_q(θ_S), vᵢ = vᵢ₊₁ − Hᵢ (α ⊙ vᵢ₊₁) with Hᵢ the support-loss Hessian at θᵢ, and
//! ∂L_q/∂θ₀ = v₀, ∂L_q/∂α = −Σᵢ ∇L_s(θᵢ) ⊙ vᵢ₊₁. burn differentiates only once, so each
//! Hessian-vector product is a central difference of two gradients,
//! H v ≈ (∇L_s(θ + εv̂) − ∇L_s(θ − εv̂)) · ‖v‖ / 2ε with v̂ = v / ‖v‖, which is exact for
//! quadratic losses and converges as ε → 0. First-order mode skips the products (Hᵢ = 0).

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

/// The parameters after the inner loop, and every iterate before them with its support
/// gradient: `(θ_S, [(θᵢ, ∇L_s(θᵢ))])`.
pub fn adapt<M: Module>(
    init: &M,
    unroll: &Unroll,
    support_loss: &impl Fn(&M) -> Tensor<1>,
) -> (M, Vec<(M, ParamVec)>) {
    let mut trajectory = Vec::with_capacity(unroll.steps);
    let mut current = init.clone();
    for _ in 0..unroll.steps {
        let grad = ParamVec::gradient(&current, support_loss(&current));
        let next = unroll.rate.times(&grad).step(current.clone(), -1.0);
        trajectory.push((current, grad));
        current = next;
    }
    (current, trajectory)
}

/// H(θ) `v` for the Hessian of `loss` at `at`, by a central difference of gradients.
pub fn hessian_vector_product<M: Module>(
    at: &M,
    v: &ParamVec,
    loss: &impl Fn(&M) -> Tensor<1>,
) -> ParamVec {
    let norm = v.norm() + 1e-20;
    let probe = v.scale_by(&(norm.clone().recip() * FD_EPSILON));
    let gradient_at = |scale: f64| {
        let moved = probe.step(at.clone(), scale);
        ParamVec::gradient(&moved, loss(&moved))
    };
    gradient_at(1.0)
        .sub(&gradient_at(-1.0))
        .scale_by(&(norm / (2.0 * FD_EPSILON)))
}

/// The meta-gradients of `query_loss` after the inner loop on `support_loss` from `init`.
pub fn meta_gradient<M: Module>(
    init: &M,
    unroll: &Unroll,
    support_loss: impl Fn(&M) -> Tensor<1>,
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
    use burn::tensor::TensorData;

    /// A point in the plane: the smallest module with a Hessian worth testing.
    #[derive(Module, Debug)]
    struct Point {
        xy: Param<Tensor<1>>,
    }

    const A: [[f64; 2]; 2] = [[2.0, 0.5], [0.5, 1.0]];
    const TARGET: [f64; 2] = [1.0, -2.0];
    const START: [f64; 2] = [0.8, -0.6];

    /// Support loss ½ xᵀAx + ¼ Σ xᵢ⁴ (its Hessian A + diag(3xᵢ²) changes along the way).
    fn support_loss(point: &Point) -> Tensor<1> {
        let x = point.xy.val();
        let device = x.device();
        let a = Tensor::<2>::from_data(
            TensorData::new(A.concat().iter().map(|&v| v as f32).collect(), [2, 2]),
            &device,
        );
        let ax = a.matmul(x.clone().reshape([2, 1])).reshape([2]);
        (x.clone() * ax).sum() * 0.5 + x.powi_scalar(4).sum() * 0.25
    }

    /// Query loss ½ ‖x − target‖².
    fn query_loss(point: &Point) -> Tensor<1> {
        let x = point.xy.val();
        let target = Tensor::<1>::from_data(TARGET.map(|v| v as f32), &x.device());
        (x - target).powi_scalar(2).sum() * 0.5
    }

    /// The same inner loop in f64 with the exact Hessian: (∂L_q/∂x₀, ∂L_q/∂α).
    fn closed_form(steps: usize, rates: [f64; 2], second_order: bool) -> ([f64; 2], [f64; 2]) {
        let grad = |x: [f64; 2]| [0, 1].map(|i| A[i][0] * x[0] + A[i][1] * x[1] + x[i].powi(3));
        let mut xs = vec![START];
        for _ in 0..steps {
            let (x, g) = (*xs.last().unwrap(), grad(*xs.last().unwrap()));
            xs.push([0, 1].map(|i| x[i] - rates[i] * g[i]));
        }
        let last = xs[steps];
        let mut v = [0, 1].map(|i| last[i] - TARGET[i]);
        let mut d_rates = [0.0; 2];
        for x in xs[..steps].iter().rev() {
            let g = grad(*x);
            for i in 0..2 {
                d_rates[i] -= g[i] * v[i];
            }
            if second_order {
                // v ← (I − H diag(α)) v with H = A + diag(3x²), symmetric.
                let scaled = [0, 1].map(|j| rates[j] * v[j]);
                let h = |i: usize, j: usize| A[i][j] + if i == j { 3.0 * x[i] * x[i] } else { 0.0 };
                v = [0, 1].map(|i| v[i] - (h(i, 0) * scaled[0] + h(i, 1) * scaled[1]));
            }
        }
        (v, d_rates)
    }

    fn point_at(xy: [f64; 2], device: &burn::tensor::Device) -> Point {
        let xy = Tensor::<1>::from_data(xy.map(|v| v as f32), device).require_grad();
        Point {
            xy: Param::from_tensor(xy),
        }
    }

    fn point(device: &burn::tensor::Device) -> Point {
        point_at(START, device)
    }

    fn to_f64(v: &ParamVec) -> Vec<f64> {
        let values = ParamVec::assign(v, point(&cpu_device().autodiff()))
            .xy
            .val();
        values.into_data().iter::<f32>().map(f64::from).collect()
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
        let exact = meta_gradient(&point(&device), &unroll(true), support_loss, query_loss);
        let (want, _) = closed_form(3, [0.2, 0.2], true);
        assert_close(&to_f64(&exact.init), &want, 2e-3);

        let first = meta_gradient(&point(&device), &unroll(false), support_loss, query_loss);
        let (want_first, _) = closed_form(3, [0.2, 0.2], false);
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
    fn per_parameter_rate_gradient_matches_the_closed_form() {
        let device = cpu_device().autodiff();
        let rates = [0.3, 0.1];
        let unroll = Unroll {
            steps: 2,
            rate: InnerRate::PerParameter(ParamVec::values(&point_at(rates, &device))),
            second_order: true,
        };
        let got = meta_gradient(&point(&device), &unroll, support_loss, query_loss);
        let (want_init, want_rates) = closed_form(2, rates, true);
        assert_close(&to_f64(&got.init), &want_init, 2e-3);
        assert_close(&to_f64(&got.rates), &want_rates, 2e-3);
    }
}
