//! The `?selftest` page: checks the browser backend against the CPU, for the test suite.
//!
//! 1. The same weights give the same logits on the page's backend as on the CPU backend.
//! 2. A few Adam steps on the page's backend lower the loss on a fixed batch.
//!
//! The result is one JSON object in `#selftest-result`; the end-to-end test asserts on it.

use crate::backend::{Backend, cpu_device};
use crate::bench::synthetic_images;
use crate::data::NUM_CLASSES;
use crate::model::{ReferenceCnn, from_bytes, to_bytes};
use crate::train::{TrainConfig, TrainEvent, TrainRun};
use leptos::prelude::*;

/// What the self-test measured.
#[derive(Debug, serde::Serialize)]
struct Outcome {
    backend: &'static str,
    adapter: String,
    max_abs_logit_diff: f32,
    losses: Vec<f32>,
}

async fn check(backend: &Backend) -> Result<Outcome, String> {
    let cpu = cpu_device();
    cpu.seed(7);
    let reference = ReferenceCnn::new(&cpu);
    let on_backend = from_bytes(&to_bytes(reference.clone()), NUM_CLASSES, &backend.device)
        .map_err(|e| e.to_string())?;
    let images = synthetic_images(8, 3);
    let indices: Vec<usize> = (0..8).collect();
    let expected = reference
        .forward(images.batch(&indices, &cpu).images)
        .into_data();
    let actual = on_backend
        .forward(images.batch(&indices, &backend.device).images)
        .into_data_async()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let max_abs_logit_diff = expected
        .iter::<f32>()
        .zip(actual.iter::<f32>())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);

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
