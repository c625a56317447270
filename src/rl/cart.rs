//! Goal velocity on a 1-D cart (after the MAML paper's half-cheetah velocity tasks, reduced to
//! one dimension): a cart starts at rest and must hold a speed it cannot see, drawn uniformly
//! from [−1, 1] per task. The action is a force in [−1, 1]; the speed changes by 0.1 × force per
//! step and the position by 0.1 × speed; the reward is minus the distance to the goal speed,
//! minus a small cost for force; episodes last 100 steps. What it teaches beyond navigation: a
//! task read from the reward can concern a *rate*, not a place, and the state must carry the
//! velocity for the policy to control it.

use super::env::{Space, TaskFamily, usable_action};
use crate::rng::Rng;
use burn::rl::{Environment, StepResult};
use burn::tensor::Tensor;

/// Time step: speed changes by `DT` × force, position by `DT` × speed.
const DT: f32 = 0.1;
/// Cost per unit of squared force.
const FORCE_COST: f32 = 0.05;

/// One goal-velocity task.
#[derive(Debug, Clone, PartialEq)]
pub struct CartVelocity {
    goal_speed: f32,
    position: f32,
    speed: f32,
    steps: usize,
}

impl Environment for CartVelocity {
    type State = Vec<f32>;
    type Action = Vec<f32>;
    const MAX_STEPS: usize = 100;

    fn state(&self) -> Vec<f32> {
        vec![self.position, self.speed]
    }

    fn step(&mut self, action: Vec<f32>) -> StepResult<Vec<f32>> {
        self.step_with_noise(usable_action::<Self>(&action), 0.0)
    }

    fn reset(&mut self) {
        (self.position, self.speed, self.steps) = (0.0, 0.0, 0);
    }
}

impl TaskFamily for CartVelocity {
    const NAME: &'static str = "cart";
    const TASK_DIM: usize = 1;
    const STATE_DIM: usize = 2;
    /// As for 2-D navigation: the same Gaussian policy and action scale.
    const INNER_LR: f64 = 0.01;

    fn observation_space() -> Space {
        Space::Box {
            low: vec![f32::NEG_INFINITY; 2],
            high: vec![f32::INFINITY; 2],
        }
    }

    fn action_space() -> Space {
        Space::Box {
            low: vec![-1.0],
            high: vec![1.0],
        }
    }

    fn sample_task(rng: &mut Rng) -> Vec<f32> {
        vec![rng.between(-1.0, 1.0)]
    }

    fn with_task(task: &[f32], _seed: u64) -> Self {
        Self {
            goal_speed: task[0],
            position: 0.0,
            speed: 0.0,
            steps: 0,
        }
    }

    fn step_with_noise(&mut self, action: Vec<f32>, _noise: f32) -> StepResult<Vec<f32>> {
        let force = action[0].clamp(-1.0, 1.0);
        self.speed += DT * force;
        self.position += DT * self.speed;
        self.steps += 1;
        let reward = -(self.speed - self.goal_speed).abs() - FORCE_COST * force * force;
        StepResult {
            next_state: self.state(),
            reward: f64::from(reward),
            done: false,
            truncated: self.steps >= Self::MAX_STEPS,
        }
    }

    fn step_batch(
        state: Tensor<2>,
        actions: Tensor<2>,
        tasks: Tensor<2>,
        _noise: Tensor<2>,
    ) -> (Tensor<2>, Tensor<1>, Tensor<1>) {
        let n = state.dims()[0];
        let force = actions.clamp(-1.0, 1.0); // [n, 1]
        let speed = state.clone().narrow(1, 1, 1) + force.clone() * DT;
        let position = state.narrow(1, 0, 1) + speed.clone() * DT;
        let reward = (speed.clone() - tasks).abs().neg() - force.powi_scalar(2) * FORCE_COST;
        let device = speed.device();
        (
            Tensor::cat(vec![position, speed], 1),
            reward.reshape([n]),
            Tensor::zeros([n], &device),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::env::tests::assert_batch_agrees_with_episodes;

    #[test]
    fn force_changes_speed_and_the_reward_tracks_the_goal_speed() {
        let mut env = CartVelocity::with_task(&[0.5], 1);
        // Force 2 is clipped to 1: speed 0.1, position 0.01; reward −|0.1 − 0.5| − 0.05.
        let result = env.step(vec![2.0]);
        assert!((result.next_state[1] - 0.1).abs() < 1e-6);
        assert!((result.next_state[0] - 0.01).abs() < 1e-6);
        assert!((result.reward - (-0.4 - 0.05)).abs() < 1e-6);
        // Coasting keeps the speed.
        assert!((env.step(vec![0.0]).next_state[1] - 0.1).abs() < 1e-6);
    }

    #[test]
    fn batched_dynamics_agree_with_episodes() {
        assert_batch_agrees_with_episodes::<CartVelocity>(20);
    }
}
