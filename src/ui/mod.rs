//! The browser front-end (leptos, client-side rendered).
//!
//! `main.rs` only calls [`mount`]. The [`App`] picks a backend (WebGPU, or the CPU with a
//! notice saying why), and shows the page the URL asks for: the Playground by default,
//! `?page=train` for the Train page (which streams the MNIST shards), `?page=episode` for one
//! few-shot episode step by step, `?page=rl` for meta-reinforcement learning,
//! `?page=meta-train` for meta-training in the page, `?page=evolve` for the evolutionary
//! search, `?bench` for the benchmark, `?selftest` for the in-browser checks the test suite
//! runs. `&embed=1` shows any page compactly for an `<iframe>` in course material ([`share`]
//! makes the links and snippets; [`offline`] keeps the app working without a network).
//! Components here hold UI state only; all maths lives in the library.

mod backend;
mod bench_page;
mod chart;
mod episode_page;
mod evolve_page;
mod learned;
mod loader;
mod meta_train_page;
mod offline;
mod playground;
mod rl_page;
mod selftest;
mod share;
mod train_page;
mod weights;
mod widgets;

use crate::backend::{Backend, BackendKind};
use leptos::prelude::*;
use loader::DataPool;

/// Mounts the app on `<body>`.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// The query-string parameter `name`, if present.
pub fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// Which page the URL asks for.
#[derive(Clone, Copy, PartialEq)]
enum Page {
    Playground,
    Train,
    Episode,
    Rl,
    Evolve,
    MetaTrain,
    Bench,
    SelfTest,
}

/// The pages a link can open, with their `?page=` value (none for the Playground).
const LINKED_PAGES: [(Page, Option<&str>); 6] = [
    (Page::Playground, None),
    (Page::Episode, Some("episode")),
    (Page::Rl, Some("rl")),
    (Page::MetaTrain, Some("meta-train")),
    (Page::Evolve, Some("evolve")),
    (Page::Train, Some("train")),
];

fn requested_page() -> Page {
    if query_param("bench").is_some() {
        return Page::Bench;
    }
    if query_param("selftest").is_some() {
        return Page::SelfTest;
    }
    let asked = query_param("page");
    LINKED_PAGES
        .iter()
        .find(|(_, name)| *name == asked.as_deref())
        .map_or(Page::Playground, |(page, _)| *page)
}

impl Page {
    /// The page's `?page=` value, if a share link can open it.
    fn link_name(self) -> Option<Option<&'static str>> {
        LINKED_PAGES
            .iter()
            .find(|(p, _)| *p == self)
            .map(|(_, n)| *n)
    }
}

/// Whether the URL asks for the compact view made for `<iframe>`s (`?embed=1`).
fn embedded() -> bool {
    query_param("embed").as_deref() == Some("1")
}

/// The whole application: header with the backend in use, then the requested page.
#[component]
pub fn App() -> impl IntoView {
    let backend = RwSignal::new(None::<Backend>);
    leptos::task::spawn_local(async move {
        let preference = match query_param("backend").as_deref() {
            Some("cpu") => backend::Preference::Cpu,
            Some("webgpu") => backend::Preference::WebGpu,
            _ => backend::Preference::Auto,
        };
        backend.set(Some(backend::choose(preference).await));
    });
    let page = requested_page();
    let pool = DataPool::default();
    if page == Page::Train {
        loader::start(pool);
    }
    share::provide_share_context();
    let embed = embedded();
    if embed && let Some(body) = web_sys::window().and_then(|w| w.document()?.body()) {
        let _ = body.class_list().add_1("embed");
    }
    let header = if embed {
        view! { <EmbedBar page=page backend=backend /> }.into_any()
    } else {
        view! { <SiteHeader page=page backend=backend /> }.into_any()
    };

    view! {
        {header}
        <main>
            {move || match backend.get() {
                None => view! { <p class="muted">"Starting the compute backend…"</p> }.into_any(),
                Some(backend_now) => match page {
                    Page::Playground => view! {
                        <playground::PlaygroundPage backend=backend_now on_device_lost=move |reason: String| {
                            backend.set(Some(Backend::cpu(Some(format!("WebGPU failed while adapting ({reason}); switched to the CPU backend. Your drawings are kept.")))));
                        } />
                    }.into_any(),
                    Page::Train => view! {
                        <train_page::TrainPage backend=backend_now pool=pool on_device_lost=move |reason: String| {
                            backend.set(Some(Backend::cpu(Some(format!("WebGPU failed during training ({reason}); switched to the CPU backend.")))));
                        } />
                    }.into_any(),
                    Page::Episode => view! { <episode_page::EpisodePage backend=backend_now /> }.into_any(),
                    Page::Rl => view! { <rl_page::RlPage backend=backend_now /> }.into_any(),
                    Page::Evolve => view! { <evolve_page::EvolvePage backend=backend_now /> }.into_any(),
                    Page::MetaTrain => view! { <meta_train_page::MetaTrainPage backend=backend_now /> }.into_any(),
                    Page::Bench => view! { <bench_page::BenchPage backend=backend_now /> }.into_any(),
                    Page::SelfTest => view! { <selftest::SelfTest backend=backend_now /> }.into_any(),
                },
            }}
        </main>
    }
}

/// The full app's header: title, the pages, share, offline state and the backend in use.
#[component]
fn SiteHeader(page: Page, backend: RwSignal<Option<Backend>>) -> impl IntoView {
    view! {
        <header class="top">
            <h1>"Few-Shot Lab"</h1>
            <p class="tagline">"Deep learning and meta-learning, running in your browser."</p>
            <nav class="pages" aria-label="Pages">
                <a href="./" class:current=page == Page::Playground>"Playground"</a>
                <a href="./?page=episode" class:current=page == Page::Episode>"One episode"</a>
                <a href="./?page=rl" class:current=page == Page::Rl>"Meta-RL"</a>
                <a href="./?page=meta-train" class:current=page == Page::MetaTrain>"Meta-train"</a>
                <a href="./?page=evolve" class:current=page == Page::Evolve>"Evolution"</a>
                <a href="./?page=train" class:current=page == Page::Train>"Train a CNN"</a>
                <a href="./?bench" class:current=page == Page::Bench>"Benchmark"</a>
            </nav>
            <div class="tools">
                {page.link_name().map(|name| view! { <share::ShareButton page=name /> })}
                <offline::OfflineBadge />
            </div>
            <BackendBadge backend=backend />
        </header>
    }
}

/// The compact bar of an embedded view: the app's name, the backend, share, and a link that
/// opens this view, with its current settings, as the full app in a new tab.
#[component]
fn EmbedBar(page: Page, backend: RwSignal<Option<Backend>>) -> impl IntoView {
    let name = page.link_name().flatten();
    let full_app = move |ev: leptos::ev::MouseEvent| {
        let shared = share::current_settings();
        let target = ev
            .current_target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlAnchorElement>(t).ok());
        if let (Some(link), Some(anchor)) = (share::view_link(name, &shared, false), target) {
            anchor.set_href(&link);
        }
    };
    view! {
        <header class="embed-bar">
            <strong class="embed-title">"Few-Shot Lab"</strong>
            {page.link_name().map(|name| view! { <share::ShareButton page=name /> })}
            <a id="open-full-app" href="./" target="_blank" rel="noopener" on:click=full_app>
                "Open the full app ↗"
            </a>
            <BackendBadge backend=backend />
        </header>
    }
}

/// Shows which backend and adapter the app runs on, and why it fell back if it did.
#[component]
fn BackendBadge(backend: RwSignal<Option<Backend>>) -> impl IntoView {
    move || {
        backend.get().map(|b| {
            let (class, name) = match b.kind {
                BackendKind::WebGpu | BackendKind::Wgpu => ("badge webgpu", "WebGPU"),
                BackendKind::Cpu => ("badge cpu", "CPU"),
            };
            view! {
                <div class="backend">
                    <span id="backend" class=class data-backend=b.kind.label()>{name}</span>
                    <span id="adapter" class="adapter">{b.adapter.clone()}</span>
                </div>
                {b.notice.clone().map(|n| view! { <p id="backend-notice" class="notice" role="status">{n}</p> })}
            }
        })
    }
}
