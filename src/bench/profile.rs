//! Where the time of a step goes (`fewshot-lab bench --profile`): each phase of a training
//! step and of a Playground adaptation timed on its own, as a median over repeats.
//!
//! The device finishes each phase before the next one starts ([`Device::sync`]), so work a GPU
//! queues is charged to the phase that queued it; the CPU backend runs work as it is issued.

use super::{
    Figure, WARM_UP, figure, median, now_ms, playground_procedure, support_set, synthetic_images,
};
use crate::backend::Backend;
use crate::data::NUM_CLASSES;
use crate::model::{Backbone, Network, cross_entropy};
use crate::playground::adapt::{Adaptation, HeadSteps};
use crate::train::count_correct;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};

/// Milliseconds per named phase of repeated work.
struct Phases {
    device: Device,
    last: f64,
    times: Vec<(&'static str, Vec<f64>)>,
}

impl Phases {
    fn new(device: &Device) -> Self {
        Self {
            device: device.clone(),
            last: 0.0,
            times: Vec::new(),
        }
    }

    /// The clock starts once the device is idle.
    fn start(&mut self) -> Result<(), String> {
        self.sync()?;
        self.last = now_ms();
        Ok(())
    }

    /// Ends `phase` once the device has finished it; the next phase starts now.
    fn end(&mut self, phase: &'static str) -> Result<(), String> {
        self.sync()?;
        let now = now_ms();
        match self.times.iter_mut().find(|(name, _)| *name == phase) {
            Some((_, times)) => times.push(now - self.last),
            None => self.times.push((phase, vec![now - self.last])),
        }
        self.last = now;
        Ok(())
    }

    fn sync(&self) -> Result<(), String> {
        self.device.sync().map_err(|e| format!("{e:?}"))
    }

    /// One figure per phase (the median after the warm-up runs), then their sum.
    fn figures(self, backend: &Backend, bench: &'static str, batch: usize) -> Vec<Figure> {
        let medians: Vec<(&str, f64, usize)> = self
            .times
            .into_iter()
            .map(|(phase, times)| {
                let timed = times[WARM_UP.min(times.len() - 1)..].to_vec();
                (phase, median(timed.clone()), timed.len())
            })
            .collect();
        let total: f64 = medians.iter().map(|(_, ms, _)| ms).sum();
        let repeats = medians.first().map_or(0, |(_, _, n)| *n);
        medians
            .into_iter()
            .chain([("sum of the phases", total, repeats)])
            .map(|(phase, ms, n)| Figure {
                setting: phase.into(),
                ..figure(backend, bench, batch, ms, "ms (median)", n)
            })
            .collect()
    }
}

/// The phases of a training step and of a Playground adaptation on both backbones.
pub async fn run(backend: &Backend, steps: usize, repeats: usize) -> Result<Vec<Figure>, String> {
    let mut figures = training_step(backend, steps)?;
    for backbone in [Backbone::Reference, Backbone::Conv4] {
        figures.extend(adaptation(backend, backbone, repeats).await?);
    }
    Ok(figures)
}

/// A training step of the reference CNN at batch 64, phase by phase: the operations of
/// [`crate::train::TrainRun`]'s step (upload, forward with loss and correct count, backward,
/// one Adam update, one read-back of both figures).
fn training_step(backend: &Backend, steps: usize) -> Result<Vec<Figure>, String> {
    const BATCH: usize = 64;
    let device = backend.device.clone().autodiff();
    let mut model = Network::new(Backbone::Reference, NUM_CLASSES, &device);
    let mut optim = AdamConfig::new().init();
    let images = synthetic_images(BATCH, 1);
    let indices: Vec<usize> = (0..BATCH).collect();
    let mut phases = Phases::new(&device);
    for _ in 0..WARM_UP + steps {
        phases.start()?;
        let batch = images.batch(&indices, &device);
        phases.end("upload the batch")?;
        let logits = model.forward(batch.images);
        let loss = cross_entropy(logits.clone(), batch.labels.clone());
        let correct = count_correct(logits.detach(), batch.labels);
        phases.end("forward, loss and correct count")?;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        phases.end("backward")?;
        model = optim.step(1e-3, model, grads);
        phases.end("Adam update")?;
        Tensor::cat(vec![loss.detach(), correct.float()], 0)
            .into_data()
            .iter::<f32>()
            .for_each(drop);
        phases.end("read back loss and correct count")?;
    }
    Ok(phases.figures(backend, "train_step_phase_ms", BATCH))
}

/// The Playground's adaptation of `backbone` to a 10-way 5-shot support set, phase by phase:
/// the head-only procedure with a prototype output layer and 10 steps on the host, then a
/// prediction for one image.
async fn adaptation(
    backend: &Backend,
    backbone: Backbone,
    repeats: usize,
) -> Result<Vec<Figure>, String> {
    const WAY: usize = 10;
    let device = &backend.device;
    let network = Network::new(backbone, NUM_CLASSES, device);
    let procedure = playground_procedure();
    let support = support_set(WAY);
    let test = support.range(0..1);
    let rows: Vec<usize> = (0..WAY).collect();
    let error = |e: crate::playground::adapt::AdaptError| e.to_string();
    let mut phases = Phases::new(device);
    for _ in 0..WARM_UP + repeats {
        phases.start()?;
        let mut adaptation = Adaptation::with_head_steps(
            &network,
            &procedure,
            &support,
            &rows,
            device,
            HeadSteps::Host,
        );
        phases.end("support features and prototype layer")?;
        adaptation.step().await.map_err(error)?;
        phases.end("read back the features, first head step")?;
        while !adaptation.finished() {
            adaptation.step().await.map_err(error)?;
        }
        phases.end("nine more head steps")?;
        adaptation.probabilities(&test).await.map_err(error)?;
        phases.end("predict one image")?;
    }
    let mut figures = phases.figures(backend, "adapt_phase_ms", WAY * 5);
    for figure in &mut figures {
        figure.setting = format!("{}, 10-way 5-shot: {}", backbone.name(), figure.setting);
    }
    Ok(figures)
}
