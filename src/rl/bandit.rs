//! Multi-armed Bernoulli bandits: `ARMS` arms, each paying 1 with its own probability, drawn
//! uniformly from [0, 1] per task. The observation is a constant (there is nothing to see but
//! rewards); an action is an arm's index; an episode is one pull. A policy adapts by pulling
//! and updating its preferences; the *regret* — how much less it earns per pull than the best
//! arm — measures how well it has found that arm.

use super::env::{Space, TaskFamily, usable_action};
use crate::rng::Rng;
use burn::rl::{Environment, StepResult};
use burn::tensor::{Device, Int, Tensor};

/// Arms per bandit.
pub const ARMS: usize = 5;

/// One bandit task.
#[derive(Debug, Clone)]
pub struct Bandit {
    probabilities: Vec<f32>,
    rng: Rng,
}

impl Environment for Bandit {
    type State = Vec<f32>;
    type Action = Vec<f32>;
    const MAX_STEPS: usize = 1;

    fn state(&self) -> Vec<f32> {
        vec![1.0]
    }

    fn step(&mut self, action: Vec<f32>) -> StepResult<Vec<f32>> {
        let noise = self.rng.uniform();
        self.step_with_noise(usable_action::<Self>(&action), noise)
    }

    fn reset(&mut self) {}
}

impl TaskFamily for Bandit {
    const NAME: &'static str = "bandit";
    const TASK_DIM: usize = ARMS;
    const STATE_DIM: usize = 1;
    /// One preference per arm and normalised advantages: at 0.1 three updates of 20 pulls
    /// barely move the expected reward; at 5 the first update finds most of the best arm.
    const INNER_LR: f64 = 5.0;

    fn observation_space() -> Space {
        Space::Box {
            low: vec![1.0],
            high: vec![1.0],
        }
    }

    fn action_space() -> Space {
        Space::Discrete(ARMS)
    }

    fn sample_task(rng: &mut Rng) -> Vec<f32> {
        (0..ARMS).map(|_| rng.uniform()).collect()
    }

    fn with_task(task: &[f32], seed: u64) -> Self {
        Self {
            probabilities: task.to_vec(),
            rng: Rng::new(seed),
        }
    }

    fn step_with_noise(&mut self, action: Vec<f32>, noise: f32) -> StepResult<Vec<f32>> {
        let arm = (action[0].round().max(0.0) as usize).min(ARMS - 1);
        let paid = noise < self.probabilities[arm];
        StepResult {
            next_state: self.state(),
            reward: if paid { 1.0 } else { 0.0 },
            done: true,
            truncated: false,
        }
    }

    fn reset_batch(n: usize, device: &Device) -> Tensor<2> {
        Tensor::ones([n, 1], device)
    }

    fn step_batch(
        state: Tensor<2>,
        actions: Tensor<2>,
        tasks: Tensor<2>,
        noise: Tensor<2>,
    ) -> (Tensor<2>, Tensor<1>, Tensor<1>) {
        let n = state.dims()[0];
        let arms: Tensor<2, Int> = actions.clamp(0.0, (ARMS - 1) as f32).round().int();
        let probability = tasks.gather(1, arms); // [n, 1]
        let reward = noise.lower(probability).float().reshape([n]);
        let device = reward.device();
        (state, reward, Tensor::ones([n], &device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::env::checked_step;
    use crate::rl::env::tests::assert_batch_agrees_with_episodes;

    #[test]
    fn an_arm_pays_with_its_probability() {
        let mut env = Bandit::with_task(&[0.0, 1.0, 0.0, 0.0, 0.3], 4);
        assert_eq!(checked_step(&mut env, &[1.0]).unwrap().reward, 1.0);
        assert_eq!(checked_step(&mut env, &[0.0]).unwrap().reward, 0.0);
        // Out-of-range arms are clipped to the last one.
        let pulls = (0..2000)
            .map(|_| checked_step(&mut env, &[9.0]).unwrap().reward)
            .sum::<f64>();
        assert!((pulls / 2000.0 - 0.3).abs() < 0.04, "{pulls}");
        assert!(checked_step(&mut env, &[f32::NAN]).is_err());
    }

    #[test]
    fn batched_dynamics_agree_with_episodes() {
        assert_batch_agrees_with_episodes::<Bandit>(1);
    }
}
