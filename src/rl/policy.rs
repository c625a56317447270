//! Policies: a Gaussian MLP for continuous actions (two hidden layers of 100 ReLU units, as in
//! the MAML paper, and a learned log standard deviation) and a categorical policy for the
//! bandits (one learned preference per arm). Sampling takes its randomness as a tensor —
//! standard normal noise, or uniform noise turned into Gumbel noise — so a rollout is a chain of
//! tensor operations with no read-back, on any device.

use crate::model::{Switchboard, Switches};
use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor};

/// Hidden units per layer of the Gaussian MLP.
pub const HIDDEN: usize = 100;
/// Standard deviation the Gaussian policy starts with.
const INITIAL_STD: f32 = 0.1;

/// Gaussian policy: mean from an MLP, one learned log standard deviation per action component.
#[derive(Module, Debug)]
pub struct GaussianMlp {
    first: Linear,
    second: Linear,
    mean: Linear,
    log_std: Param<Tensor<1>>,
}

/// Categorical policy over `arms`: one learned preference (logit) per arm.
#[derive(Module, Debug)]
pub struct Categorical {
    logits: Linear,
}

/// A policy of either kind.
// burn's Module derive cannot box a variant; policies are few and long-lived.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Policy {
    /// Continuous actions.
    Gaussian(GaussianMlp),
    /// A choice among arms.
    Categorical(Categorical),
}

/// What noise a policy samples with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    /// Standard normal, one per action component.
    Normal(usize),
    /// Uniform in (0, 1), one per arm (turned into Gumbel noise).
    Uniform(usize),
}

impl Policy {
    /// A fresh Gaussian MLP from `observations` to `actions` components. Its mean starts near
    /// zero (the last layer initialised small, as is usual for policy networks): a mean far
    /// outside a clipped action range would make every sample act alike and leave nothing to
    /// learn from.
    pub fn gaussian(observations: usize, actions: usize, device: &Device) -> Self {
        let mean = LinearConfig::new(HIDDEN, actions)
            .with_initializer(Initializer::Uniform {
                min: -1e-3,
                max: 1e-3,
            })
            .init(device);
        Self::Gaussian(GaussianMlp {
            first: LinearConfig::new(observations, HIDDEN).init(device),
            second: LinearConfig::new(HIDDEN, HIDDEN).init(device),
            mean,
            log_std: Param::from_tensor(Tensor::full([actions], INITIAL_STD.ln(), device)),
        })
    }

    /// A fresh categorical policy over `arms`, from a constant observation.
    pub fn categorical(arms: usize, device: &Device) -> Self {
        Self::Categorical(Categorical {
            logits: LinearConfig::new(1, arms).init(device),
        })
    }

    /// The noise one sampled action takes.
    pub fn noise(&self) -> Noise {
        match self {
            Self::Gaussian(p) => Noise::Normal(p.log_std.dims()[0]),
            Self::Categorical(p) => Noise::Uniform(p.logits.weight.dims()[1]),
        }
    }

    /// Actions `[n, act]` for observations `[n, obs]`, sampled with `noise` `[n, noise]`.
    pub fn act(&self, observations: Tensor<2>, noise: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Gaussian(p) => {
                let std = p.log_std.val().exp().unsqueeze_dim::<2>(0);
                p.mean_of(observations) + noise * std
            }
            Self::Categorical(p) => {
                let gumbel = noise.log().neg().log().neg();
                (p.logits.forward(observations) + gumbel).argmax(1).float()
            }
        }
    }

    /// The most likely actions `[n, act]` (the mean, or the preferred arm).
    pub fn best_action(&self, observations: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Gaussian(p) => p.mean_of(observations),
            Self::Categorical(p) => p.logits.forward(observations).argmax(1).float(),
        }
    }

    /// Log-probability `[n]` of `actions` `[n, act]` at observations `[n, obs]`.
    pub fn log_prob(&self, observations: Tensor<2>, actions: Tensor<2>) -> Tensor<1> {
        self.log_prob_with(observations, actions, &mut Switchboard::Free)
    }

    /// The ReLU switches of [`Self::log_prob`] at `observations`, recorded by its inference
    /// copy (see [`crate::model::Switches`]).
    pub fn switches(&self, observations: Tensor<2>) -> Switches {
        let mut board = Switchboard::record();
        if let Self::Gaussian(p) = self.valid() {
            p.mean_with(observations.inner(), &mut board);
        }
        board.recorded()
    }

    /// [`Self::log_prob`] at the `observations` `switches` were recorded on, every ReLU choosing
    /// as it did then.
    pub fn log_prob_held(
        &self,
        observations: Tensor<2>,
        actions: Tensor<2>,
        switches: &Switches,
    ) -> Tensor<1> {
        self.log_prob_with(observations, actions, &mut Switchboard::hold(switches))
    }

    fn log_prob_with(
        &self,
        observations: Tensor<2>,
        actions: Tensor<2>,
        switches: &mut Switchboard,
    ) -> Tensor<1> {
        match self {
            Self::Gaussian(p) => {
                let log_std = p.log_std.val().unsqueeze_dim::<2>(0);
                let z = (actions - p.mean_with(observations, switches)) / log_std.clone().exp();
                let per_component =
                    z.powi_scalar(2) * -0.5 - log_std - 0.5 * (2.0 * std::f32::consts::PI).ln();
                per_component.sum_dim(1).squeeze_dim::<1>(1)
            }
            Self::Categorical(p) => {
                let log_probabilities = log_softmax(p.logits.forward(observations), 1);
                let arms: Tensor<2, Int> = actions.int();
                log_probabilities.gather(1, arms).squeeze_dim::<1>(1)
            }
        }
    }
}

impl GaussianMlp {
    fn mean_of(&self, observations: Tensor<2>) -> Tensor<2> {
        self.mean_with(observations, &mut Switchboard::Free)
    }

    fn mean_with(&self, observations: Tensor<2>, switches: &mut Switchboard) -> Tensor<2> {
        let x = switches.relu(self.first.forward(observations));
        self.mean.forward(switches.relu(self.second.forward(x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use burn::tensor::TensorData;

    #[test]
    fn gaussian_log_probability_matches_the_density() {
        let device = cpu_device();
        device.seed(1);
        let policy = Policy::gaussian(2, 2, &device);
        let obs = Tensor::<2>::from_data([[0.1f32, -0.2]], &device);
        let mean = policy.best_action(obs.clone());
        let actions = mean.clone() + Tensor::from_data([[0.1f32, -0.05]], &device);
        let got = policy.log_prob(obs, actions).into_scalar::<f32>();
        // Independent normals with σ = 0.1: log N(0.1; 0, σ) + log N(−0.05; 0, σ).
        let log_normal = |x: f32, s: f32| {
            -0.5 * (x / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f32::consts::PI).ln()
        };
        let want = log_normal(0.1, 0.1) + log_normal(-0.05, 0.1);
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }

    #[test]
    fn categorical_sampling_follows_the_preferences() {
        let device = cpu_device();
        device.seed(2);
        let policy = Policy::categorical(3, &device);
        let n = 3000;
        let obs = Tensor::<2>::ones([n, 1], &device);
        let mut rng = crate::rng::Rng::new(3);
        let noise: Vec<f32> = (0..n * 3).map(|_| rng.uniform().max(1e-7)).collect();
        let noise = Tensor::<2>::from_data(TensorData::new(noise, [n, 3]), &device);
        let arms: Vec<f32> = policy
            .act(obs.clone(), noise)
            .into_data()
            .iter::<f32>()
            .collect();
        let probabilities: Vec<f32> = policy
            .log_prob(
                obs.narrow(0, 0, 3),
                Tensor::from_data([[0.0f32], [1.0], [2.0]], &device),
            )
            .exp()
            .into_data()
            .iter::<f32>()
            .collect();
        assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        for (arm, p) in probabilities.iter().enumerate() {
            let share = arms.iter().filter(|&&a| a as usize == arm).count() as f32 / n as f32;
            assert!(
                (share - p).abs() < 0.03,
                "arm {arm}: sampled {share}, probability {p}"
            );
        }
    }
}
