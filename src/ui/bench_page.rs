//! The `?bench` page: runs the benchmark on the page's backend and prints JSON lines.

use crate::backend::Backend;
use crate::bench::{self, BenchPlan};
use leptos::prelude::*;

/// Runs [`bench::run`] once and shows each figure as a JSON line (also logged to the console).
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
    };
    leptos::task::spawn_local(async move {
        match bench::run(&backend, plan).await {
            Ok(figures) => {
                for figure in figures {
                    let line = figure.json_line();
                    web_sys::console::log_1(&line.clone().into());
                    lines.update(|l| l.push(line));
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
            <p class="explain">"Training throughput (batch 64) and forward latency on this page's backend, as JSON lines."</p>
            <pre id="bench-output" data-state=move || state.get()>{move || lines.get().join("\n")}</pre>
        </section>
    }
}
