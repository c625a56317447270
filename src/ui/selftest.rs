//! The `?selftest` page: checks the browser backend against the CPU, for the test suite.
//!
//! 1. The same weights give the same logits on the page's backend as on the CPU backend, for
//!    each backbone (Conv-4 normalised with a support set's statistics).
//! 2. A few Adam steps on the page's backend lower the loss on a fixed batch.
//!
//! The result is one JSON object in `#selftest-result`; the end-to-end test asserts on it.

use crate::backend::{Backend, cpu_device, max_abs_difference};
use crate::bench::synthetic_images;
use crate::data::NUM_CLASSES;
use crate::model::{Backbone, Network, from_bytes, to_bytes};
use crate::train::{TrainConfig, TrainEvent, TrainRun};
use leptos::prelude::*;

/// What the self-test measured.
#[derive(Debug, serde::Serialize)]
struct Outcome {
    backend: &'static str,
    adapter: String,
    /// Largest logit difference over both backbones (infinite when a logit is NaN or missing).
    max_abs_logit_diff: f32,
    losses: Vec<f32>,
}

/// The largest logit difference between the CPU and `backend` on the same `backbone` weights:
/// queries classified with a support set's statistics.
async fn logit_difference(backend: &Backend, backbone: Backbone) -> Result<f32, String> {
    let cpu = cpu_device();
    cpu.seed(7);
    let reference = Network::new(backbone, NUM_CLASSES, &cpu);
    let on_backend = from_bytes(
        &to_bytes(reference.clone()),
        backbone,
        NUM_CLASSES,
        &backend.device,
    )
    .map_err(|e| e.to_string())?;
    let images = synthetic_images(8, 3);
    let (support, query) = (images.range(0..5), images.range(5..8));
    let expected: Vec<f32> = reference
        .classify(support.to_batch(&cpu).images, query.to_batch(&cpu).images)
        .into_data()
        .iter::<f32>()
        .collect();
    let device = &backend.device;
    let actual = on_backend
        .classify(
            support.to_batch(device).images,
            query.to_batch(device).images,
        )
        .into_data_async()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(max_abs_difference(
        &expected,
        &actual.iter::<f32>().collect::<Vec<_>>(),
    ))
}

async fn check(backend: &Backend) -> Result<Outcome, String> {
    let mut max_abs_logit_diff = 0.0f32;
    for backbone in [Backbone::Reference, Backbone::Conv4] {
        max_abs_logit_diff = max_abs_logit_diff.max(logit_difference(backend, backbone).await?);
    }

    // Six epochs over one batch of 32 easy images: every step sees the same batch, so the
    // loss must fall.
    let config = TrainConfig::new()
        .with_epochs(6)
        .with_batch_size(32)
        .with_epoch_images(32)
        .with_test_images(32)
        .with_cosine_decay(false);
    let mut run = TrainRun::new(config, &backend.device);
    run.train = synthetic_images(32, 5);
    run.test = run.train.clone();
    let mut losses = Vec::new();
    loop {
        match run.advance().await.map_err(|e| e.to_string())? {
            TrainEvent::Step(report) => losses.push(report.loss),
            TrainEvent::Epoch(_) | TrainEvent::Evaluating { .. } => {}
            TrainEvent::Finished => break,
        }
    }
    Ok(Outcome {
        backend: backend.kind.label(),
        adapter: backend.adapter.clone(),
        max_abs_logit_diff,
        losses,
    })
}

/// Runs the checks once and shows the outcome as JSON.
#[component]
pub fn SelfTest(
    /// Backend under test.
    backend: Backend,
) -> impl IntoView {
    let result = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        let json = match check(&backend).await {
            Ok(outcome) => serde_json::to_string(&outcome).expect("serialisable"),
            Err(error) => serde_json::json!({ "error": error }).to_string(),
        };
        result.set(Some(json));
    });
    view! {
        <section class="page selftest">
            <h2>"Self-test"</h2>
            {move || match result.get() {
                None => view! { <p class="muted">"running…"</p> }.into_any(),
                Some(json) => view! { <pre id="selftest-result">{json}</pre> }.into_any(),
            }}
        </section>
    }
}
