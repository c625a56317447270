//! The genome of a few-shot learner: which algorithm, its inner loop, its outer rate, its
//! meta-batch and its network (backbone and layer sizes) — decoded into the `meta-train`
//! settings that run it.

use super::genome::{Gene, GeneKind, Genome, Space};
use crate::data::episode::EpisodeSpec;
use crate::data::protocol::Protocol;
use crate::meta::MetaLearner;
use crate::meta::inner::InnerLoop;
use crate::meta::maml::{Maml, MamlConfig};
use crate::meta::meta_sgd::MetaSgd;
use crate::meta::protonet::ProtoNet;
use crate::meta::run::{MetaTrainConfig, MetaTrainRun};
use crate::model::{Architecture, Backbone, Sizes};
use burn::tensor::Device;

/// Algorithms the search chooses among, by gene value.
pub const ALGORITHMS: [&str; 4] = ["fomaml", "maml", "meta-sgd", "protonet"];

/// Backbones the search chooses among, by gene value.
pub const BACKBONES: [Backbone; 2] = [Backbone::Conv4, Backbone::Reference];

/// Outer rate and meta-batch of the hand-picked defaults (`meta-train`'s own).
const DEFAULT_OUTER_LR: f64 = 1e-3;
const DEFAULT_META_BATCH: usize = 4;

/// How long a meta-training run goes and how often it is validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Meta-steps.
    pub steps: usize,
    /// Meta-steps between validations.
    pub validate_every: usize,
    /// Validation tasks.
    pub val_episodes: usize,
}

/// A learner's settings, as a genome describes them.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnerSettings {
    /// One of [`ALGORITHMS`].
    pub algorithm: &'static str,
    /// The inner loop (unused by ProtoNet, which has none).
    pub inner: InnerLoop,
    /// Adam learning rate of the outer loop (ProtoNet's only rate).
    pub outer_lr: f64,
    /// Tasks per meta-step.
    pub meta_batch: usize,
    /// The network: its backbone and layer sizes (Conv-4 ignores the hidden width).
    pub architecture: Architecture,
}

/// The genes of a learner.
pub fn learner_space() -> Space {
    let gene = |name: &str, kind| Gene {
        name: name.into(),
        kind,
    };
    vec![
        gene("algorithm", GeneKind::Choice(ALGORITHMS.len())),
        gene(
            "inner-lr",
            GeneKind::Log {
                low: 0.003,
                high: 1.0,
            },
        ),
        gene("inner-steps", GeneKind::Int { low: 1, high: 5 }),
        gene(
            "outer-lr",
            GeneKind::Log {
                low: 1e-4,
                high: 1e-2,
            },
        ),
        gene("meta-batch", GeneKind::Int { low: 1, high: 8 }),
        gene("head-only", GeneKind::Choice(2)),
        gene("backbone", GeneKind::Choice(BACKBONES.len())),
        gene("channels", GeneKind::LogInt { low: 8, high: 96 }),
        gene("hidden", GeneKind::LogInt { low: 16, high: 256 }),
    ]
}

/// Refuses a search saved with other genes than [`learner_space`]'s (by an older version).
pub fn check_space(space: &Space) -> Result<(), String> {
    let names = |space: &Space| space.iter().map(|g| g.name.clone()).collect::<Vec<_>>();
    if *space == learner_space() {
        Ok(())
    } else {
        Err(format!(
            "the search was saved with the genes {:?}, this version has {:?}: start a new search",
            names(space),
            names(&learner_space())
        ))
    }
}

impl LearnerSettings {
    /// The settings `genome` (of [`learner_space`]) describes.
    pub fn decode(genome: &[f64]) -> Self {
        let int = |i: usize| genome[i].round().max(1.0) as usize;
        Self {
            algorithm: ALGORITHMS[(genome[0].round().max(0.0) as usize).min(ALGORITHMS.len() - 1)],
            inner: InnerLoop::new()
                .with_lr(genome[1])
                .with_steps(int(2))
                .with_head_only(genome[5] >= 0.5),
            outer_lr: genome[3],
            meta_batch: int(4),
            architecture: Architecture {
                backbone: BACKBONES[(genome[6].round().max(0.0) as usize).min(BACKBONES.len() - 1)],
                sizes: Sizes {
                    channels: int(7),
                    hidden: int(8),
                    spatial: false,
                },
            },
        }
    }

    /// `meta-train`'s own settings for `algorithm` (the hand-picked defaults).
    pub fn defaults(algorithm: &'static str) -> Self {
        Self {
            algorithm,
            inner: InnerLoop::new(),
            outer_lr: DEFAULT_OUTER_LR,
            meta_batch: DEFAULT_META_BATCH,
            architecture: Backbone::Conv4.into(),
        }
    }

    /// The genome of these settings.
    pub fn encode(&self) -> Genome {
        let algorithm = ALGORITHMS
            .iter()
            .position(|a| *a == self.algorithm)
            .unwrap_or(0);
        vec![
            algorithm as f64,
            self.inner.lr,
            self.inner.steps as f64,
            self.outer_lr,
            self.meta_batch as f64,
            if self.inner.head_only { 1.0 } else { 0.0 },
            BACKBONES
                .iter()
                .position(|b| *b == self.architecture.backbone)
                .unwrap_or(0) as f64,
            self.architecture.sizes.channels as f64,
            self.architecture.sizes.hidden as f64,
        ]
    }

    /// A fresh learner with these settings for `way`-way tasks.
    pub fn learner(&self, way: usize, device: &Device) -> Box<dyn MetaLearner> {
        let maml = MamlConfig::new(way, self.inner.clone())
            .with_outer_lr(self.outer_lr)
            .with_second_order(self.algorithm == "maml");
        let network = self.architecture;
        match self.algorithm {
            "protonet" => Box::new(ProtoNet::new(network, self.outer_lr, device)),
            "meta-sgd" => Box::new(MetaSgd::new(network, maml, device)),
            _ => Box::new(Maml::new(network, maml, device)),
        }
    }

    /// A meta-training run of a fresh learner on `protocol`'s `spec` tasks for `budget` tasks
    /// (meta-steps × meta-batch), validated once at the end on `val_episodes` tasks: its best
    /// validation accuracy is the learner's fitness.
    pub fn budget_run(
        &self,
        protocol: Protocol,
        spec: EpisodeSpec,
        budget: usize,
        val_episodes: usize,
        seed: u64,
        device: &Device,
    ) -> Result<MetaTrainRun, String> {
        let steps = (budget / self.meta_batch).max(1);
        let schedule = Schedule {
            steps,
            validate_every: steps,
            val_episodes,
        };
        self.run(protocol, spec, schedule, seed, device)
    }

    /// A meta-training run of a fresh learner with these settings on `protocol`'s `spec` tasks,
    /// validated as `schedule` says, without early stopping.
    pub fn run(
        &self,
        protocol: Protocol,
        spec: EpisodeSpec,
        schedule: Schedule,
        seed: u64,
        device: &Device,
    ) -> Result<MetaTrainRun, String> {
        device.seed(seed);
        let config = MetaTrainConfig::new(spec)
            .with_max_steps(schedule.steps)
            .with_meta_batch(self.meta_batch)
            .with_validate_every(schedule.validate_every)
            .with_val_episodes(schedule.val_episodes)
            .with_patience(0)
            .with_seed(seed);
        MetaTrainRun::new(config, self.learner(spec.way, device), protocol)
            .map_err(|e| e.to_string())
    }

    /// Whether genomes `a` and `b` stand for the same learner (they may differ in genes their
    /// algorithm or backbone ignores, such as ProtoNet's inner loop or Conv-4's hidden width).
    pub fn same_learner(a: &[f64], b: &[f64]) -> bool {
        Self::decode(a).flags() == Self::decode(b).flags()
    }

    /// The `meta-train` flags that run these settings.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = vec![
            "--algo".into(),
            self.algorithm.into(),
            "--outer-lr".into(),
            format!("{:.3e}", self.outer_lr),
            "--meta-batch".into(),
            self.meta_batch.to_string(),
        ];
        if self.algorithm != "protonet" {
            flags.extend([
                "--inner-lr".into(),
                format!("{:.3e}", self.inner.lr),
                "--inner-steps".into(),
                self.inner.steps.to_string(),
            ]);
            if self.inner.head_only {
                flags.push("--head-only".into());
            }
        }
        let (channels, hidden, spatial) = self.architecture.non_standard();
        flags.extend([
            "--backbone".into(),
            self.architecture.backbone.name().into(),
        ]);
        if let Some(channels) = channels {
            flags.extend(["--channels".into(), channels.to_string()]);
        }
        if let Some(hidden) = hidden {
            flags.extend(["--hidden".into(), hidden.to_string()]);
        }
        if spatial {
            flags.push("--spatial-features".into());
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::super::genome::{in_bounds, random_genome};
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn the_defaults_are_in_bounds_and_survive_a_round_trip() {
        for algorithm in ALGORITHMS {
            let settings = LearnerSettings::defaults(algorithm);
            let genome = settings.encode();
            assert!(in_bounds(&learner_space(), &genome), "{algorithm}");
            assert_eq!(LearnerSettings::decode(&genome), settings);
        }
        let mut rng = Rng::new(2);
        for _ in 0..200 {
            let genome = random_genome(&learner_space(), &mut rng);
            let settings = LearnerSettings::decode(&genome);
            assert!((1..=5).contains(&settings.inner.steps));
            assert!((1..=8).contains(&settings.meta_batch));
            assert_eq!(settings.encode(), genome);
        }
    }

    #[test]
    fn a_search_saved_with_other_genes_is_refused() {
        assert!(check_space(&learner_space()).is_ok());
        let older: Space = learner_space().into_iter().take(6).collect();
        let refused = check_space(&older).unwrap_err();
        assert!(refused.contains("start a new search"), "{refused}");
    }

    #[test]
    fn each_algorithm_gene_builds_its_learner() {
        let device = crate::backend::cpu_device();
        for algorithm in ALGORITHMS {
            let learner = LearnerSettings::defaults(algorithm).learner(5, &device);
            assert_eq!(learner.name(), algorithm);
            assert_eq!(learner.model().architecture(), Backbone::Conv4.into());
        }
    }

    #[test]
    fn architecture_genes_size_the_network() {
        let device = crate::backend::cpu_device();
        let mut genome = LearnerSettings::defaults("fomaml").encode();
        (genome[6], genome[7], genome[8]) = (1.0, 12.0, 20.0);
        let learner = LearnerSettings::decode(&genome).learner(5, &device);
        let sizes = Sizes {
            channels: 12,
            hidden: 20,
            spatial: false,
        };
        let reference = Architecture {
            backbone: Backbone::Reference,
            sizes,
        };
        assert_eq!(learner.model().architecture(), reference);
        genome[6] = 0.0;
        let conv4 = LearnerSettings::decode(&genome).learner(5, &device);
        assert_eq!(
            conv4.model().architecture().describe(),
            "conv4 (12 channels)"
        );
    }

    #[test]
    fn protonets_differing_only_in_inner_genes_are_the_same_learner() {
        let protonet = LearnerSettings::defaults("protonet").encode();
        let mut other_inner = protonet.clone();
        (other_inner[1], other_inner[2]) = (0.5, 2.0);
        assert!(LearnerSettings::same_learner(&protonet, &other_inner));
        let fomaml = LearnerSettings::defaults("fomaml").encode();
        let mut other_rate = fomaml.clone();
        other_rate[1] = 0.5;
        assert!(!LearnerSettings::same_learner(&fomaml, &other_rate));
        // Conv-4 has no hidden layer; the reference CNN has.
        let mut other_hidden = fomaml.clone();
        other_hidden[8] = 128.0;
        assert!(LearnerSettings::same_learner(&fomaml, &other_hidden));
        let mut other_channels = fomaml.clone();
        other_channels[7] = 32.0;
        assert!(!LearnerSettings::same_learner(&fomaml, &other_channels));
        let (mut reference, mut wider) = (fomaml.clone(), fomaml.clone());
        (reference[6], wider[6], wider[8]) = (1.0, 1.0, 128.0);
        assert!(!LearnerSettings::same_learner(&reference, &wider));
    }

    #[test]
    fn flags_name_only_what_the_algorithm_uses() {
        let protonet = LearnerSettings::defaults("protonet").flags().join(" ");
        assert_eq!(
            protonet,
            "--algo protonet --outer-lr 1.000e-3 --meta-batch 4 --backbone conv4"
        );
        let mut anil = LearnerSettings::defaults("fomaml");
        anil.inner.head_only = true;
        assert_eq!(
            anil.flags().join(" "),
            "--algo fomaml --outer-lr 1.000e-3 --meta-batch 4 --inner-lr 1.000e-1 --inner-steps 5 --head-only --backbone conv4"
        );
        anil.architecture = Architecture {
            backbone: Backbone::Reference,
            sizes: Sizes {
                channels: 32,
                hidden: 100,
                spatial: false,
            },
        };
        assert!(
            anil.flags()
                .join(" ")
                .ends_with("--backbone reference --hidden 100")
        );
        anil.architecture.backbone = Backbone::Conv4;
        assert!(
            anil.flags()
                .join(" ")
                .ends_with("--backbone conv4 --channels 32")
        );
        anil.architecture.sizes.spatial = true;
        assert!(
            anil.flags()
                .join(" ")
                .ends_with("--backbone conv4 --channels 32 --spatial-features")
        );
    }
}
