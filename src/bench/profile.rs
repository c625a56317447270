//! Where the time of a step goes (`fewshot-lab bench --profile`): each phase of a training
//! step, each layer of a forward pass and each phase of a Playground adaptation timed on its
//! own, as a median over repeats.
//!
//! The device finishes each phase before the next one starts ([`Device::sync`]), so work a GPU
//! queues is charged to the phase that queued it; the CPU backend runs work as it is issued.

use super::{
    Figure, WARM_UP, figure, median, now_ms, playground_procedure, support_set, synthetic_images,
    synthetic_run,
};
use crate::backend::Backend;
use crate::data::NUM_CLASSES;
use crate::model::{Backbone, Network, ReferenceCnn};
use crate::playground::adapt::{Adaptation, HeadSteps};
use crate::train::{TrainError, TrainEvent, read_f32};
use burn::tensor::Device;

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

/// The phases of a training step, the layers of a forward pass and the phases of a Playground
/// adaptation on both backbones.
pub async fn run(backend: &Backend, steps: usize, repeats: usize) -> Result<Vec<Figure>, String> {
    let mut figures = training_step(backend, steps).await?;
    figures.extend(forward_pass(backend, repeats).await?);
    for backbone in [Backbone::Reference, Backbone::Conv4] {
        figures.extend(adaptation(backend, backbone, repeats).await?);
    }
    Ok(figures)
}

/// A training step of the reference CNN at batch 64, phase by phase: the training loop's own
/// step ([`crate::train::TrainRun::advance_marked`]: upload, forward with loss and correct
/// count, backward, one Adam update, one read-back of both figures), marked as each phase ends.
async fn training_step(backend: &Backend, steps: usize) -> Result<Vec<Figure>, String> {
    const BATCH: usize = 64;
    let mut run = synthetic_run(backend, WARM_UP + steps, BATCH);
    let mut phases = Phases::new(&backend.device);
    for _ in 0..WARM_UP + steps {
        phases.start()?;
        let mut mark = |phase| phases.end(phase).map_err(TrainError::Device);
        let TrainEvent::Step(_) = run
            .advance_marked(&mut mark)
            .await
            .map_err(|e| e.to_string())?
        else {
            unreachable!("the epoch holds exactly `steps` batches")
        };
    }
    Ok(phases.figures(backend, "train_step_phase_ms", BATCH))
}

/// A forward pass of the reference CNN at batch 64 as `bench`'s forward latency times it whole
/// (upload, layers, read-back of the logits' sum), layer by layer
/// ([`ReferenceCnn::forward_marked`]).
async fn forward_pass(backend: &Backend, repeats: usize) -> Result<Vec<Figure>, String> {
    const BATCH: usize = 64;
    let device = &backend.device;
    let sizes = Backbone::Reference.standard_sizes();
    let model = ReferenceCnn::sized(sizes, NUM_CLASSES, device);
    let images = synthetic_images(BATCH, 2);
    let indices: Vec<usize> = (0..BATCH).collect();
    let mut phases = Phases::new(device);
    for _ in 0..WARM_UP + repeats {
        phases.start()?;
        let input = images.batch(&indices, device).images;
        phases.end("upload the images")?;
        let logits = model.forward_marked(input, &mut |layer| phases.end(layer))?;
        read_f32(logits.sum()).await.map_err(|e| e.to_string())?;
        phases.end("sum and read back the logits")?;
    }
    Ok(phases.figures(backend, "forward_layer_ms", BATCH))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The profile times the training loop's own step, each phase in the order it runs.
    #[test]
    fn a_training_step_is_profiled_phase_by_phase() {
        let figures = pollster::block_on(training_step(&Backend::cpu(None), 1)).unwrap();
        let phases: Vec<&str> = figures.iter().map(|f| f.setting.as_str()).collect();
        assert_eq!(
            phases,
            [
                "upload the batch",
                "forward, loss and correct count",
                "backward",
                "Adam update",
                "read back loss and correct count",
                "sum of the phases",
            ]
        );
        let (parts, sum) = figures.split_at(5);
        let total: f64 = parts.iter().map(|f| f.value).sum();
        assert!((total - sum[0].value).abs() < 1e-9 && total > 0.0);
        assert!(parts.iter().all(|f| f.repeats == 1 && f.value >= 0.0));
    }

    /// The forward pass is timed layer by layer, in the order the layers run, between the
    /// upload and the read-back.
    #[test]
    fn a_forward_pass_is_profiled_layer_by_layer() {
        let figures = pollster::block_on(forward_pass(&Backend::cpu(None), 1)).unwrap();
        let phases: Vec<&str> = figures.iter().map(|f| f.setting.as_str()).collect();
        assert_eq!(
            phases,
            [
                "upload the images",
                "standardise and convolve",
                "ReLU after the convolution",
                "max-pool",
                "hidden dense layer",
                "ReLU after the dense layer",
                "output layer",
                "sum and read back the logits",
                "sum of the phases",
            ]
        );
        assert!(
            figures
                .iter()
                .all(|f| f.bench == "forward_layer_ms" && f.batch == 64)
        );
    }
}
