//! `fewshot-lab meta-train` and `fewshot-lab eval`: few-shot learning on a protocol.

use super::results::{self, CurvePoint, ResultLine};
use crate::bench::{median, now_ms};
use crate::data::episode::{ClassPool, EpisodeSpec};
use crate::data::protocol::{ExtraClasses, Protocol, digits, p1, p2, style_shift};
use crate::data::tasks::{Styles, TaskDraw, Tasks};
use crate::data::{ImageSet, NUM_CLASSES};
use crate::meta::ensemble::ProtoNetEnsemble;
use crate::meta::es_maml::{EsConfig, EsMaml};
use crate::meta::finetune::FineTune;
use crate::meta::inner::InnerLoop;
use crate::meta::maml::{Maml, MamlConfig};
use crate::meta::meta_sgd::MetaSgd;
use crate::meta::pretrained::Pretrained;
use crate::meta::protonet::ProtoNet;
use crate::meta::reptile::Reptile;
use crate::meta::run::{MetaEvent, MetaTrainConfig, MetaTrainRun};
use crate::meta::scratch::Scratch;
use crate::meta::{Accuracy, FewShotLearner, MetaLearner, evaluate};
use crate::model::catalog::{Catalog, WeightsEntry};
use crate::model::{Architecture, Backbone, Network, Sizes, from_bytes};
use burn::nn::{Initializer, LinearConfig};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Learners the CLI knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Algo {
    /// Second-order MAML (finite-difference Hessian-vector products, ReLU and max-pool switches held).
    Maml,
    /// First-order MAML.
    Fomaml,
    /// Reptile.
    Reptile,
    /// Meta-SGD: MAML with learned per-parameter inner learning rates.
    MetaSgd,
    /// ES-MAML: the meta-gradient estimated by evolution strategies from adapted losses alone.
    EsMaml,
    /// Prototypical networks.
    Protonet,
    /// Baseline: pre-trained on all meta-training classes, new head fitted to the support set.
    Pretrained,
    /// Baseline, no meta-learning: Adam on the support set from a random initialisation.
    Scratch,
    /// A trained classifier as it is, no adaptation (tasks in its own class order).
    Classifier,
    /// A trained classifier fine-tuned on the support set with Adam (tasks in its own class
    /// order).
    Finetune,
}

impl Algo {
    /// Name in the catalogue and in result lines.
    fn name(self) -> &'static str {
        match self {
            Self::Maml => "maml",
            Self::Fomaml => "fomaml",
            Self::Reptile => "reptile",
            Self::MetaSgd => "meta-sgd",
            Self::EsMaml => "es-maml",
            Self::Protonet => "protonet",
            Self::Pretrained => "pretrained",
            Self::Scratch => "scratch",
            Self::Classifier => "classifier",
            Self::Finetune => "finetune",
        }
    }

    /// Output classes of the networks this learner saves: the task's way, or the 10-way layer
    /// that feature learners keep but never use.
    fn saved_classes(self, way: usize) -> usize {
        match self {
            Self::Protonet | Self::Pretrained | Self::Classifier | Self::Finetune => NUM_CLASSES,
            _ => way,
        }
    }
}

/// Few-shot benchmarks (see `data::protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtocolName {
    /// Novel digits: meta-train on 0-4, meta-test on 5-9.
    P1,
    /// Two-digit classes "00"-"99", split 64 / 16 / 20.
    P2,
    /// All ten digits (the playground's checkpoints): train split vs test split images.
    Digits,
    /// Ten-way digit tasks (label = digit), each in a random handwriting style.
    StyleShift,
}

impl ProtocolName {
    /// The name on the command line, in the catalogue and in result files (`style-shift`).
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).map_or_else(String::new, |v| v.get_name().into())
    }
}

/// Settings shared by meta-training and evaluation.
#[derive(Debug, Clone, clap::Args)]
pub struct TaskArgs {
    /// Benchmark protocol.
    #[arg(long, value_enum, default_value_t = ProtocolName::P1)]
    pub protocol: ProtocolName,
    /// Folder holding manifest.json and the shards.
    #[arg(long, default_value = "static/mnist")]
    pub data: PathBuf,
    /// Network architecture of new networks (saved ones say theirs in the catalogue).
    #[arg(long, value_enum, default_value_t = Backbone::Conv4)]
    pub backbone: Backbone,
    /// Channels of every convolution of new networks (default: the backbone's standard, 32 for
    /// the reference CNN, 64 for conv4).
    #[arg(long)]
    pub channels: Option<usize>,
    /// Width of the reference CNN's hidden layer, its features, in new networks (default 64;
    /// conv4 has no hidden layer).
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Conv4 only: new networks keep the last block's 3×3 map as their features (9 × channels)
    /// instead of max-pooling it to 1×1.
    #[arg(long)]
    pub spatial_features: bool,
    /// Classes per task (N).
    #[arg(long, default_value_t = 5)]
    pub way: usize,
    /// Support images per class (K).
    #[arg(long, default_value_t = 1)]
    pub shot: usize,
    /// Query images per class (Q).
    #[arg(long, default_value_t = 5)]
    pub query: usize,
    /// Inner-loop SGD steps (when evaluating saved weights: instead of the catalogued ones).
    #[arg(long)]
    pub inner_steps: Option<usize>,
    /// Inner-loop SGD learning rate (Meta-SGD: the rates' starting value; when evaluating
    /// saved weights: instead of the catalogued one).
    #[arg(long)]
    pub inner_lr: Option<f64>,
    /// Adapt only the output layer in the inner loop, with a normalised step (ANIL).
    #[arg(long)]
    pub head_only: bool,
    /// Set the output layer from the support prototypes at the start of each task.
    #[arg(long)]
    pub proto_head: bool,
    /// Keep task labels in class order (label = digit for ten-way digit tasks) instead of a
    /// random permutation (the style-shift protocol always does).
    #[arg(long)]
    pub fixed_order: bool,
    /// Adam steps of the `finetune` method.
    #[arg(long, default_value_t = 20)]
    pub finetune_steps: usize,
    /// Adam learning rate of the `finetune` method.
    #[arg(long, default_value_t = 1e-3)]
    pub finetune_lr: f64,
    /// Seed for initialisation and task sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// How meta-training's outer loop learns: `meta-train` only, since a saved network adapts and
/// predicts the same way whatever these were (`eval` has none of them, rather than ignoring them).
#[derive(Debug, Clone, clap::Args)]
pub struct OuterArgs {
    /// ES-MAML: antithetic pairs of random directions per meta-step.
    #[arg(long, default_value_t = 16)]
    pub es_directions: usize,
    /// ES-MAML: how far the initialisation moves along each direction.
    #[arg(long, default_value_t = 0.01)]
    pub es_sigma: f64,
    /// Meta-SGD: keep the Hessian terms in the meta-gradient (MAML always does, FOMAML never).
    #[arg(long)]
    pub second_order: bool,
    /// MAML, an ablation: take the Hessian-vector products on the support loss with its ReLU
    /// and max-pool switches free, as this project did before it held them (wrong: the switches
    /// that flip inside the probe swamp the curvature).
    #[arg(long)]
    pub free_switches: bool,
    /// Outer-loop Adam learning rate of MAML, Meta-SGD and ProtoNet.
    #[arg(long, default_value_t = 1e-3)]
    pub outer_lr: f64,
    /// Reptile's outer interpolation step ε.
    #[arg(long, default_value_t = 0.1)]
    pub outer_step: f64,
    /// Reptile: meta-train the inner loop on each task's support and query images together, a
    /// different minibatch of two images per class each step (as Nichol et al., 2018 do),
    /// instead of the support set alone; adaptation when testing is unchanged.
    #[arg(long)]
    pub query_minibatches: bool,
}

impl Default for OuterArgs {
    /// The flags' defaults (kept in one place: the attributes above).
    fn default() -> Self {
        use clap::{Args, FromArgMatches};
        let matches =
            Self::augment_args(clap::Command::new("defaults")).get_matches_from(["defaults"]);
        Self::from_arg_matches(&matches).expect("the defaults parse")
    }
}

impl TaskArgs {
    /// The backbone and layer sizes of new networks.
    pub fn architecture(&self) -> Result<Architecture, String> {
        if self.backbone == Backbone::Conv4 && self.hidden.is_some() {
            return Err("--hidden sizes the reference CNN's hidden layer; conv4 has none (its features are its --channels)".into());
        }
        if self.backbone == Backbone::Reference && self.spatial_features {
            return Err("--spatial-features keeps conv4's last feature map; the reference CNN's features come from a dense layer".into());
        }
        let standard = self.backbone.standard_sizes();
        let architecture = Architecture {
            backbone: self.backbone,
            sizes: Sizes {
                channels: self.channels.unwrap_or(standard.channels),
                hidden: self.hidden.unwrap_or(standard.hidden),
                spatial: self.spatial_features,
            },
        }
        .canonical();
        architecture.check().map(|()| architecture)
    }

    fn spec(&self) -> EpisodeSpec {
        EpisodeSpec {
            way: self.way,
            shot: self.shot,
            query: self.query,
        }
    }

    /// The inner loop the flags describe.
    fn inner(&self) -> InnerLoop {
        let defaults = InnerLoop::new();
        InnerLoop::new()
            .with_steps(self.inner_steps.unwrap_or(defaults.steps))
            .with_lr(self.inner_lr.unwrap_or(defaults.lr))
            .with_head_only(self.head_only)
            .with_proto_head(self.proto_head)
    }

    /// `catalogued` with the inner-loop flags given on the command line applied on top.
    fn override_inner(&self, catalogued: InnerLoop) -> InnerLoop {
        InnerLoop {
            steps: self.inner_steps.unwrap_or(catalogued.steps),
            lr: self.inner_lr.unwrap_or(catalogued.lr),
            ..catalogued
        }
    }

    /// The protocol, with `draw`'s settings added to its meta-training tasks (its styles, when
    /// set, replace the protocol's own: `--image-styles` on style-shift styles every image).
    fn protocol(&self, extra: ExtraClasses, draw: TaskDraw) -> Result<Protocol, String> {
        let (train, test) = crate::data::load_dir(&self.data).map_err(|e| e.to_string())?;
        if self.protocol == ProtocolName::P2 {
            let (train, val, test) = crate::data::protocol::p2_class_split();
            let show = |c: &[usize]| {
                c.iter()
                    .map(|n| format!("{n:02}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            println!("P2 classes — train: {}", show(&train));
            println!("P2 classes — validation: {}", show(&val));
            println!("P2 classes — test: {}", show(&test));
        }
        let mut protocol = match self.protocol {
            ProtocolName::P1 => p1(&train, &test, extra),
            ProtocolName::P2 => p2(&train, &test, extra),
            ProtocolName::Digits => digits(&train, &test, extra),
            ProtocolName::StyleShift => style_shift(&train, &test, extra),
        };
        let own = protocol.train_draw;
        protocol.train_draw = TaskDraw {
            fixed_order: own.fixed_order || draw.fixed_order || self.fixed_order,
            styles: if draw.styles == Styles::None {
                own.styles
            } else {
                draw.styles
            },
            jitter: draw.jitter,
        };
        if self.fixed_order {
            protocol.held_out_draw.fixed_order = true;
        }
        Ok(protocol)
    }
}

/// Saved weights of a learner and what the catalogue says about them.
struct Weights {
    model: Network,
    rates: Option<Network>,
    inner: InnerLoop,
}

/// `model` as a start for `way`-class meta-training with an inner loop, whose meta-gradients
/// have a `way`-wide output layer. Where the prototype layer replaces the output layer in every
/// task (`proto_head`), the start's own layer is never used: a new `way`-wide one of zeros (the
/// same every run) takes its place.
fn output_width(model: Network, way: usize, proto_head: bool) -> Result<Network, String> {
    let [features, classes] = model.output_layer().weight.dims();
    if classes == way {
        Ok(model)
    } else if proto_head {
        let device = model.output_layer().weight.device();
        let layer = LinearConfig::new(features, way).with_initializer(Initializer::Zeros);
        Ok(model.with_output(layer.init(&device)))
    } else {
        Err(format!(
            "a {classes}-way output layer, not {way}-way: meta-train it with --proto-head \
             (which replaces that layer in every task), or with --way {classes}"
        ))
    }
}

/// Where Meta-SGD keeps its learning rates next to the weights file `path`.
fn rates_path(path: &Path) -> PathBuf {
    path.with_extension("rates.bpk")
}

/// The catalogue entry of the weights file `path`, from the `manifest.json` next to it.
fn catalogued(path: &Path) -> Option<WeightsEntry> {
    let catalogue = path.with_file_name("manifest.json");
    let file = path.file_name()?.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(catalogue).ok()?;
    Catalog::parse(&text).ok()?.entry(&file).cloned()
}

/// Reads the weights `algo` saved at `path`; the catalogue next to the file says which
/// backbone, how many classes and which inner loop (else the flags do).
fn load_weights(algo: Algo, args: &TaskArgs, path: &Path) -> Result<Weights, String> {
    let device = super::backend().device.clone().autodiff();
    let entry = catalogued(path);
    let architecture = match &entry {
        Some(entry) => entry.architecture(),
        None => args.architecture()?,
    };
    let classes = entry
        .as_ref()
        .map_or_else(|| algo.saved_classes(args.way), |e| e.classes);
    let inner = match entry.as_ref().and_then(|e| e.inner.clone()) {
        Some(catalogued) => args.override_inner(catalogued),
        None => args.inner(),
    };
    if algo == Algo::MetaSgd && classes != args.way {
        return Err(format!(
            "{}: Meta-SGD's learned rates fit a {classes}-way output layer; evaluate it with --way {classes}",
            path.display()
        ));
    }
    let read = |path: &Path| {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        from_bytes(&bytes, architecture, classes, &device)
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    Ok(Weights {
        model: read(path)?,
        rates: match algo {
            Algo::MetaSgd => Some(read(&rates_path(path))?),
            _ => None,
        },
        inner,
    })
}

/// Adam steps the scratch baseline takes on each support set.
const SCRATCH_STEPS: usize = 50;

/// The learner `algo`, fresh or from `weights`; `pool_classes` sizes the pre-training head.
fn learner(
    algo: Algo,
    args: &TaskArgs,
    outer: &OuterArgs,
    weights: Option<Weights>,
    pool_classes: usize,
) -> Result<Box<dyn MetaLearner>, String> {
    let device = super::backend().device.clone();
    device.seed(args.seed);
    // The flags' architecture, for fresh networks only: saved ones have their own.
    let fresh = || args.architecture();
    let maml = |inner: InnerLoop| {
        MamlConfig::new(args.way, inner)
            .with_outer_lr(outer.outer_lr)
            .with_second_order(algo == Algo::Maml || (algo == Algo::MetaSgd && outer.second_order))
            .with_free_switches(outer.free_switches)
    };
    Ok(match (algo, weights) {
        (Algo::Scratch | Algo::Classifier | Algo::Finetune, _) => {
            return Err(format!("{} is not meta-trained", algo.name()));
        }
        (Algo::Maml | Algo::Fomaml, None) => {
            Box::new(Maml::new(fresh()?, maml(args.inner()), &device))
        }
        (Algo::Maml | Algo::Fomaml, Some(w)) => {
            Box::new(Maml::from_model(w.model, maml(w.inner), &device))
        }
        (Algo::Reptile, weights) => {
            let reptile = match weights {
                None => Reptile::new(fresh()?, args.way, args.inner(), outer.outer_step, &device),
                Some(w) => Reptile::from_model(w.model, w.inner, outer.outer_step),
            };
            Box::new(if outer.query_minibatches {
                reptile.with_query_minibatches()
            } else {
                reptile
            })
        }
        (Algo::MetaSgd, None) => Box::new(MetaSgd::new(fresh()?, maml(args.inner()), &device)),
        (Algo::MetaSgd, Some(w)) => {
            let rates = w.rates.ok_or("Meta-SGD needs its learning-rate file")?;
            Box::new(MetaSgd::from_parts(w.model, rates, maml(w.inner), &device))
        }
        (Algo::EsMaml, weights) => {
            let es = EsConfig {
                directions: outer.es_directions,
                sigma: outer.es_sigma,
            };
            if es.directions == 0 || !(es.sigma > 0.0 && es.sigma.is_finite()) {
                return Err("ES-MAML needs --es-directions ≥ 1 and a positive --es-sigma".into());
            }
            match weights {
                None => Box::new(EsMaml::new(fresh()?, maml(args.inner()), es, &device)),
                Some(w) => Box::new(EsMaml::from_model(w.model, maml(w.inner), es, &device)),
            }
        }
        (Algo::Protonet, None) => Box::new(ProtoNet::new(fresh()?, outer.outer_lr, &device)),
        (Algo::Protonet, Some(w)) => {
            Box::new(ProtoNet::from_model(w.model, outer.outer_lr, &device))
        }
        (Algo::Pretrained, None) => Box::new(Pretrained::new(fresh()?, pool_classes, &device)),
        (Algo::Pretrained, Some(w)) => {
            Box::new(Pretrained::from_model(w.model, pool_classes, &device))
        }
    })
}

/// How meta-training runs.
#[derive(Debug, Clone, clap::Args)]
pub struct MetaTrainArgs {
    /// Meta-steps at most.
    #[arg(long, default_value_t = MetaTrainConfig::new(SPEC).max_steps)]
    pub steps: usize,
    /// Stop after this many minutes of meta-training even if --steps are not done (0: no
    /// limit); the best network so far is kept.
    #[arg(long, default_value_t = 0.0)]
    pub max_minutes: f64,
    /// Tasks per outer step.
    #[arg(long, default_value_t = MetaTrainConfig::new(SPEC).meta_batch)]
    pub meta_batch: usize,
    /// Meta-steps between validations.
    #[arg(long, default_value_t = MetaTrainConfig::new(SPEC).validate_every)]
    pub validate_every: usize,
    /// Validation tasks.
    #[arg(long, default_value_t = MetaTrainConfig::new(SPEC).val_episodes)]
    pub val_episodes: usize,
    /// Stop after this many validations without a new best (0: never stop early).
    #[arg(long, default_value_t = MetaTrainConfig::new(SPEC).patience)]
    pub patience: usize,
    /// Add 90°/180°/270° rotations of the training classes as new classes.
    #[arg(long)]
    pub rotations: bool,
    /// Add left-right mirrors of the training classes as new classes.
    #[arg(long)]
    pub mirrors: bool,
    /// Add half-and-half chimeras of every pair of training classes as new classes.
    #[arg(long)]
    pub chimeras: bool,
    /// Add this many synthetic glyph classes (random stroke symbols drawn by random hands).
    #[arg(long, default_value_t = 0)]
    pub glyphs: usize,
    /// Shift each training image by up to this many pixels per axis.
    #[arg(long, default_value_t = 0)]
    pub jitter: usize,
    /// Write each meta-training task in a random handwriting style.
    #[arg(long)]
    pub styles: bool,
    /// Write each meta-training image in its own random handwriting style.
    #[arg(long, conflicts_with = "styles")]
    pub image_styles: bool,
    /// Start from these weights (a file listed in the catalogue next to it, e.g. a trained
    /// classifier) instead of a random initialisation.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Save the best validated weights here (Meta-SGD adds NAME.rates.bpk).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Append one JSON line per validation (the learning curve) to this file.
    #[arg(long)]
    pub curve: Option<PathBuf>,
    /// After training, evaluate the best network on this many test tasks (0: none).
    #[arg(long, default_value_t = 0)]
    pub test_episodes: usize,
    #[command(flatten)]
    pub outer: OuterArgs,
}

/// What a meta-training run reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// The best validation accuracy (the kept network's).
    pub validation: Accuracy,
    /// That network's accuracy on test tasks, when asked for.
    pub test: Option<Accuracy>,
    /// Minutes of the whole run.
    pub minutes: f64,
}

/// Appends `line` to the file at `path` (created if missing).
pub(super) fn append_line(path: &Path, line: &str) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    writeln!(file, "{line}").map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A placeholder task shape, only to read the defaults of [`MetaTrainConfig`].
const SPEC: EpisodeSpec = EpisodeSpec {
    way: 5,
    shot: 1,
    query: 5,
};

/// Meta-trains `algo` on the chosen protocol with validation and early stopping; saves the
/// best validated network and, when asked, tests it.
pub fn meta_train(algo: Algo, args: &TaskArgs, run: &MetaTrainArgs) -> Result<Trained, String> {
    if run.outer.query_minibatches && algo != Algo::Reptile {
        return Err(format!(
            "--query-minibatches applies to reptile only, not {}",
            algo.name()
        ));
    }
    let protocol = args.protocol(
        ExtraClasses {
            rotations: run.rotations,
            mirrors: run.mirrors,
            chimeras: run.chimeras,
            glyphs: run.glyphs,
        },
        TaskDraw {
            fixed_order: false,
            jitter: run.jitter,
            styles: if run.image_styles {
                Styles::PerImage
            } else if run.styles {
                Styles::PerTask
            } else {
                Styles::None
            },
        },
    )?;
    if args.protocol == ProtocolName::StyleShift && protocol.train_pool.num_classes() > NUM_CLASSES
    {
        return Err(
            "the style-shift protocol labels tasks by digit: extra classes do not fit it".into(),
        );
    }
    let val_way = protocol.val_tasks(args.spec()).spec.way;
    if algo == Algo::MetaSgd && val_way != args.way {
        return Err(format!(
            "Meta-SGD learns rates for a {}-way output layer, but the validation classes allow \
             {val_way}-way tasks: use --way {val_way}",
            args.way
        ));
    }
    let start = match &run.init {
        Some(path) => {
            let mut weights = load_weights(Algo::Classifier, args, path)?;
            let has_inner_loop = !matches!(algo, Algo::Protonet | Algo::Pretrained);
            if has_inner_loop {
                weights.model = output_width(weights.model, args.way, args.proto_head)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            weights.inner = args.inner();
            if algo == Algo::MetaSgd {
                let rates = args.inner().rates(&weights.model, args.inner().lr);
                weights.rates = Some(rates.assign(weights.model.clone()));
            }
            Some(weights)
        }
        None => None,
    };
    let learner = learner(
        algo,
        args,
        &run.outer,
        start,
        protocol.train_pool.num_classes(),
    )?;
    let config = MetaTrainConfig::new(args.spec())
        .with_max_steps(run.steps)
        .with_meta_batch(run.meta_batch)
        .with_validate_every(run.validate_every)
        .with_val_episodes(run.val_episodes)
        .with_patience(run.patience)
        .with_seed(args.seed);
    let mut training = MetaTrainRun::new(config, learner, protocol).map_err(|e| e.to_string())?;
    let bar = ProgressBar::new(run.steps as u64).with_style(
        ProgressStyle::with_template(
            "[{bar:30}] {pos}/{len} meta-steps  {per_sec}  eta {eta}  {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    let protocol_name = args.protocol.name();
    let started = now_ms();
    let mut step_ms: Vec<f64> = Vec::new();
    let stop = loop {
        let step_started = now_ms();
        let event = pollster::block_on(training.advance()).map_err(|e| e.to_string())?;
        let seconds = (now_ms() - started) / 1e3;
        match event {
            MetaEvent::Step { step, loss } => {
                step_ms.push(now_ms() - step_started);
                bar.set_position(step as u64);
                bar.set_message(format!("query loss {loss:.3}"));
                if run.max_minutes > 0.0 && seconds > run.max_minutes * 60.0 {
                    break "time-limit";
                }
            }
            MetaEvent::Validated {
                step,
                accuracy,
                best,
            } => {
                let mark = if best { " (best)" } else { "" };
                bar.suspend(|| {
                    println!(
                        "step {step}: validation accuracy {:.4} ± {:.4} ({} tasks, {seconds:.0} s){mark}",
                        accuracy.mean, accuracy.ci95, accuracy.episodes
                    )
                });
                if let Some(file) = &run.curve {
                    let point = CurvePoint {
                        algorithm: training.learner().name().into(),
                        backbone: training.learner().model().architecture().describe(),
                        protocol: protocol_name.clone(),
                        commit: results::git_commit(),
                        machine: results::machine(super::backend()),
                        step,
                        seconds,
                        val_accuracy: accuracy.mean,
                        val_ci95: accuracy.ci95,
                        val_way: training.validation_spec().way,
                        shot: args.shot,
                        weights: run
                            .save
                            .as_ref()
                            .and_then(|p| p.file_name())
                            .map(|n| n.to_string_lossy().into_owned()),
                    };
                    append_line(
                        file,
                        &serde_json::to_string(&point).expect("a curve point serialises"),
                    )?;
                }
            }
            MetaEvent::Finished(reason) => break reason.label(),
        }
    };
    bar.finish_and_clear();
    let seconds = (now_ms() - started) / 1e3;
    let steps = training.step();
    println!("stop={stop}");
    println!("meta_steps={steps}");
    // The mean, and the median, which leaves out a first step that compiles GPU shaders.
    let train_ms: f64 = step_ms.iter().sum();
    println!("meta_step_ms={:.1}", train_ms / steps.max(1) as f64);
    if !step_ms.is_empty() {
        println!("meta_step_ms_median={:.1}", median(step_ms));
    }
    println!("seconds={seconds:.1}");
    let Some(best) = training.best() else {
        return Err(
            "no validation was run: nothing to save (raise --steps or lower --validate-every)"
                .into(),
        );
    };
    println!("best_step={}", best.step);
    println!(
        "validation_accuracy={:.4} ci95={:.4}",
        best.accuracy.mean, best.accuracy.ci95
    );
    if let Some(path) = &run.save {
        let learner = training.learner();
        let entry = WeightsEntry {
            inner: learner.inner_loop().cloned(),
            ..super::catalog_entry(
                learner.name(),
                &protocol_name,
                algo.saved_classes(args.way),
                format!(
                    "validation_accuracy={:.4} ci95={:.4} way={} shot={} best_step={} steps={steps} minutes={:.1}",
                    best.accuracy.mean,
                    best.accuracy.ci95,
                    training.validation_spec().way,
                    args.shot,
                    best.step,
                    seconds / 60.0
                ),
            )
        };
        super::save_weights(path, &best.model, entry.clone())?;
        if let Some(rates) = &best.rates {
            let entry = WeightsEntry {
                algorithm: format!("{} (learning rates)", learner.name()),
                ..entry
            };
            super::save_weights(&rates_path(path), rates, entry)?;
        }
    }
    let test = match run.test_episodes {
        0 => None,
        episodes => {
            let weights = Weights {
                model: best.model.clone(),
                rates: best.rates.clone(),
                inner: training
                    .learner()
                    .inner_loop()
                    .cloned()
                    .unwrap_or_else(|| args.inner()),
            };
            let tested = self::learner(algo, args, &run.outer, Some(weights), 1)?;
            let tasks = training.protocol().test_tasks(args.spec());
            let accuracy =
                pollster::block_on(evaluate(tested.as_ref(), tasks, episodes, args.seed))
                    .map_err(|e| e.to_string())?;
            println!(
                "test_accuracy={:.4} ci95={:.4} episodes={episodes}",
                accuracy.mean, accuracy.ci95
            );
            Some(accuracy)
        }
    };
    Ok(Trained {
        validation: best.accuracy,
        test,
        minutes: seconds / 60.0,
    })
}

/// One method to evaluate: `ALGO` or `ALGO=WEIGHTS`.
#[derive(Debug, Clone)]
pub struct Method {
    algo: Algo,
    weights: Option<PathBuf>,
}

impl std::str::FromStr for Method {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, weights) = match text.split_once('=') {
            Some((name, path)) => (name, Some(PathBuf::from(path))),
            None => (text, None),
        };
        let algo = <Algo as clap::ValueEnum>::from_str(name, true)
            .map_err(|_| format!("unknown method `{name}` (see --help for the list)"))?;
        Ok(Self { algo, weights })
    }
}

/// Where `eval` draws its test tasks from.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// Methods to compare: ALGO=WEIGHTS for meta-learned ones, or just `scratch`.
    #[arg(long = "method", required = true)]
    pub methods: Vec<Method>,
    /// Test tasks per method.
    #[arg(long, default_value_t = 600)]
    pub episodes: usize,
    /// An IDX image file (optionally gzipped) to use as the class pool instead of the protocol.
    #[arg(long, requires = "labels")]
    pub images: Option<PathBuf>,
    /// The IDX label file that goes with --images.
    #[arg(long, requires = "images")]
    pub labels: Option<PathBuf>,
    /// Plain MNIST classifier to report without adaptation when the labels are digits.
    #[arg(long, default_value = "static/weights/mnist-cnn.bpk")]
    pub classifier: PathBuf,
    /// Append one JSON line per method to this results file (see `fewshot-lab results`).
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// Name of the data in result lines (default: the protocol, or the --images file's name;
    /// with --validation, the protocol followed by `-validation`).
    #[arg(long)]
    pub set_name: Option<String>,
    /// Draw the tasks from the protocol's validation classes instead of its test classes: for
    /// choosing evaluation settings without looking at the test classes.
    #[arg(long, conflicts_with = "images")]
    pub validation: bool,
    /// ProtoNet only: predict transductively, refining the prototypes by this many rounds of
    /// soft k-means on each task's unlabelled query images (0: the ordinary rule, one query at
    /// a time).
    #[arg(long, default_value_t = 0)]
    pub transductive: usize,
    /// ProtoNet only: enlarge each support set by copies of every image shifted by up to this
    /// many pixels per axis, (2·N + 1)² images for each (0: the support set as drawn).
    #[arg(long, default_value_t = 0)]
    pub support_shifts: usize,
    /// ProtoNet only: give each query the mean feature of itself and its copies shifted by up
    /// to this many pixels per axis (0: the query as drawn); each query is still classified on
    /// its own.
    #[arg(long, default_value_t = 0)]
    pub query_shifts: usize,
    /// ProtoNet only: take the square root of every support and query feature (sign kept;
    /// a query's after averaging its shifts) before prototypes and centring, the power
    /// transform of Hu et al. (2021) at their β = 0.5; still inductive.
    #[arg(long)]
    pub power_features: bool,
    /// ProtoNet only: centre every support and query feature on the mean support feature and
    /// scale it to unit length before prototypes and distances, so they score cosine
    /// similarity about the support set's centre (SimpleShot's CL2N); still inductive.
    #[arg(long)]
    pub centred_unit_features: bool,
    /// Evaluate the methods, all ProtoNets, as one ensemble that predicts the class with the
    /// largest sum of their probabilities.
    #[arg(long)]
    pub ensemble: bool,
}

/// Reads an IDX image/label pair.
fn read_idx_pair(images: &Path, labels: &Path) -> Result<ImageSet, String> {
    let read = |path: &Path| {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        crate::data::idx::maybe_gunzip(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    crate::data::idx::parse_pair(&read(images)?, &read(labels)?)
        .map_err(|e| format!("{} / {}: {e}", images.display(), labels.display()))
}

/// Accuracy of the plain 10-way classifier at `path` (of the architecture its catalogue entry
/// records, else the reference CNN) on every image of `set`.
fn classifier_accuracy(path: &Path, set: &ImageSet) -> Result<f64, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let device = super::backend().device.clone();
    let architecture = catalogued(path).map_or(Backbone::Reference.into(), |e| e.architecture());
    let model = from_bytes(&bytes, architecture, NUM_CLASSES, &device)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut correct = 0;
    for start in (0..set.len()).step_by(500) {
        let batch = set
            .range(start..(start + 500).min(set.len()))
            .to_batch(&device);
        let predicted = model.forward(batch.images).argmax(1).squeeze_dim::<1>(1);
        let hits = predicted
            .equal(batch.labels)
            .int()
            .sum()
            .into_scalar::<i64>();
        correct += hits as usize;
    }
    Ok(correct as f64 / set.len() as f64)
}

/// The largest `--support-shifts` or `--query-shifts`: 49 images for each image.
const MAX_SHIFTS: usize = 3;

/// A learner `eval` evaluates, and what its result line records about it.
struct Candidate {
    learner: Box<dyn FewShotLearner>,
    record: Record,
}

/// What a result line records about a learner beside its accuracy.
struct Record {
    /// Its backbone, described (an ensemble's members', joined by ` + `).
    backbone: String,
    /// How it adapts, for learners with an inner loop.
    inner: Option<InnerLoop>,
    /// Its weights file (an ensemble's, joined by ` + `).
    weights: Option<String>,
    /// Meta-training steps behind the weights, from their catalogue entry (an ensemble's,
    /// summed over its members).
    meta_steps: Option<usize>,
    /// Minutes of meta-training behind the weights, likewise.
    train_minutes: Option<f64>,
}

impl Record {
    /// A learner of `architecture` adapting by `inner`, from `weights` (with the catalogue's
    /// record of their training).
    fn new(architecture: Architecture, inner: Option<InnerLoop>, weights: Option<&Path>) -> Self {
        let entry = weights.and_then(catalogued);
        let measured = |key: &str| entry.as_ref().and_then(|e| e.measured_value(key));
        Self {
            backbone: architecture.describe(),
            inner,
            weights: weights.map(|p| p.display().to_string()),
            meta_steps: measured("steps").and_then(|v| v.parse().ok()),
            train_minutes: measured("minutes").and_then(|v| v.parse().ok()),
        }
    }

    /// The record of an ensemble of `members`.
    fn ensemble(members: &[Record]) -> Self {
        let backbones: Vec<&str> = members.iter().map(|m| m.backbone.as_str()).collect();
        let weights: Option<Vec<&str>> = members.iter().map(|m| m.weights.as_deref()).collect();
        Self {
            backbone: backbones.join(" + "),
            inner: None,
            weights: weights.map(|files| files.join(" + ")),
            meta_steps: members.iter().map(|member| member.meta_steps).sum(),
            train_minutes: members.iter().map(|member| member.train_minutes).sum(),
        }
    }
}

/// The learner `method` names, set up for evaluation.
fn candidate(method: &Method, args: &TaskArgs, eval: &EvalArgs) -> Result<Candidate, String> {
    let path = match (method.algo, &method.weights) {
        (Algo::Scratch, Some(_)) => return Err("the scratch baseline takes no weights".into()),
        (Algo::Scratch, None) => {
            let architecture = args.architecture()?;
            let scratch = Scratch::new(architecture, SCRATCH_STEPS, 1e-3, &super::backend().device);
            let record = Record::new(architecture, None, None);
            return Ok(Candidate {
                learner: Box::new(scratch),
                record,
            });
        }
        _ => weights_of(method)?,
    };
    if method.algo == Algo::Protonet {
        let (protonet, architecture) = evaluated_protonet(path, args, eval)?;
        return Ok(Candidate {
            learner: Box::new(protonet),
            record: Record::new(architecture, None, Some(path)),
        });
    }
    let weights = load_weights(method.algo, args, path)?;
    let architecture = weights.model.architecture();
    let (learner, inner): (Box<dyn FewShotLearner>, _) = match method.algo {
        Algo::Classifier => (
            Box::new(FineTune::new(weights.model, 0, args.finetune_lr)),
            None,
        ),
        Algo::Finetune => (
            Box::new(FineTune::new(
                weights.model,
                args.finetune_steps,
                args.finetune_lr,
            )),
            None,
        ),
        algo => {
            let learner = learner(algo, args, &OuterArgs::default(), Some(weights), 1)?;
            let inner = learner.inner_loop().cloned();
            (learner, inner)
        }
    };
    Ok(Candidate {
        learner,
        record: Record::new(architecture, inner, Some(path)),
    })
}

/// The weights file of `method`, which needs one.
fn weights_of(method: &Method) -> Result<&Path, String> {
    method.weights.as_deref().ok_or_else(|| {
        let name = method.algo.name();
        format!("{name} needs weights: --method {name}=FILE with a file written by meta-train")
    })
}

/// The ProtoNet saved at `path`, predicting as `eval` says (transductively, from enlarged
/// support sets, from queries averaged over shifts, from square-rooted or centred unit-length
/// features), and its architecture.
fn evaluated_protonet(
    path: &Path,
    args: &TaskArgs,
    eval: &EvalArgs,
) -> Result<(ProtoNet, Architecture), String> {
    let weights = load_weights(Algo::Protonet, args, path)?;
    let architecture = weights.model.architecture();
    // Its outer rate is never used: a saved network is only evaluated.
    let protonet = ProtoNet::from_model(weights.model, 0.0, &super::backend().device)
        .with_transductive(eval.transductive)
        .with_support_shifts(eval.support_shifts)
        .with_query_shifts(eval.query_shifts)
        .with_power_features(eval.power_features)
        .with_centred_unit_features(eval.centred_unit_features);
    Ok((protonet, architecture))
}

/// The methods of `eval`, ProtoNets with weights, as one ensemble (`--ensemble`).
fn ensemble(args: &TaskArgs, eval: &EvalArgs) -> Result<Candidate, String> {
    let mut members = Vec::new();
    let mut records = Vec::new();
    for method in &eval.methods {
        let path = weights_of(method)?;
        let (protonet, architecture) = evaluated_protonet(path, args, eval)?;
        members.push(protonet);
        records.push(Record::new(architecture, None, Some(path)));
    }
    Ok(Candidate {
        learner: Box::new(ProtoNetEnsemble::new(members)?),
        record: Record::ensemble(&records),
    })
}

/// Evaluates each method on the same tasks (the protocol's test tasks unless `--validation` or
/// `--images` says otherwise) and prints a table and one line per method.
pub fn eval(args: &TaskArgs, eval: &EvalArgs) -> Result<(), String> {
    for (flag, shifts, images) in [
        ("--support-shifts", eval.support_shifts, "support"),
        ("--query-shifts", eval.query_shifts, "query"),
    ] {
        if shifts > MAX_SHIFTS {
            let copies = (2 * shifts + 1).pow(2);
            return Err(format!(
                "{flag} {shifts} would turn every {images} image into {copies}; at most {MAX_SHIFTS}"
            ));
        }
    }
    for (flag, set) in [
        ("--transductive", eval.transductive > 0),
        ("--support-shifts", eval.support_shifts > 0),
        ("--query-shifts", eval.query_shifts > 0),
        ("--power-features", eval.power_features),
        ("--centred-unit-features", eval.centred_unit_features),
        ("--ensemble", eval.ensemble),
    ] {
        if set && let Some(other) = eval.methods.iter().find(|m| m.algo != Algo::Protonet) {
            return Err(format!(
                "{flag} applies to protonet only, not {}",
                other.algo.name()
            ));
        }
    }
    let candidates = match eval.ensemble {
        true => vec![ensemble(args, eval)?],
        false => eval
            .methods
            .iter()
            .map(|method| candidate(method, args, eval))
            .collect::<Result<_, _>>()?,
    };
    let spec = args.spec();
    let own_pool;
    let protocol;
    let (tasks, own_data) = match (&eval.images, &eval.labels) {
        (Some(images), Some(labels)) => {
            let set = read_idx_pair(images, labels)?;
            let pool = ClassPool::from_labels(&set);
            let classes: Vec<usize> = (0..pool.num_classes())
                .filter(|&c| pool.class_size(c) >= spec.shot + spec.query)
                .collect();
            println!(
                "class pool: {} images, {} classes with at least {} images",
                set.len(),
                classes.len(),
                spec.shot + spec.query
            );
            if set.labels.iter().all(|&l| usize::from(l) < NUM_CLASSES) {
                let accuracy = classifier_accuracy(&eval.classifier, &set)?;
                println!(
                    "method=mnist-classifier images={} accuracy={accuracy:.4}",
                    set.len()
                );
            }
            own_pool = (pool, classes);
            let tasks = Tasks {
                pool: &own_pool.0,
                classes: &own_pool.1,
                spec,
                draw: TaskDraw {
                    fixed_order: args.fixed_order,
                    ..TaskDraw::default()
                },
            };
            (tasks, true)
        }
        _ => {
            protocol = args.protocol(ExtraClasses::default(), TaskDraw::default())?;
            let tasks = match eval.validation {
                true => protocol.val_tasks(spec),
                false => protocol.test_tasks(spec),
            };
            (tasks, false)
        }
    };
    // What the tasks hold: validation tasks have at most as many classes as the protocol's
    // validation classes, whatever --way asked for.
    let spec = tasks.spec;
    let set_name = eval.set_name.clone().unwrap_or_else(|| match &eval.images {
        Some(images) => images
            .file_name()
            .map_or("images".into(), |n| n.to_string_lossy().into_owned()),
        None if eval.validation => format!("{}-validation", args.protocol.name()),
        None => args.protocol.name(),
    });
    let mut rows: Vec<(&'static str, Accuracy, f64)> = Vec::new();
    for candidate in candidates {
        let learner = candidate.learner.as_ref();
        let started = now_ms();
        let accuracy = pollster::block_on(evaluate(learner, tasks, eval.episodes, args.seed))
            .map_err(|e| e.to_string())?;
        let adapt_ms = (now_ms() - started) / eval.episodes as f64;
        println!(
            "method={} way={} shot={} episodes={} accuracy={:.4} ci95={:.4} ms_per_task={adapt_ms:.1}",
            learner.name(),
            spec.way,
            spec.shot,
            accuracy.episodes,
            accuracy.mean,
            accuracy.ci95
        );
        rows.push((learner.name(), accuracy, adapt_ms));
        if let Some(file) = &eval.results {
            let line = ResultLine {
                protocol: set_name.clone(),
                algorithm: learner.name().into(),
                backbone: candidate.record.backbone,
                inner: candidate.record.inner,
                transductive: (eval.transductive > 0).then_some(eval.transductive),
                support_shifts: (eval.support_shifts > 0).then_some(eval.support_shifts),
                query_shifts: (eval.query_shifts > 0).then_some(eval.query_shifts),
                power_features: eval.power_features,
                centred_unit_features: eval.centred_unit_features,
                way: spec.way,
                shot: spec.shot,
                accuracy: accuracy.mean,
                ci95: accuracy.ci95,
                episodes: accuracy.episodes,
                meta_steps: candidate.record.meta_steps,
                train_minutes: candidate.record.train_minutes,
                weights: candidate.record.weights,
                command: super::command_line(),
                commit: results::git_commit(),
                machine: results::machine(super::backend()),
                date: results::today(),
            };
            append_line(
                file,
                &serde_json::to_string(&line).expect("a result line serialises"),
            )?;
        }
    }
    let source = match (own_data, eval.validation) {
        (true, _) => "your data".to_string(),
        (false, true) => format!("{} validation", args.protocol.name()),
        (false, false) => format!("{} meta-test", args.protocol.name()),
    };
    println!(
        "\n{}-way {}-shot, {} tasks from {source}:",
        spec.way, spec.shot, eval.episodes
    );
    println!("{:<17} {:>16} {:>12}", "method", "accuracy", "ms / task");
    for (name, accuracy, ms) in rows {
        println!(
            "{name:<17} {:>8.2} ± {:<5.2} {ms:>12.1}",
            100.0 * accuracy.mean,
            100.0 * accuracy.ci95
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Cli, Command};
    use super::*;
    use clap::Parser;

    fn task(flags: &str) -> TaskArgs {
        let line = format!("fewshot-lab meta-train --algo fomaml {flags}");
        match Cli::try_parse_from(line.split_whitespace())
            .unwrap()
            .command
        {
            Command::MetaTrain { task, .. } => task,
            _ => unreachable!("a meta-train line"),
        }
    }

    #[test]
    fn size_flags_build_the_architecture_or_are_refused_with_a_reason() {
        let described = |flags| task(flags).architecture().unwrap().describe();
        assert_eq!(described(""), "conv4");
        assert_eq!(described("--channels 32"), "conv4 (32 channels)");
        assert_eq!(
            described("--channels 32 --spatial-features"),
            "conv4 (32 channels, 3×3 features)"
        );
        assert_eq!(
            described("--backbone reference --hidden 128"),
            "reference (128 hidden)"
        );
        let refused = |flags| task(flags).architecture().unwrap_err();
        assert!(refused("--hidden 128").contains("conv4 has none"));
        assert!(refused("--backbone reference --spatial-features").contains("dense layer"));
        assert!(refused("--channels 0").contains("channels = 0"));
        assert!(refused("--backbone reference --hidden 100000").contains("hidden = 100000"));
    }

    /// Transductive prediction, shifted support and query copies, square-rooted and centred
    /// unit-length features and ensembles are ProtoNet's alone: another method with any of them
    /// is refused, with the reason, before any data is read; so are shifts beyond 3 pixels.
    #[test]
    fn protonet_evaluation_settings_are_refused_for_other_methods() {
        for (flags, refusal) in [
            (
                "--transductive 3",
                "--transductive applies to protonet only, not maml",
            ),
            (
                "--support-shifts 1",
                "--support-shifts applies to protonet only, not maml",
            ),
            (
                "--ensemble",
                "--ensemble applies to protonet only, not maml",
            ),
            (
                "--query-shifts 1",
                "--query-shifts applies to protonet only, not maml",
            ),
            (
                "--power-features",
                "--power-features applies to protonet only, not maml",
            ),
            (
                "--centred-unit-features",
                "--centred-unit-features applies to protonet only, not maml",
            ),
            (
                "--support-shifts 4",
                "--support-shifts 4 would turn every support image into 81; at most 3",
            ),
            (
                "--query-shifts 5",
                "--query-shifts 5 would turn every query image into 121; at most 3",
            ),
        ] {
            let line = format!(
                "fewshot-lab eval --data /nonexistent {flags} \
                 --method protonet=a.bpk --method maml=b.bpk"
            );
            let Command::Eval { task, eval } = Cli::try_parse_from(line.split_whitespace())
                .unwrap()
                .command
            else {
                unreachable!("an eval line")
            };
            assert_eq!(super::eval(&task, &eval).unwrap_err(), refusal);
        }
    }

    /// Minibatches of support and query images are Reptile's alone: another algorithm with
    /// them is refused, with the reason, before any data is read.
    #[test]
    fn query_minibatches_are_refused_for_other_algorithms() {
        let line = "fewshot-lab meta-train --data /nonexistent --algo fomaml --query-minibatches";
        let Command::MetaTrain { algo, task, run } = Cli::try_parse_from(line.split_whitespace())
            .unwrap()
            .command
        else {
            unreachable!("a meta-train line")
        };
        assert_eq!(
            super::meta_train(algo, &task, &run).err().unwrap(),
            "--query-minibatches applies to reptile only, not fomaml"
        );
    }

    /// The outer loop's flags belong to meta-training: `eval` refuses them (it once took them
    /// and ignored them), and `eval`'s learners get their defaults.
    #[test]
    fn outer_loop_flags_are_meta_train_only() {
        for flag in ["--outer-step 1", "--query-minibatches", "--outer-lr 0.01"] {
            let line = format!("fewshot-lab eval --method maml=a.bpk {flag}");
            let refused = Cli::try_parse_from(line.split_whitespace()).err().unwrap();
            assert_eq!(
                refused.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{flag}"
            );
        }
        let line = "fewshot-lab meta-train --algo reptile --outer-step 1 --query-minibatches";
        let Command::MetaTrain { run, .. } = Cli::try_parse_from(line.split_whitespace())
            .unwrap()
            .command
        else {
            unreachable!("a meta-train line")
        };
        assert_eq!(
            (run.outer.outer_step, run.outer.query_minibatches),
            (1.0, true)
        );
        let defaults = OuterArgs::default();
        assert_eq!((defaults.outer_lr, defaults.outer_step), (1e-3, 0.1));
        assert_eq!(
            (defaults.es_directions, defaults.query_minibatches),
            (16, false)
        );
    }

    /// A classifier's 10-way output layer cannot start 5-way meta-learning with an inner loop,
    /// whose updates have a 5-way layer, unless the prototype layer replaces it in every task
    /// (it was refused even with `--proto-head`).
    #[test]
    fn a_wider_classifier_starts_prototype_layer_meta_training() {
        for algo in ["reptile", "maml", "fomaml", "meta-sgd", "es-maml"] {
            let refused = meta_train_from_classifier(algo, "").unwrap_err();
            assert!(refused.contains("--proto-head"), "{algo}: {refused}");
            meta_train_from_classifier(algo, "--proto-head").unwrap();
        }
    }

    /// One meta-step of `algo` on P1 (and a tiny validation), started from the P1 classifier.
    fn meta_train_from_classifier(algo: &str, flags: &str) -> Result<(), String> {
        let line = format!(
            "fewshot-lab meta-train --algo {algo} --protocol p1 --way 5 --inner-steps 1 \
             --init results/weights/p1-pretrained.bpk --steps 1 --meta-batch 1 \
             --validate-every 1 --val-episodes 2 --es-directions 2 {flags}"
        );
        let Command::MetaTrain { algo, task, run } = Cli::try_parse_from(line.split_whitespace())
            .unwrap()
            .command
        else {
            unreachable!("a meta-train line")
        };
        super::meta_train(algo, &task, &run).map(drop)
    }

    /// P1 has five validation classes: 10-way validation tasks are 5-way, and the result line
    /// says so (it once recorded the way asked for).
    #[test]
    fn validation_results_record_the_way_the_tasks_had() {
        let file =
            std::env::temp_dir().join(format!("fsl-validation-{}.jsonl", std::process::id()));
        let line = format!(
            "fewshot-lab eval --protocol p1 --way 10 --validation --episodes 2 \
             --method protonet=results/weights/p1-protonet.bpk --results {}",
            file.display()
        );
        let Command::Eval { task, eval } = Cli::try_parse_from(line.split_whitespace())
            .unwrap()
            .command
        else {
            unreachable!("an eval line")
        };
        super::eval(&task, &eval).unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        let lines = results::parse(&written).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(
            (lines[0].protocol.as_str(), lines[0].way),
            ("p1-validation", 5)
        );
    }
}
