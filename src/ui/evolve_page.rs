//! The evolution page (`?page=evolve`): an evolutionary search over the learner itself.
//!
//! It shows the searches run from the command line (`scripts/evolve-results`): every learner's
//! fitness in the order they were trained, coloured by generation, the best so far, the best
//! learner's settings and its lineage, and the command that meta-trains with them. *Search here*
//! runs a small search of the same kind in the page, on two-digit classes (P2), meta-training
//! each learner in the compute worker (`jobs::search`), so the page stays responsive; it can be
//! paused, resumed and reset.

use super::chart::{LineChart, Series};
use super::i18n::{Locale, t, t_string, tu_string, use_i18n};
use super::jobs::search::{SearchJob, SearchReport};
use super::jobs::{Job, Launch, Report, Runner};
use super::language::fill;
use super::loader::{self, DataPool, fetch_bytes};
use super::widgets::{Cancel, NumberField, RunButtons, RunPhase};
use crate::backend::Backend;
use crate::evolve::learner::{LearnerSettings, check_space};
use crate::evolve::search::{Individual, Search, SearchConfig};
use leptos::prelude::*;
use leptos_i18n::I18nContext;

/// Where the command line's searches are served from.
const SEARCHES_URL: &str = "static/evolve";
/// Colours of successive generations (ten apart, then they repeat).
const GENERATION_COLORS: [&str; 10] = [
    "#adb5bd", "#1c7ed6", "#e8590c", "#2b8a3e", "#862e9c", "#e64980", "#0b7285", "#7f4f24",
    "#5c940d", "#364fc7",
];
/// Fitness of every learner in the order trained (one series per generation) and the best
/// fitness so far, in percent.
fn fitness_series(i18n: I18nContext<Locale>, search: &Search) -> Vec<Series> {
    let mut series: Vec<Series> = search
        .generations
        .iter()
        .enumerate()
        .map(|(g, ids)| {
            let mut points: Vec<(f64, f64)> = ids
                .iter()
                .map(|&id| &search.individuals[id])
                .filter(|ind| ind.generation == g)
                .filter_map(|ind| ind.fitness.map(|f| (ind.id as f64 + 1.0, 100.0 * f)))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name: fill(t_string!(i18n, ev_generation), &[("g", &g)]),
                color: GENERATION_COLORS[g % GENERATION_COLORS.len()],
                points,
                dots: true,
            }
        })
        .collect();
    let mut best = f64::NEG_INFINITY;
    let best_so_far = search
        .individuals
        .iter()
        .filter_map(|ind| ind.fitness.map(|f| (ind.id, f)))
        .map(|(id, f)| {
            best = best.max(f);
            (id as f64 + 1.0, 100.0 * best)
        })
        .collect();
    series.push(Series {
        name: t_string!(i18n, ev_best_so_far).into(),
        color: "#212529",
        points: best_so_far,
        dots: false,
    });
    series
}

/// `individual` and its ancestors, nearest first (each once).
fn lineage<'a>(search: &'a Search, individual: &'a Individual) -> Vec<&'a Individual> {
    let mut line = vec![individual];
    let mut next = 0;
    while next < line.len() {
        for &parent in &line[next].parents {
            let parent = &search.individuals[parent];
            if !line.iter().any(|i| i.id == parent.id) {
                line.push(parent);
            }
        }
        next += 1;
    }
    line
}

/// One learner in a list: its number, generation and fitness, then its settings (as flags).
fn describe(i18n: I18nContext<Locale>, individual: &Individual) -> (String, String) {
    let fitness = individual
        .fitness
        .map_or(t_string!(i18n, ev_not_measured).into(), |f| {
            format!("{:.1} %", 100.0 * f)
        });
    let parents = match individual.parents.as_slice() {
        [] => String::new(),
        ids => {
            let ids: Vec<String> = ids.iter().map(|id| format!("#{}", id + 1)).collect();
            let joined = ids.join(t_string!(i18n, ev_and));
            fill(t_string!(i18n, ev_child_of), &[("parents", &joined)])
        }
    };
    let learner = fill(
        t_string!(i18n, ev_learner),
        &[
            ("id", &(individual.id + 1)),
            ("g", &individual.generation),
            ("parents", &parents),
            ("fitness", &fitness),
        ],
    );
    let settings = LearnerSettings::decode(&individual.genome)
        .flags()
        .join(" ");
    (learner, settings)
}

/// A search drawn: fitness chart, the best learner, its lineage and how to meta-train with it.
#[component]
fn SearchView(
    /// The search (none yet while loading).
    search: Signal<Option<Search>>,
    /// Protocol name for the command line.
    #[prop(into)]
    protocol: Signal<&'static str>,
    /// Element id.
    id: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    let series = Signal::derive(move || {
        search
            .with(|s| s.as_ref().map(|s| fitness_series(i18n, s)))
            .unwrap_or_default()
    });
    let measured = move || {
        search.with(|s| {
            s.as_ref().map_or(0, |s| {
                s.individuals.iter().filter(|i| i.fitness.is_some()).count()
            })
        })
    };
    let best = move || {
        search.with(|s| {
            let s = s.as_ref()?;
            let best = s.best()?;
            let ancestors: Vec<(String, String)> = lineage(s, best).into_iter().map(|i| describe(i18n, i)).collect();
            let settings = LearnerSettings::decode(&best.genome);
            let command = format!(
                "fewshot-lab meta-train {} --protocol {}",
                settings.flags().join(" "),
                protocol.get()
            );
            let here = super::meta_train_page::link(&settings, protocol.get());
            Some(view! {
                <h4>{t!(i18n, ev_best_lineage)}</h4>
                <ol class="lineage">{ancestors.into_iter().map(|(learner, settings)| view! {
                    <li>{learner}" "<code>{settings}</code></li>
                }).collect_view()}</ol>
                <p>{t!(i18n, ev_meta_train_with)}" "<a class="meta-train-link" href=here>{t!(i18n, ev_in_browser)}</a>{t!(i18n, ev_or_command_line)}</p>
                <pre class="command"><code>{command}</code></pre>
            })
        })
    };
    view! {
        <div id=id class="search" data-measured=measured>
            <LineChart series=series x_label=Signal::derive(move || t_string!(i18n, ev_learner_axis))
                title=Signal::derive(move || t_string!(i18n, ev_chart)) />
            {best}
        </div>
    }
}

/// The searches run from the command line.
#[component]
fn CommittedSearches() -> impl IntoView {
    let i18n = use_i18n();
    let protocol = RwSignal::new("p2");
    let search = RwSignal::new(None::<Search>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let name = protocol.get();
        search.set(None);
        error.set(None);
        leptos::task::spawn_local(async move {
            let loaded = fetch_bytes(&format!("{SEARCHES_URL}/{name}-search.json"))
                .await
                .and_then(|bytes| Search::from_json(&String::from_utf8_lossy(&bytes)));
            match loaded {
                Ok(loaded) if check_space(&loaded.space).is_ok() => search.set(Some(loaded)),
                Ok(_) => error.set(Some(fill(
                    tu_string!(i18n, ev_old_search),
                    &[("name", &name)],
                ))),
                Err(e) => error.set(Some(fill(
                    tu_string!(i18n, ev_load_failed),
                    &[("name", &name), ("error", &e)],
                ))),
            }
        });
    });
    let choice = move |name: &'static str, label: Signal<&'static str>| {
        view! {
            <button class:primary=move || protocol.get() == name aria-pressed=move || (protocol.get() == name).to_string()
                on:click=move |_| protocol.set(name)>{label}</button>
        }
    };
    view! {
        <h3>{t!(i18n, ev_committed_heading)}</h3>
        <p class="muted">{move || search.with(|s| s.as_ref().map(|s| fill(
            t_string!(i18n, ev_committed_explain),
            &[("population", &s.config.population), ("generations", &s.config.generations)],
        )))}</p>
        <div class="controls">
            {choice("p2", Signal::derive(move || t_string!(i18n, ev_p2)))}
            {choice("p1", Signal::derive(move || t_string!(i18n, ev_p1)))}
        </div>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <SearchView search=search.into() protocol=protocol id="committed-search" />
    }
}

/// A small search run in the page, on P2.
#[component]
fn SearchHere(backend: Backend) -> impl IntoView {
    let i18n = use_i18n();
    let pool = DataPool::default();
    loader::start(pool);
    let population = RwSignal::new(4usize);
    let generations = RwSignal::new(2usize);
    let budget = RwSignal::new(20usize);
    let val_episodes = RwSignal::new(20usize);
    let search = RwSignal::new(None::<Search>);
    let phase = RwSignal::new(RunPhase::Idle);
    let progress = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let launch = Launch::new(pool, phase, i18n);
    let cancel = Cancel::default();
    let ready = move || pool.progress.with(|p| p.is_complete());
    let deliver = move |report: Report| match report {
        Report::OnPage(text) | Report::Notice(text) => notice.set(Some(text)),
        Report::Search(SearchReport::Population(json)) => match Search::from_json(&json) {
            Ok(now) => search.set(Some(now)),
            Err(e) => error.set(Some(e)),
        },
        Report::Search(SearchReport::Step {
            learner,
            learners,
            algorithm,
            step,
            steps,
        }) => progress.set(fill(
            tu_string!(i18n, ev_progress),
            &[
                ("learner", &learner),
                ("learners", &learners),
                ("algorithm", &algorithm),
                ("step", &step),
                ("steps", &steps),
            ],
        )),
        Report::Finished => {
            progress.set(tu_string!(i18n, ev_done).into());
            phase.set(RunPhase::Done);
        }
        Report::Failed(e) => {
            error.set(Some(fill(tu_string!(i18n, ev_stopped), &[("error", &e)])));
            phase.set(RunPhase::Done);
        }
        Report::InWorker
        | Report::Paused
        | Report::CpuInstead(_)
        | Report::Train(_)
        | Report::MetaTrain(_)
        | Report::Adapt(_) => {}
    };
    let start = move |_| {
        let config = SearchConfig {
            population: population.get_untracked(),
            generations: generations.get_untracked(),
            elites: 1,
            tournament: 2,
            mutation_rate: 0.3,
            seed: 1,
        };
        if let Err(e) = config.check() {
            error.set(Some(e));
            return;
        }
        let job = Job::Search(SearchJob {
            config,
            budget: budget.get_untracked(),
            val_episodes: val_episodes.get_untracked(),
        });
        error.set(None);
        notice.set(None);
        search.set(None);
        progress.set(String::new());
        let ticket = cancel.begin();
        phase.set(RunPhase::Running);
        launch.start(job, &backend, ticket, deliver);
    };
    let reset = move |_| {
        cancel.cancel();
        launch.stop();
        search.set(None);
        progress.set(String::new());
        error.set(None);
        notice.set(None);
        phase.set(RunPhase::Idle);
    };
    let running = move || phase.get().active();
    view! {
        <h3>{t!(i18n, ev_here_heading)}</h3>
        <p class="muted">{t!(i18n, ev_here_explain)}</p>
        <div class="controls settings">
            <NumberField label=Signal::derive(move || t_string!(i18n, ev_population)) id="evolve-population" value=population range=2..=12 />
            <NumberField label=Signal::derive(move || t_string!(i18n, ev_generations)) id="evolve-generations" value=generations range=1..=6 />
            <NumberField label=Signal::derive(move || t_string!(i18n, ev_budget)) id="evolve-budget" value=budget range=1..=2000 />
            <NumberField label=Signal::derive(move || t_string!(i18n, mt_validation_tasks)) id="evolve-val" value=val_episodes range=5..=200 />
        </div>
        <RunButtons id="evolve" start_label=Signal::derive(move || t_string!(i18n, ev_start)) phase=phase ready=Signal::derive(ready) on_start=start on_reset=reset />
        <p id="evolve-status" class="muted" role="status" data-phase=move || phase.get().name()
            data-runner=move || launch.runner.get().map(Runner::name) data-held=move || launch.held.get().to_string()>
            {move || (!ready()).then(|| t_string!(i18n, mt_loading))}
            {move || pool.progress.with(|p| p.error.clone())}
            {move || running().then(|| view! { <progress class="busy"></progress>" " })}
            {move || progress.get()}
            {move || (launch.runner.get() == Some(Runner::Worker)).then(|| view! { " "{t!(i18n, ev_in_worker)} })}
        </p>
        {move || notice.get().map(|n| view! { <p class="notice">{n}</p> })}
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <SearchView search=search.into() protocol=Signal::stored("p2") id="search-here" />
    }
}

/// The evolution page.
#[component]
pub fn EvolvePage(
    /// Device the learners meta-train on.
    backend: Backend,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="page evolve">
            <h2>{t!(i18n, ev_title)}</h2>
            <p class="explain">{t!(i18n, ev_explain)}</p>
            <CommittedSearches />
            <SearchHere backend=backend />
        </section>
    }
}
