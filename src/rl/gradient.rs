//! Rollouts and the policy gradient (REINFORCE with a baseline).
//!
//! [`rollout`] runs `n` trajectories of one task in lockstep, entirely as tensor operations:
//! the policy's inference copy acts on a batch of observations with pre-drawn noise, and the
//! task family's batched dynamics move every trajectory on; a trajectory that ends stays
//! masked out. [`surrogate`] is the loss whose gradient is the REINFORCE estimate:
//! −log π(aₜ|sₜ) · Aₜ averaged over every step taken, with Aₜ the discounted return from t
//! minus a baseline — the mean return from t over the same task's trajectories — normalised to
//! unit spread. The advantages are constants, so the surrogate can be differentiated at any
//! parameters: the inner loop's support loss, and (after adaptation) its query loss.

use super::env::TaskFamily;
use super::policy::{Noise, Policy};
use crate::meta::unroll::SupportLoss;
use crate::rng::Rng;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

/// Discount of future rewards.
pub const GAMMA: f32 = 0.99;

/// Trajectories of one task, with what a policy-gradient step needs.
#[derive(Debug, Clone)]
pub struct Trajectories {
    /// Observations `[T·n, obs]`, time-major.
    pub observations: Tensor<2>,
    /// Actions taken `[T·n, act]`.
    pub actions: Tensor<2>,
    /// Rewards `[T, n]`, zero once a trajectory has ended.
    pub rewards: Tensor<2>,
    /// 1 while a trajectory is running, 0 after it ended `[T, n]`.
    pub alive: Tensor<2>,
    /// Normalised advantages `[T, n]` (constants).
    pub advantages: Tensor<2>,
}

/// Noise `[n, dim]` for one step of `n` trajectories.
fn draw_noise(kind: Noise, n: usize, rng: &mut Rng, device: &Device) -> Tensor<2> {
    let (dim, values): (usize, Vec<f32>) = match kind {
        Noise::Normal(dim) => (dim, (0..n * dim).map(|_| rng.normal()).collect()),
        // Kept away from 0 so the Gumbel transform stays finite.
        Noise::Uniform(dim) => (dim, (0..n * dim).map(|_| rng.uniform().max(1e-7)).collect()),
    };
    Tensor::from_data(TensorData::new(values, [n, dim]), device)
}

/// `n` trajectories of `task` under `policy` (any device; sampling is not differentiated).
pub fn rollout<E: TaskFamily>(
    policy: &Policy,
    task: &[f32],
    n: usize,
    rng: &mut Rng,
) -> Trajectories {
    let policy = policy.valid();
    let device = policy
        .devices()
        .into_iter()
        .next()
        .expect("a policy has parameters");
    let horizon = E::MAX_STEPS;
    let task_rows: Vec<f32> = (0..n).flat_map(|_| task.iter().copied()).collect();
    let tasks = Tensor::<2>::from_data(TensorData::new(task_rows, [n, E::TASK_DIM]), &device);
    let mut state = E::reset_batch(n, &device);
    let mut alive = Tensor::<1>::ones([n], &device);
    let (mut observations, mut actions, mut rewards, mut masks) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..horizon {
        let observation = E::observe_batch(state.clone());
        let noise = draw_noise(policy.noise(), n, rng, &device);
        let action = policy.act(observation.clone(), noise);
        let reward_noise = draw_noise(Noise::Uniform(1), n, rng, &device);
        let (next, reward, done) =
            E::step_batch(state, action.clone(), tasks.clone(), reward_noise);
        observations.push(observation);
        actions.push(action);
        rewards.push(reward * alive.clone());
        masks.push(alive.clone());
        alive = alive * (done.neg() + 1.0);
        state = next;
    }
    let stack = |rows: Vec<Tensor<1>>| Tensor::stack::<2>(rows, 0);
    let (rewards, alive) = (stack(rewards), stack(masks));
    Trajectories {
        observations: Tensor::cat(observations, 0),
        actions: Tensor::cat(actions, 0),
        advantages: advantages(rewards.clone(), alive.clone()),
        rewards,
        alive,
    }
}

/// Normalised advantages `[T, n]`: discounted returns-to-go minus their mean over the
/// trajectories, divided by their spread.
fn advantages(rewards: Tensor<2>, alive: Tensor<2>) -> Tensor<2> {
    let horizon = rewards.dims()[0];
    let device = rewards.device();
    // G = D·r with D[t][t'] = γ^(t'−t) for t' ≥ t.
    let discount: Vec<f32> = (0..horizon * horizon)
        .map(|i| {
            let (t, later) = (i / horizon, i % horizon);
            if later >= t {
                GAMMA.powi((later - t) as i32)
            } else {
                0.0
            }
        })
        .collect();
    let discount = Tensor::<2>::from_data(TensorData::new(discount, [horizon, horizon]), &device);
    let returns = discount.matmul(rewards);
    let baseline = returns.clone().mean_dim(1);
    let centred = (returns - baseline) * alive.clone();
    let count = alive.sum().clamp_min(1.0);
    let variance = centred.clone().powi_scalar(2).sum() / count;
    let spread = (variance + 1e-8).sqrt().reshape([1, 1]);
    centred / spread
}

/// The REINFORCE surrogate loss of `policy` on `trajectories`: its gradient is the
/// policy-gradient estimate (for descent).
pub fn surrogate(policy: &Policy, trajectories: &Trajectories) -> Tensor<1> {
    // The trajectories live on the device without autodiff: constants for the gradient.
    let log_probs = policy.log_prob(
        trajectories.observations.clone(),
        trajectories.actions.clone(),
    );
    weigh(log_probs, trajectories)
}

/// The policy-gradient surrogate as the inner loop descends it: held smooth around a policy by
/// its ReLU switches at the trajectories' observations.
pub struct Surrogate<'a>(pub &'a Trajectories);

impl SupportLoss<Policy> for Surrogate<'_> {
    fn loss(&self, policy: &Policy) -> Tensor<1> {
        surrogate(policy, self.0)
    }

    fn held_at(&self, origin: &Policy) -> impl Fn(&Policy) -> Tensor<1> {
        let Trajectories {
            observations,
            actions,
            ..
        } = self.0;
        let switches = origin.switches(observations.clone());
        move |policy| {
            let log_probs = policy.log_prob_held(observations.clone(), actions.clone(), &switches);
            weigh(log_probs, self.0)
        }
    }
}

/// −Σ log π(a|s) · advantage over the steps taken, per step taken, for `log_probs` of every
/// step of `trajectories` (time-major).
fn weigh(log_probs: Tensor<1>, trajectories: &Trajectories) -> Tensor<1> {
    let [horizon, n] = trajectories.rewards.dims();
    let log_probs = log_probs.reshape([horizon, n]);
    let weighted = log_probs * trajectories.advantages.clone() * trajectories.alive.clone();
    // A mean over every step taken (as in the MAML paper's implementation), so one learning
    // rate suits short and long episodes alike.
    let steps = trajectories.alive.clone().sum().clamp_min(1.0);
    weighted.sum().neg() / steps
}

/// The mean undiscounted return per trajectory, as a one-element tensor (no read-back).
pub fn mean_return(trajectories: &Trajectories) -> Tensor<1> {
    let n = trajectories.rewards.dims()[1];
    trajectories.rewards.clone().sum() / n as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::rl::bandit::{ARMS, Bandit};
    use crate::rl::point::PointNav;

    /// On a one-step problem the gradient of the surrogate has a known answer: for a bandit
    /// with a softmax policy, E[∇ log π(a) · (r − b)] = p_k (q_k − Σ_j p_j q_j) for the
    /// preference of arm k, q being the arms' payout probabilities. The estimate points that
    /// way (after normalisation, up to a positive scale), and the descent step raises the
    /// expected payout.
    #[test]
    fn the_policy_gradient_has_the_sign_and_direction_of_the_exact_one() {
        let device = cpu_device().autodiff();
        device.seed(4);
        let policy = Policy::categorical(ARMS, &device);
        let task = [0.9, 0.1, 0.5, 0.2, 0.7];
        let trajectories = rollout::<Bandit>(&policy, &task, 20_000, &mut Rng::new(5));
        let gradient =
            crate::meta::params::ParamVec::gradient(&policy, surrogate(&policy, &trajectories));
        // The bias gradient (the last parameter) is −E[∇ log π (r − b)] / spread.
        let ones = Tensor::<2>::ones([1, 1], &device.clone().inner());
        let log_p: Vec<f32> = policy
            .valid()
            .log_prob(
                Tensor::cat(vec![ones; ARMS], 0),
                Tensor::from_data(
                    [[0.0f32], [1.0], [2.0], [3.0], [4.0]],
                    &device.clone().inner(),
                ),
            )
            .into_data()
            .iter::<f32>()
            .collect();
        let p: Vec<f32> = log_p.iter().map(|l| l.exp()).collect();
        let expected: f32 = p.iter().zip(&task).map(|(p, q)| p * q).sum();
        let exact: Vec<f32> = (0..ARMS).map(|k| p[k] * (task[k] - expected)).collect();
        let estimate: Vec<f32> = gradient_of_bias(&gradient);
        // Descent direction −estimate ∝ exact ascent direction: same signs, cosine near 1.
        let dot: f32 = estimate.iter().zip(&exact).map(|(e, x)| -e * x).sum();
        let norms = estimate.iter().map(|e| e * e).sum::<f32>().sqrt()
            * exact.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            dot / norms > 0.95,
            "cosine {} ({estimate:?} vs {exact:?})",
            dot / norms
        );
    }

    /// The last `ARMS` values of a categorical policy's gradient: those of the bias.
    fn gradient_of_bias(gradient: &crate::meta::params::ParamVec) -> Vec<f32> {
        let flat = gradient.to_vec();
        flat[flat.len() - ARMS..].to_vec()
    }

    /// Held at the policy it was recorded at, the surrogate is the surrogate, gradient and all;
    /// moved away it keeps the old ReLU switches, so it is another function.
    #[test]
    fn the_held_surrogate_is_the_surrogate_where_it_was_recorded() {
        use crate::meta::params::ParamVec;
        let device = cpu_device().autodiff();
        let policy = Policy::gaussian(2, 2, &device);
        let trajectories = rollout::<PointNav>(&policy, &[0.5, -0.5], 4, &mut Rng::new(3));
        let loss = Surrogate(&trajectories);
        let held = loss.held_at(&policy);
        let (free_value, held_value) = (loss.loss(&policy), held(&policy));
        let (free_grad, held_grad) = (
            ParamVec::gradient(&policy, free_value.clone()),
            ParamVec::gradient(&policy, held_value.clone()),
        );
        let value_gap = (free_value - held_value).abs().into_scalar::<f32>();
        let grad_gap = held_grad.sub(&free_grad).norm().into_scalar::<f32>();
        let size = free_grad.norm().into_scalar::<f32>();
        assert!(value_gap < 1e-6, "values differ by {value_gap}");
        assert!(
            grad_gap <= 1e-5 * size,
            "gradients differ by {grad_gap} of {size}"
        );
        let moved = free_grad.step(policy.clone(), -50.0);
        let gap = (loss.loss(&moved) - held(&moved))
            .abs()
            .into_scalar::<f32>();
        assert!(
            gap > 0.0,
            "the held surrogate followed the policy's switches"
        );
    }

    /// The surrogate on `after` of `policy` moved by `h` along `direction`, then adapted by one
    /// step at `lr` on `before` with the policy's ReLU switches held as they are at `policy` (the
    /// unmoved inner path), in f64: smooth in `h`, so a central difference is its derivative.
    fn adapted_surrogate_along(
        policy: &Policy,
        (before, after): (&Trajectories, &Trajectories),
        lr: f64,
        direction: &crate::meta::params::ParamVec,
        h: f64,
    ) -> f64 {
        use crate::meta::params::ParamVec;
        let support = Surrogate(before);
        let held = support.held_at(policy);
        let moved = direction.step(policy.clone(), h);
        let adapted = ParamVec::gradient(&moved, held(&moved)).step(moved, -lr);
        f64::from(surrogate(&adapted, after).into_scalar::<f32>())
    }

    /// Meta-RL MAML's second-order meta-gradient is the derivative of the surrogate after one
    /// policy-gradient step (a central difference along it, for several fresh Gaussian policies
    /// on point-navigation goals); the first-order one misses it by a wide margin. (Products
    /// taken with the switches free give nearly the same gradient here: this small policy on a
    /// few hundred observations has few switches to flip within a probe.)
    #[test]
    fn the_meta_rl_gradient_is_the_derivative_of_the_adapted_surrogate() {
        use crate::meta::params::ParamVec;
        use crate::meta::unroll::{InnerRate, Unroll, meta_gradient};
        let device = cpu_device().autodiff();
        let lr = 0.5;
        let unroll = |second_order| Unroll {
            steps: 1,
            rate: InnerRate::Shared(lr),
            second_order,
        };
        for seed in 0..4 {
            let policy = Policy::gaussian(2, 2, &device);
            let goal = [0.4 - 0.3 * seed as f32, 0.5];
            let mut rng = Rng::new(seed);
            let before = rollout::<PointNav>(&policy, &goal, 10, &mut rng);
            let after = rollout::<PointNav>(&policy, &goal, 10, &mut rng);
            let query = |adapted: &Policy| surrogate(adapted, &after);
            let exact = meta_gradient(&policy, &unroll(true), Surrogate(&before), query).init;
            let first = meta_gradient(&policy, &unroll(false), Surrogate(&before), query).init;
            let norm = f64::from(exact.norm().into_scalar::<f32>());
            let direction: ParamVec = exact.scale(1.0 / norm);
            let h = 1e-3;
            let along = |h| adapted_surrogate_along(&policy, (&before, &after), lr, &direction, h);
            let numeric = (along(h) - along(-h)) / (2.0 * h);
            let dot = |g: &ParamVec| f64::from(g.dot(&direction).into_scalar::<f32>());
            let case = format!("policy {seed}");
            assert!(
                (numeric - norm).abs() < 0.05 * norm,
                "{case}: finite difference {numeric}, second-order meta-gradient {norm}"
            );
            assert!(
                (numeric - dot(&first)).abs() > 0.2 * norm,
                "{case}: finite difference {numeric}, first order {}: the test cannot tell them \
                 apart",
                dot(&first)
            );
        }
    }

    #[test]
    fn rollouts_stop_counting_rewards_after_an_episode_ends() {
        let device = cpu_device();
        device.seed(1);
        let policy = Policy::gaussian(2, 2, &device);
        let trajectories = rollout::<PointNav>(&policy, &[0.0, 0.0], 3, &mut Rng::new(2));
        assert_eq!(trajectories.rewards.dims(), [100, 3]);
        assert_eq!(trajectories.observations.dims(), [300, 2]);
        // A goal at the start: the first step may already end the episode; rewards after the
        // end are zero, and every return is at most 0.
        let returns: Vec<f32> = trajectories
            .rewards
            .clone()
            .sum_dim(0)
            .into_data()
            .iter::<f32>()
            .collect();
        assert!(returns.iter().all(|r| *r <= 0.0));
        let mean = mean_return(&trajectories).into_scalar::<f32>();
        assert!(mean <= 0.0 && mean.is_finite());
    }
}
