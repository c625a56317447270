//! The `?bench` page: runs the benchmark on the page's backend and prints JSON lines.

use crate::backend::Backend;
use crate::bench::{self, BenchPlan};
use crate::model::Backbone;
use leptos::prelude::*;

/// Runs [`bench::run`] once and shows each figure as a JSON line (and logs it as an object).
#[component]
pub fn BenchPage(
    /// Backend to measure.
    backend: Backend,
) -> impl IntoView {
    let lines = RwSignal::new(Vec::<String>::new());
    let state = RwSignal::new("running");
    let plan = BenchPlan {
        train_steps: super::query_param("steps")
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
        forward_repeats: super::query_param("repeats")
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
        meta_repeats: super::query_param("meta_repeats")
            .and_then(|s| s.parse().ok())
            .unwrap_or(3),
        backbones: match super::query_param("backbone").as_deref() {
            Some("conv4") => vec![Backbone::Conv4],
            _ => vec![Backbone::Reference],
        },
    };
    leptos::task::spawn_local(async move {
        match bench::run(&backend, plan).await {
            Ok(figures) => {
                for figure in figures {
                    // The console gets a structured object, the page a JSON line.
                    if let Ok(object) = serde_wasm_bindgen::to_value(&figure) {
                        web_sys::console::log_1(&object);
                    }
                    lines.update(|l| l.push(figure.json_line()));
                }
                state.set("done");
            }
            Err(error) => {
                lines.update(|l| l.push(format!("error: {error}")));
                state.set("failed");
            }
        }
    });
    view! {
        <section class="page bench">
            <h2>"Benchmark"</h2>
            <p class="explain">"Training throughput (batch 64), forward latency, meta-training step time and few-shot adaptation latency on this page's backend, as JSON lines."</p>
            <pre id="bench-output" data-state=move || state.get()>{move || lines.get().join("\n")}</pre>
        </section>
    }
}
