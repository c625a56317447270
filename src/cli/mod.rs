//! The native command-line front-end: making shards, training, benchmarking.
//!
//! Each sub-command is a thin shell over the library: it parses arguments, drives the same
//! code the browser runs, shows a progress bar, and ends with `key=value` lines that scripts
//! can read. Errors reach the user as one sentence naming the file or setting at fault.

mod meta;
pub mod results;
mod shards;

use crate::backend::Backend;
use crate::bench::{self, BenchPlan, now_ms};
use crate::model::catalog::WeightsEntry;
use crate::model::{Backbone, Network};
use crate::train::{TrainConfig, TrainEvent, TrainRun};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// Few-Shot Lab command line.
#[derive(Parser, Debug)]
#[command(name = "fewshot-lab", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert MNIST IDX files into the app's shards and manifest.
    Shards {
        /// Folder with the four canonical MNIST files (gzipped), and SHA256SUMS if present.
        #[arg(long)]
        mnist_dir: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, default_value = "static/mnist")]
        out: PathBuf,
        /// Images per shard.
        #[arg(long, default_value_t = 5000)]
        per_shard: usize,
    },
    /// Train the reference CNN on the MNIST shards.
    Train {
        /// Folder holding manifest.json and the shards.
        #[arg(long, default_value = "static/mnist")]
        data: PathBuf,
        /// Passes over the training set.
        #[arg(long, default_value_t = TrainConfig::new().epochs)]
        epochs: usize,
        /// Images per step.
        #[arg(long, default_value_t = TrainConfig::new().batch_size)]
        batch_size: usize,
        /// Adam learning rate (peak of the cosine schedule).
        #[arg(long, default_value_t = TrainConfig::new().learning_rate)]
        lr: f64,
        /// Seed for initialisation and data order.
        #[arg(long, default_value_t = TrainConfig::new().seed)]
        seed: u64,
        /// Keep the learning rate constant instead of annealing it (cosine) to zero.
        #[arg(long)]
        constant_lr: bool,
        /// Save the trained weights here.
        #[arg(long)]
        save: Option<PathBuf>,
    },
    /// Meta-train a few-shot learner on a protocol's meta-training classes.
    MetaTrain {
        /// Algorithm.
        #[arg(long, value_enum)]
        algo: meta::Algo,
        #[command(flatten)]
        task: meta::TaskArgs,
        #[command(flatten)]
        run: meta::MetaTrainArgs,
    },
    /// Compare few-shot learners on a protocol's meta-test tasks, or on your own IDX files.
    Eval {
        #[command(flatten)]
        task: meta::TaskArgs,
        #[command(flatten)]
        eval: meta::EvalArgs,
    },
    /// Render the README's result tables from the result files.
    Results {
        /// Folder of `*.jsonl` result files.
        #[arg(long, default_value = "results")]
        dir: PathBuf,
        /// The README to update in place.
        #[arg(long, default_value = "README.md")]
        readme: PathBuf,
    },
    /// Print training throughput and forward latency as JSON lines.
    Bench {
        /// Training steps to time.
        #[arg(long, default_value_t = 50)]
        train_steps: usize,
        /// Forward passes to time per batch size.
        #[arg(long, default_value_t = 50)]
        forward_repeats: usize,
        /// Meta-steps and adaptations to time per figure.
        #[arg(long, default_value_t = 5)]
        meta_repeats: usize,
        /// Backbones to time meta-learning on.
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "reference,conv4"
        )]
        backbones: Vec<Backbone>,
    },
}

/// Runs the CLI; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Shards {
            mnist_dir,
            out,
            per_shard,
        } => shards::make(&mnist_dir, &out, per_shard),
        Command::Train {
            data,
            epochs,
            batch_size,
            lr,
            seed,
            constant_lr,
            save,
        } => train(
            &data,
            TrainConfig::new()
                .with_epochs(epochs)
                .with_batch_size(batch_size)
                .with_learning_rate(lr)
                .with_seed(seed)
                .with_cosine_decay(!constant_lr),
            save,
        ),
        Command::MetaTrain { algo, task, run } => meta::meta_train(algo, &task, &run),
        Command::Eval { task, eval } => meta::eval(&task, &eval),
        Command::Results { dir, readme } => render_results(&dir, &readme),
        Command::Bench {
            train_steps,
            forward_repeats,
            meta_repeats,
            backbones,
        } => bench(BenchPlan {
            train_steps,
            forward_repeats,
            meta_repeats,
            backbones,
        }),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}

fn train(data: &std::path::Path, config: TrainConfig, save: Option<PathBuf>) -> Result<(), String> {
    let (train_set, test_set) = crate::data::load_dir(data).map_err(|e| e.to_string())?;
    println!(
        "training the reference CNN on {} images, testing on {} ({} epochs, batch {}, lr {})",
        train_set.len(),
        test_set.len(),
        config.epochs,
        config.batch_size,
        config.learning_rate
    );
    let backend = Backend::cpu(None);
    let total_images = train_set.len() * config.epochs;
    let mut run = TrainRun::new(config, &backend.device);
    run.train = train_set;
    run.test = test_set;

    let bar = ProgressBar::new(total_images as u64).with_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} images  {per_sec}  eta {eta}  {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    let started = now_ms();
    let mut train_ms = 0.0;
    let mut images = 0;
    let mut last_accuracy = None;
    loop {
        let step_started = now_ms();
        match pollster::block_on(run.advance()).map_err(|e| e.to_string())? {
            TrainEvent::Step(report) => {
                train_ms += now_ms() - step_started;
                images = report.images_seen;
                bar.set_prefix(report.epoch.to_string());
                bar.set_position(report.images_seen as u64);
                if report.step % 20 == 0 {
                    bar.set_message(format!(
                        "loss {:.4} acc {:.3}",
                        report.loss, report.accuracy
                    ));
                }
            }
            TrainEvent::Evaluating { done, total } => {
                bar.set_message(format!("testing {done}/{total}"));
            }
            TrainEvent::Epoch(report) => {
                bar.suspend(|| {
                    println!(
                        "epoch {}: test_accuracy={:.4} test_loss={:.4} ({} test images)",
                        report.epoch, report.test_accuracy, report.test_loss, report.test_images
                    )
                });
                last_accuracy = Some(report.test_accuracy);
            }
            TrainEvent::Finished => break,
        }
    }
    bar.finish_and_clear();
    if let Some(path) = save {
        let measured = last_accuracy.map_or(String::new(), |a| format!("test_accuracy={a:.4}"));
        let entry = catalog_entry("classifier", "mnist", crate::data::NUM_CLASSES, measured);
        save_weights(&path, &run.model(), entry)?;
    }
    println!("backend={}", Backend::cpu(None).kind.label());
    println!("seconds={:.1}", (now_ms() - started) / 1e3);
    if let Some(accuracy) = last_accuracy {
        println!("test_accuracy={accuracy:.4}");
    }
    println!("images_per_s={:.0}", images as f64 / (train_ms / 1e3));
    Ok(())
}

/// Renders the result tables into `readme`.
fn render_results(dir: &Path, readme: &Path) -> Result<(), String> {
    let lines = results::read_results_dir(dir)?;
    let text = std::fs::read_to_string(readme)
        .map_err(|e| format!("cannot read {}: {e}", readme.display()))?;
    let rendered = results::render_readme(&text, &lines)?;
    std::fs::write(readme, rendered)
        .map_err(|e| format!("cannot write {}: {e}", readme.display()))?;
    println!(
        "{} result lines rendered into {}",
        lines.len(),
        readme.display()
    );
    Ok(())
}

/// The running command, as `fewshot-lab ARGS…`.
fn command_line() -> String {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    format!("fewshot-lab {}", arguments.join(" "))
}

/// A catalogue entry for weights made by the running command.
fn catalog_entry(
    algorithm: &str,
    protocol: &str,
    classes: usize,
    measured: String,
) -> WeightsEntry {
    WeightsEntry {
        file: String::new(),
        algorithm: algorithm.into(),
        protocol: protocol.into(),
        backbone: Backbone::Reference,
        classes,
        inner: None,
        command: command_line(),
        measured,
        bytes: 0,
        sha256: String::new(),
    }
}

/// Writes `model` to `path` and records it in the catalogue next to it.
fn save_weights(path: &Path, model: &Network, entry: WeightsEntry) -> Result<(), String> {
    let bytes = crate::model::to_bytes(model.clone());
    std::fs::write(path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    crate::model::catalog::record(path, &bytes, entry)?;
    println!(
        "weights saved to {} (catalogued in its manifest.json)",
        path.display()
    );
    Ok(())
}

fn bench(plan: BenchPlan) -> Result<(), String> {
    let backend = Backend::cpu(None);
    let figures = pollster::block_on(bench::run(&backend, plan))?;
    for figure in figures {
        println!("{}", figure.json_line());
    }
    Ok(())
}
