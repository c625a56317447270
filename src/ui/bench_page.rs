//! The `?bench` page: runs the benchmark on the page's backend and prints JSON lines.

use super::i18n::{t, use_i18n};
use crate::backend::Backend;
use crate::bench::{self, BenchPlan};
use crate::model::Backbone;
use crate::ui::widgets::{Note, SettingNotes, url_number};
use leptos::prelude::*;

/// Runs [`bench::measure`] once and shows each figure as a JSON line (and logs it as an object).
#[component]
pub fn BenchPage(
    /// Backend to measure.
    backend: Backend,
) -> impl IntoView {
    let i18n = use_i18n();
    let lines = RwSignal::new(Vec::<String>::new());
    let state = RwSignal::new("running");
    let readings = (
        url_number("steps", 5usize, 1..=1000),
        url_number("repeats", 5usize, 1..=1000),
        url_number("meta_repeats", 3usize, 1..=100),
    );
    let notes: Vec<Note> = [
        readings.0.message.clone(),
        readings.1.message.clone(),
        readings.2.message.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let plan = BenchPlan {
        train_steps: readings.0.value,
        forward_repeats: readings.1.value,
        meta_repeats: readings.2.value,
        backbones: match super::query_param("backbone").as_deref() {
            Some("conv4") => vec![Backbone::Conv4],
            _ => vec![Backbone::Reference],
        },
    };
    // `?bench&profile`: where the time goes instead (`fewshot-lab bench --profile`);
    // `profile=0` asks for the benchmarks.
    let profile = super::query_param("profile").is_some_and(|value| value != "0");
    leptos::task::spawn_local(async move {
        match bench::measure(&backend, plan, profile).await {
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
            <h2>{t!(i18n, bench_title)}</h2>
            <p class="explain">{t!(i18n, bench_explain)}</p>
            <SettingNotes notes=notes />
            <pre id="bench-output" data-state=move || state.get()>{move || lines.get().join("\n")}</pre>
        </section>
    }
}
