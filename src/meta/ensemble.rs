//! An ensemble of prototypical networks: every member scores a task's queries on its own, and
//! the ensemble predicts the class with the largest sum of the members' probabilities. Each
//! member predicts as it was set to (transductively, from an enlarged support set, from queries
//! averaged over shifts, from centred unit-length features), so an ensemble is inductive when
//! its members are.

use super::FewShotLearner;
use super::protonet::ProtoNet;
use crate::data::episode::Episode;
use burn::tensor::{Int, Tensor};

/// Two or more ProtoNets that predict together.
pub struct ProtoNetEnsemble {
    members: Vec<ProtoNet>,
}

impl ProtoNetEnsemble {
    /// The ensemble of `members`; refused with fewer than two.
    pub fn new(members: Vec<ProtoNet>) -> Result<Self, String> {
        match members.len() {
            0 | 1 => Err(format!(
                "an ensemble needs at least two networks, not {}",
                members.len()
            )),
            _ => Ok(Self { members }),
        }
    }
}

impl FewShotLearner for ProtoNetEnsemble {
    fn name(&self) -> &'static str {
        "protonet-ensemble"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let probabilities = self
            .members
            .iter()
            .map(|member| member.probabilities(episode));
        let total = probabilities
            .reduce(|sum, next| sum + next)
            .expect("an ensemble has members");
        total.argmax(1).squeeze_dim(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::bench::synthetic_images;
    use crate::data::episode::{ClassPool, EpisodeSpec};
    use crate::model::Backbone;
    use crate::rng::Rng;

    /// Argmax of each row of `[rows, way]` numbers.
    fn row_argmax(numbers: Tensor<2>) -> Vec<usize> {
        let way = numbers.dims()[1];
        let numbers: Vec<f32> = numbers.into_data().try_to_vec().expect("floats");
        let best = |row: &[f32]| (0..way).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        numbers.chunks(way).map(best).collect()
    }

    /// The ensemble predicts the argmax of its members' summed probabilities, worked out here
    /// from each member's own. The images' labels are random, so that the two untrained
    /// members disagree and neither alone gives the ensemble's predictions.
    #[test]
    fn ensemble_predicts_the_largest_sum_of_probabilities() {
        let device = cpu_device();
        let members: Vec<ProtoNet> = [3, 4]
            .iter()
            .map(|&seed| {
                device.seed(seed);
                ProtoNet::new(Backbone::Reference, 1e-3, &device)
            })
            .collect();
        let classes: Vec<usize> = (0..10).collect();
        let spec = EpisodeSpec {
            way: 5,
            shot: 1,
            query: 6,
        };
        let mut images = synthetic_images(400, 8);
        let mut rng = Rng::new(5);
        for label in &mut images.labels {
            *label = rng.below(10) as u8;
        }
        let episode = ClassPool::from_labels(&images)
            .sample(&classes, spec, &mut rng)
            .unwrap();
        let [first, second] = [0, 1].map(|i| members[i].probabilities(&episode));
        let expected = row_argmax(first.clone() + second.clone());
        assert_ne!(
            expected,
            row_argmax(first),
            "not the first member's predictions"
        );
        assert_ne!(
            expected,
            row_argmax(second),
            "not the second member's predictions"
        );
        let ensemble = ProtoNetEnsemble::new(members).unwrap();
        let predicted: Vec<usize> = ensemble
            .predict(&episode)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .expect("labels")
            .into_iter()
            .map(|label| label as usize)
            .collect();
        assert_eq!(predicted, expected);
    }

    #[test]
    fn an_ensemble_needs_two_members() {
        let device = cpu_device();
        let one = vec![ProtoNet::new(Backbone::Reference, 1e-3, &device)];
        let refusal = ProtoNetEnsemble::new(one).err().unwrap();
        assert_eq!(refusal, "an ensemble needs at least two networks, not 1");
    }
}
