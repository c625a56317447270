//! Benchmarks: training throughput, forward latency, meta-training step time and few-shot
//! adaptation latency on whichever backend is in use.
//!
//! The same measurements run natively (`fewshot-lab bench`) and in the browser (`?bench`), and
//! print one JSON object per figure, so results from both places can be compared line by line.
//! Inputs are synthetic images: the figures measure compute, not data loading.

pub mod profile;

use crate::backend::{Backend, BackendKind};
use crate::data::episode::{ClassPool, EpisodeSpec};
use crate::data::{IMAGE_PIXELS, IMAGE_SIDE, ImageSet, NUM_CLASSES};
use crate::meta::MetaLearner;
use crate::meta::inner::InnerLoop;
use crate::meta::maml::{Maml, MamlConfig};
use crate::meta::protonet::ProtoNet;
use crate::model::{Backbone, Network};
use crate::playground::adapt::{Adaptation, HeadSteps, Procedure};
use crate::rng::Rng;
use crate::train::{TrainConfig, TrainError, TrainEvent, TrainRun, read_f32};

/// How much work each measurement does.
#[derive(Debug, Clone)]
pub struct BenchPlan {
    /// Training steps timed (after warm-up).
    pub train_steps: usize,
    /// Forward passes timed per batch size (after warm-up).
    pub forward_repeats: usize,
    /// Meta-steps and adaptations timed per figure (after one warm-up run).
    pub meta_repeats: usize,
    /// Backbones the meta-learning figures are measured on.
    pub backbones: Vec<Backbone>,
}

impl BenchPlan {
    /// Refuses plans that would measure nothing.
    pub fn check(&self) -> Result<(), String> {
        let counts = [
            ("training steps", self.train_steps),
            ("forward repeats", self.forward_repeats),
            ("meta repeats", self.meta_repeats),
        ];
        match counts.iter().find(|(_, n)| *n == 0) {
            Some((name, _)) => Err(format!("{name} must be at least 1")),
            None => Ok(()),
        }
    }
}

/// Milliseconds from an arbitrary fixed origin (monotonic).
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

/// Milliseconds from an arbitrary fixed origin (monotonic).
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    // Through the global object: pages and workers both have `performance`.
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| wasm_bindgen::JsCast::dyn_into::<web_sys::Performance>(p).ok())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// Easy synthetic digits-like images: class `c` draws a bright horizontal band at rows
/// `2c + 4` and `2c + 5` over faint noise. Learnable in a few steps, needs no download: used to
/// time compute and to check that training works where real data is not the point.
pub fn synthetic_images(n: usize, seed: u64) -> ImageSet {
    let mut rng = Rng::new(seed);
    let mut set = ImageSet::default();
    for i in 0..n {
        let label = i % NUM_CLASSES;
        let band = 2 * label + 4..=2 * label + 5;
        set.labels.push(label as u8);
        set.pixels.extend((0..IMAGE_PIXELS).map(|p| {
            if band.contains(&(p / IMAGE_SIDE)) {
                200
            } else {
                rng.below(40) as u8
            }
        }));
    }
    set
}

/// One measured figure, printed as a JSON line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figure {
    /// What was measured.
    pub bench: &'static str,
    /// "cpu" or "webgpu".
    pub backend: &'static str,
    /// Adapter description.
    pub adapter: String,
    /// Batch size used (images per step or per forward pass).
    pub batch: usize,
    /// The task measured, for meta-learning figures (for example `5-way 1-shot`).
    pub setting: String,
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// How many repetitions the value summarises.
    pub repeats: usize,
}

impl Figure {
    /// The figure as one line of JSON.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).expect("a figure always serialises")
    }
}

/// The median of `values` (the upper middle one of an even count); `values` is not empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

const WARM_UP: usize = 2;

/// [`run`], or with `profile` where the time of those steps goes ([`profile::run`]: training
/// steps and meta repeats set how many).
pub async fn measure(
    backend: &Backend,
    plan: BenchPlan,
    profile: bool,
) -> Result<Vec<Figure>, String> {
    if profile {
        if backend.kind == BackendKind::WebGpu {
            // `Device::sync` blocks until the GPU is idle, which a browser's page cannot do.
            return Err(
                "the profile waits for the device after every phase, which WebGPU \
                cannot do on a page: profile with backend=cpu here, or natively with \
                `fewshot-lab --backend wgpu bench --profile`"
                    .into(),
            );
        }
        plan.check()?;
        profile::run(backend, plan.train_steps, plan.meta_repeats).await
    } else {
        run(backend, plan).await
    }
}

/// Measures training throughput (batch 64), forward latency (batch 1 and 64), meta-training
/// step time and adaptation latency.
pub async fn run(backend: &Backend, plan: BenchPlan) -> Result<Vec<Figure>, String> {
    plan.check()?;
    let mut figures = classic(backend, &plan).await.map_err(|e| e.to_string())?;
    for &backbone in &plan.backbones {
        figures.extend(meta(backend, backbone, plan.meta_repeats).await?);
    }
    Ok(figures)
}

/// A figure measured on `backend`.
fn figure(
    backend: &Backend,
    bench: &'static str,
    batch: usize,
    value: f64,
    unit: &'static str,
    repeats: usize,
) -> Figure {
    Figure {
        bench,
        backend: backend.kind.label(),
        adapter: backend.adapter.clone(),
        batch,
        setting: String::new(),
        value,
        unit,
        repeats,
    }
}

/// A training run of the reference CNN on `steps` batches of `batch` synthetic images.
fn synthetic_run(backend: &Backend, steps: usize, batch: usize) -> TrainRun {
    let config = TrainConfig::new()
        .with_epochs(1)
        .with_batch_size(batch)
        .with_epoch_images(steps * batch);
    let mut run = TrainRun::new(config, &backend.device);
    run.train = synthetic_images(steps * batch, 1);
    run
}

/// Training throughput and forward latency of the reference CNN.
async fn classic(backend: &Backend, plan: &BenchPlan) -> Result<Vec<Figure>, TrainError> {
    const BATCH: usize = 64;
    let figure =
        |bench, batch, value, unit, repeats| figure(backend, bench, batch, value, unit, repeats);
    let mut figures = Vec::new();

    let steps = WARM_UP + plan.train_steps;
    let mut run = synthetic_run(backend, steps, BATCH);
    let mut started = 0.0;
    for step in 0..steps {
        if step == WARM_UP {
            started = now_ms();
        }
        let TrainEvent::Step(_) = run.advance().await? else {
            unreachable!("the epoch holds exactly `steps` batches")
        };
    }
    let seconds = (now_ms() - started) / 1e3;
    figures.push(figure(
        "train_images_per_s",
        BATCH,
        (plan.train_steps * BATCH) as f64 / seconds,
        "images/s",
        plan.train_steps,
    ));

    let model = run.model();
    let device = backend.device.clone();
    let images = synthetic_images(BATCH, 2);
    for batch in [1, BATCH] {
        let indices: Vec<usize> = (0..batch).collect();
        let mut times = Vec::new();
        for repeat in 0..WARM_UP + plan.forward_repeats {
            let started = now_ms();
            let input = images.batch(&indices, &device).images;
            // Include the readback: a prediction is only useful once the host has it.
            read_f32(model.forward(input).sum()).await?;
            if repeat >= WARM_UP {
                times.push(now_ms() - started);
            }
        }
        figures.push(figure(
            "forward_latency_ms",
            batch,
            median(times),
            "ms (median)",
            plan.forward_repeats,
        ));
    }
    Ok(figures)
}

/// The Playground's head-only procedure: prototype output layer, then 10 SGD steps on it.
fn playground_procedure() -> Procedure {
    Procedure::Inner(
        InnerLoop::new()
            .with_steps(10)
            .with_lr(0.5)
            .with_head_only(true)
            .with_proto_head(true),
    )
}

/// A `way`-class 5-shot support set of synthetic images.
fn support_set(way: usize) -> ImageSet {
    let mut set = synthetic_images(way * 5, 5);
    set.labels.iter_mut().for_each(|l| *l %= way as u8);
    set
}

/// Median milliseconds of `repeats` runs of `work` after one warm-up run.
async fn time<F: std::future::Future<Output = Result<(), String>>>(
    repeats: usize,
    mut work: impl FnMut() -> F,
) -> Result<f64, String> {
    let mut times = Vec::new();
    for repeat in 0..1 + repeats.max(1) {
        let started = now_ms();
        work().await?;
        if repeat >= 1 {
            times.push(now_ms() - started);
        }
    }
    Ok(median(times))
}

/// Meta-training step time (5-way 1-shot, 5 queries per class, meta-batch 2; MAML with 3 inner
/// steps) and adaptation latency (5-shot, 10 inner steps, as the playground adapts).
async fn meta(
    backend: &Backend,
    backbone: Backbone,
    repeats: usize,
) -> Result<Vec<Figure>, String> {
    let device = &backend.device;
    let pool = ClassPool::from_labels(&synthetic_images(400, 3));
    let classes: Vec<usize> = (0..NUM_CLASSES).collect();
    let mut rng = Rng::new(4);
    let spec = EpisodeSpec {
        way: 5,
        shot: 1,
        query: 5,
    };
    let tasks = (0..2)
        .map(|_| pool.sample(&classes, spec, &mut rng))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let maml = |second_order| {
        let inner = InnerLoop::new().with_steps(3);
        Maml::new(
            backbone,
            MamlConfig::new(5, inner).with_second_order(second_order),
            device,
        )
    };
    let mut learners: Vec<(&'static str, Box<dyn MetaLearner>)> = vec![
        (
            "protonet_meta_step_ms",
            Box::new(ProtoNet::new(backbone, 1e-3, device)),
        ),
        ("fomaml_meta_step_ms", Box::new(maml(false))),
        ("maml_meta_step_ms", Box::new(maml(true))),
    ];
    let mut figures = Vec::new();
    for (bench, learner) in &mut learners {
        let ms = time(repeats, || {
            let loss = learner.meta_step(&tasks);
            async move {
                crate::train::read_f32(loss)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        })
        .await?;
        figures.push(Figure {
            setting: format!(
                "{}, 5-way 1-shot, 5 queries, meta-batch 2, 3 inner steps (whole network)",
                backbone.name()
            ),
            ..figure(backend, bench, 2 * 5 * 6, ms, "ms (median)", repeats)
        });
    }
    let features = Network::new(backbone, NUM_CLASSES, device);
    let procedure = playground_procedure();
    // Where the head steps run is the one difference between the two figures of a way.
    let places = [(HeadSteps::Host, "host"), (HeadSteps::Device, "device")];
    for (way, (head_steps, place)) in [5, 10]
        .into_iter()
        .flat_map(|way| places.map(|place| (way, place)))
    {
        let set = support_set(way);
        let ms = time(repeats, || {
            let rows: Vec<usize> = (0..way).collect();
            let mut adaptation =
                Adaptation::with_head_steps(&features, &procedure, &set, &rows, device, head_steps);
            let test = set.range(0..1);
            async move {
                while !adaptation.finished() {
                    adaptation.step().await.map_err(|e| e.to_string())?;
                }
                adaptation
                    .probabilities(&test)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        })
        .await?;
        figures.push(Figure {
            setting: format!(
                "{}, {way}-way 5-shot, prototype head + 10 head-only steps on the {place}, then one prediction",
                backbone.name()
            ),
            ..figure(
                backend,
                "adapt_latency_ms",
                way * 5,
                ms,
                "ms (median)",
                repeats,
            )
        });
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bench --forward-repeats 0` (and `?bench&repeats=0`) took the median of nothing and
    /// panicked.
    #[test]
    fn plans_that_measure_nothing_are_refused() {
        let plan = BenchPlan {
            train_steps: 1,
            forward_repeats: 0,
            meta_repeats: 1,
            backbones: vec![],
        };
        let error = pollster::block_on(run(&Backend::cpu(None), plan)).unwrap_err();
        assert!(error.contains("forward repeats"), "{error}");
    }
}
