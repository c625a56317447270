//! Environments, Gym-style, on top of burn's `rl` interface.
//!
//! Each environment is a *family of tasks* (a goal position, a goal velocity, arm
//! probabilities) and exists twice, with the same dynamics:
//! - one episode at a time, as a [`burn::rl::Environment`] (`state`, `step` → `StepResult
//!   { next_state, reward, done, truncated }`, `reset`), with seeding, declared observation and
//!   action [`Space`]s and [`checked_step`], which refuses a NaN or wrongly sized action and
//!   clips out-of-range values as declared;
//! - many trajectories at once, on tensors ([`TaskFamily::step_batch`]), so rollouts for
//!   policy gradients need no read-back per step and run on WebGPU as on the CPU. A test per
//!   environment checks the two agree.

use crate::rng::Rng;
use burn::rl::{Environment, StepResult};
use burn::tensor::{Device, Tensor};

/// A space of observations or actions.
#[derive(Debug, Clone, PartialEq)]
pub enum Space {
    /// Real vectors, each component within its bounds.
    Box {
        /// Lower bound per component.
        low: Vec<f32>,
        /// Upper bound per component.
        high: Vec<f32>,
    },
    /// One of `n` choices, given as a one-component vector holding the index.
    Discrete(usize),
}

impl Space {
    /// Components of a value of this space.
    pub fn dim(&self) -> usize {
        match self {
            Self::Box { low, .. } => low.len(),
            Self::Discrete(_) => 1,
        }
    }

    /// `value` checked (length, NaN) and clipped into the space.
    pub fn clip(&self, value: &[f32]) -> Result<Vec<f32>, EnvError> {
        if value.len() != self.dim() {
            return Err(EnvError::WrongLength {
                expected: self.dim(),
                got: value.len(),
            });
        }
        if value.iter().any(|v| v.is_nan()) {
            return Err(EnvError::NotANumber);
        }
        Ok(match self {
            Self::Box { low, high } => value
                .iter()
                .zip(low.iter().zip(high))
                .map(|(v, (lo, hi))| v.clamp(*lo, *hi))
                .collect(),
            Self::Discrete(n) => vec![value[0].round().clamp(0.0, (*n - 1) as f32)],
        })
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvError {
    /// An action with the wrong number of components.
    #[error("an action has {expected} components, this one has {got}")]
    WrongLength {
        /// Components the action space has.
        expected: usize,
        /// Components given.
        got: usize,
    },
    /// An action holding NaN.
    #[error("an action cannot be NaN")]
    NotANumber,
}

/// A family of tasks with Gym-style episodes and batched tensor dynamics.
pub trait TaskFamily: Environment<State = Vec<f32>, Action = Vec<f32>> + Sized {
    /// Short name (CLI, result files).
    const NAME: &'static str;
    /// Numbers that describe one task.
    const TASK_DIM: usize;
    /// Numbers that describe the state (observations are a function of it).
    const STATE_DIM: usize;
    /// Learning rate of a policy-gradient step on this family's tasks (chosen by measurement:
    /// see each family's value).
    const INNER_LR: f64;

    /// The observation space.
    fn observation_space() -> Space;
    /// The action space.
    fn action_space() -> Space;
    /// A task drawn from the family's distribution.
    fn sample_task(rng: &mut Rng) -> Vec<f32>;
    /// The environment for `task`, reset, with its randomness (if any) seeded by `seed`.
    fn with_task(task: &[f32], seed: u64) -> Self;
    /// [`Environment::step`] with `noise` (uniform in `[0, 1)`) as its randomness, if it has
    /// any, for an action within the action space; `step` draws the noise from the
    /// environment's seeded generator and makes any action usable ([`usable_action`]).
    fn step_with_noise(&mut self, action: Vec<f32>, noise: f32) -> StepResult<Vec<f32>>;

    /// Initial states `[n, STATE_DIM]` of `n` trajectories: at rest at the origin unless a
    /// family says otherwise.
    fn reset_batch(n: usize, device: &Device) -> Tensor<2> {
        Tensor::zeros([n, Self::STATE_DIM], device)
    }
    /// Observations `[n, obs]` of states `[n, STATE_DIM]`: the state itself unless a family
    /// hides part of it.
    fn observe_batch(state: Tensor<2>) -> Tensor<2> {
        state
    }
    /// One step of `n` trajectories, each with its task row of `tasks` `[n, TASK_DIM]`:
    /// actions `[n, act]` (within the action space), and `noise` `[n, 1]` uniform in `[0, 1)`
    /// for stochastic rewards. Returns the next states, the rewards `[n]` and whether each
    /// trajectory reached a terminal state `[n]` (1 or 0).
    fn step_batch(
        state: Tensor<2>,
        actions: Tensor<2>,
        tasks: Tensor<2>,
        noise: Tensor<2>,
    ) -> (Tensor<2>, Tensor<1>, Tensor<1>);
}

/// `action` as the environments' `step` uses it: clipped into the action space or, when
/// malformed (wrong length, NaN), the neutral action (zero force, the first arm) — burn's
/// [`Environment::step`] has no way to refuse one; [`checked_step`] says what is wrong.
pub fn usable_action<E: TaskFamily>(action: &[f32]) -> Vec<f32> {
    let space = E::action_space();
    space.clip(action).unwrap_or_else(|_| {
        space
            .clip(&vec![0.0; space.dim()])
            .expect("zeros have the space's length")
    })
}

/// [`Environment::step`] after checking `action` and clipping it into the action space.
pub fn checked_step<E: TaskFamily>(
    env: &mut E,
    action: &[f32],
) -> Result<StepResult<Vec<f32>>, EnvError> {
    let action = E::action_space().clip(action)?;
    Ok(env.step(action))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use burn::tensor::TensorData;

    #[test]
    fn spaces_clip_refuse_nan_and_wrong_lengths() {
        let velocity = Space::Box {
            low: vec![-0.1, -0.1],
            high: vec![0.1, 0.1],
        };
        assert_eq!(velocity.clip(&[0.5, -0.05]), Ok(vec![0.1, -0.05]));
        assert_eq!(velocity.clip(&[f32::NAN, 0.0]), Err(EnvError::NotANumber));
        assert_eq!(
            velocity.clip(&[0.0]),
            Err(EnvError::WrongLength {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(Space::Discrete(4).clip(&[7.2]), Ok(vec![3.0]));
        assert_eq!(Space::Discrete(4).clip(&[-1.0]), Ok(vec![0.0]));
    }

    /// `Environment::step` has no way to refuse an action: a malformed one (empty, too long,
    /// NaN) must neither panic nor poison the state.
    fn plain_steps_survive<E: TaskFamily>() {
        let mut env = E::with_task(&E::sample_task(&mut Rng::new(1)), 1);
        let too_long = vec![0.5; E::action_space().dim() + 3];
        for action in [vec![], vec![f32::NAN; E::action_space().dim()], too_long] {
            let result = env.step(action);
            assert!(result.reward.is_finite(), "{} reward", E::NAME);
            assert!(
                result.next_state.iter().all(|v| v.is_finite()),
                "{} state",
                E::NAME
            );
        }
    }

    #[test]
    fn plain_steps_survive_malformed_actions() {
        plain_steps_survive::<crate::rl::point::PointNav>();
        plain_steps_survive::<crate::rl::cart::CartVelocity>();
        plain_steps_survive::<crate::rl::bandit::Bandit>();
    }

    /// The Gym-style episode and the batched tensor dynamics give the same rewards, states and
    /// ends for the same task and actions (actions drawn over twice the action space, so
    /// clipping is exercised too).
    pub(crate) fn assert_batch_agrees_with_episodes<E: TaskFamily>(steps: usize) {
        let device = cpu_device();
        let mut rng = Rng::new(9);
        let n = 4;
        let tasks: Vec<Vec<f32>> = (0..n).map(|_| E::sample_task(&mut rng)).collect();
        let task_rows: Vec<f32> = tasks.concat();
        let task_tensor =
            Tensor::<2>::from_data(TensorData::new(task_rows, [n, E::TASK_DIM]), &device);
        let mut envs: Vec<E> = tasks.iter().map(|t| E::with_task(t, 1)).collect();
        let mut state = E::reset_batch(n, &device);
        let bounds = match E::action_space() {
            Space::Box { low, high } => low.into_iter().zip(high).collect(),
            Space::Discrete(k) => vec![(0.0, (k - 1) as f32)],
        };
        let mut alive = vec![true; n];
        for _ in 0..steps {
            let actions: Vec<Vec<f32>> = (0..n)
                .map(|_| {
                    bounds
                        .iter()
                        .map(|&(lo, hi)| {
                            let wide = rng.between(2.0 * lo - hi, 2.0 * hi - lo);
                            if matches!(E::action_space(), Space::Discrete(_)) {
                                rng.below(hi as usize + 1) as f32
                            } else {
                                wide
                            }
                        })
                        .collect()
                })
                .collect();
            let noise: Vec<f32> = (0..n).map(|_| rng.uniform()).collect();
            let clipped: Vec<f32> = actions
                .iter()
                .flat_map(|a| E::action_space().clip(a).unwrap())
                .collect();
            let act_dim = E::action_space().dim();
            let (next, rewards, done) = E::step_batch(
                state,
                Tensor::from_data(TensorData::new(clipped, [n, act_dim]), &device),
                task_tensor.clone(),
                Tensor::from_data(TensorData::new(noise.clone(), [n, 1]), &device),
            );
            let rewards: Vec<f32> = rewards.into_data().iter::<f32>().collect();
            let done: Vec<f32> = done.into_data().iter::<f32>().collect();
            let observations: Vec<f32> = E::observe_batch(next.clone())
                .into_data()
                .iter::<f32>()
                .collect();
            let obs_dim = E::observation_space().dim();
            for i in 0..n {
                if !alive[i] {
                    continue;
                }
                let action = E::action_space().clip(&actions[i]).unwrap();
                let result = envs[i].step_with_noise(action, noise[i]);
                assert!(
                    (result.reward as f32 - rewards[i]).abs() < 1e-4,
                    "reward of {i}"
                );
                let batch_obs = &observations[i * obs_dim..(i + 1) * obs_dim];
                for (a, b) in result.next_state.iter().zip(batch_obs) {
                    assert!((a - b).abs() < 1e-4, "state of {i}: {a} vs {b}");
                }
                assert_eq!(result.done, done[i] > 0.5, "end of {i}");
                alive[i] = !(result.done || result.truncated);
            }
            state = next;
        }
    }
}
