//! The browser front-end (leptos, client-side rendered).
//!
//! `main.rs` calls [`mount`] on a page and [`serve_worker`] in the compute worker (`worker`,
//! `jobs`). The [`App`] picks a backend (WebGPU, or the CPU with a
//! notice saying why), and shows the page the URL asks for: the Playground by default,
//! `?page=train` for the Train page (which streams the MNIST shards), `?page=episode` for one
//! few-shot episode step by step, `?page=rl` for meta-reinforcement learning,
//! `?page=meta-train` for meta-training in the page, `?page=evolve` for the evolutionary
//! search, `?bench` for the benchmark, `?selftest` for the in-browser checks the test suite
//! runs. `&embed=1` shows any page compactly for an `<iframe>` in course material ([`share`]
//! makes the links and snippets; [`offline`] keeps the app working without a network). Texts
//! are in English and Simplified Chinese ([`language`]). Components here hold UI state only;
//! all maths lives in the library.

mod backend;
mod bench_page;
mod chart;
mod episode_page;
mod evolve_page;
mod jobs;
mod language;
mod learned;
mod loader;
mod messages;
mod meta_train_page;
mod offline;
mod playground;
mod rl_page;
mod selftest;
mod share;
mod train_page;
mod weights;
mod widgets;
mod worker;

use crate::backend::{Backend, BackendKind, Fallback};
use i18n::{I18nContextProvider, t, use_i18n};
use leptos::prelude::*;
use loader::DataPool;

// The `i18n` module: the texts of `locales/*.json`, keys checked at compile time. The macro is
// deprecated in favour of generating the module in build.rs with leptos_i18n_build, which would
// compile ICU's data exporter (icu_provider_export, icu_provider_source) into every native
// build and test run for a module the native build never uses.
#[allow(deprecated)]
mod i18n_module {
    leptos_i18n::load_locales!();
}
use i18n_module::i18n;

pub use worker::in_worker;

/// In the compute worker (`www/worker.js`): answers the pages' commands ([`jobs`]).
pub fn serve_worker() {
    console_error_panic_hook::set_once();
    jobs::serve();
}

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

/// The whole application, in the person's language.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <I18nContextProvider>
            <Shell />
        </I18nContextProvider>
    }
}

/// Header with the backend in use, then the requested page.
#[component]
fn Shell() -> impl IntoView {
    language::apply_chosen_language();
    let i18n = use_i18n();
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
                None => view! { <p class="muted">{t!(i18n, starting_backend)}</p> }.into_any(),
                Some(backend_now) => match page {
                    Page::Playground => view! {
                        <playground::PlaygroundPage backend=backend_now on_device_lost=move |reason: String| {
                            backend.set(Some(Backend::cpu(Some(Fallback::LostAdapting(reason)))));
                        } />
                    }.into_any(),
                    Page::Train => view! {
                        <train_page::TrainPage backend=backend_now pool=pool on_device_lost=move |reason: String| {
                            backend.set(Some(Backend::cpu(Some(Fallback::LostTraining(reason)))));
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

/// The full app's header: title, the pages, share, language, offline state and the backend.
#[component]
fn SiteHeader(page: Page, backend: RwSignal<Option<Backend>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <header class="top">
            <h1>{t!(i18n, app_name)}</h1>
            <p class="tagline">{t!(i18n, tagline)}</p>
            <nav class="pages" aria-label=move || i18n::t_string!(i18n, nav_pages)>
                <a href="./" class:current=page == Page::Playground>{t!(i18n, nav_playground)}</a>
                <a href="./?page=episode" class:current=page == Page::Episode>{t!(i18n, nav_episode)}</a>
                <a href="./?page=rl" class:current=page == Page::Rl>{t!(i18n, nav_rl)}</a>
                <a href="./?page=meta-train" class:current=page == Page::MetaTrain>{t!(i18n, nav_meta_train)}</a>
                <a href="./?page=evolve" class:current=page == Page::Evolve>{t!(i18n, nav_evolve)}</a>
                <a href="./?page=train" class:current=page == Page::Train>{t!(i18n, nav_train)}</a>
                <a href="./?bench" class:current=page == Page::Bench>{t!(i18n, nav_bench)}</a>
            </nav>
            <div class="tools">
                {page.link_name().map(|name| view! { <share::ShareButton page=name /> })}
                <language::LanguagePicker />
                <offline::OfflineBadge />
            </div>
            <BackendBadge backend=backend />
        </header>
    }
}

/// The compact bar of an embedded view: the app's name, a link that opens this view, with its
/// current settings, as the full app in a new tab, share, language, offline state and backend.
#[component]
fn EmbedBar(page: Page, backend: RwSignal<Option<Backend>>) -> impl IntoView {
    let i18n = use_i18n();
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
            <strong class="embed-title">{t!(i18n, app_name)}</strong>
            // Before the items whose width changes (the offline badge's text), so it never moves
            // under a finger or pointer as they change.
            <a id="open-full-app" href="./" target="_blank" rel="noopener" on:click=full_app>
                {t!(i18n, open_full_app)}
            </a>
            {page.link_name().map(|name| view! { <share::ShareButton page=name /> })}
            <language::LanguagePicker />
            <offline::OfflineBadge />
            <BackendBadge backend=backend />
        </header>
    }
}

/// Shows which backend and adapter the app runs on, and why it fell back if it did.
#[component]
fn BackendBadge(backend: RwSignal<Option<Backend>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        backend.get().map(|b| {
            let (class, name) = match b.kind {
                BackendKind::WebGpu | BackendKind::Wgpu => ("badge webgpu", "WebGPU"),
                BackendKind::Cpu => ("badge cpu", "CPU"),
            };
            view! {
                <div class="backend">
                    <span id="backend" class=class data-backend=b.kind.label()>{name}</span>
                    <span id="adapter" class="adapter" translate="no">{b.adapter.clone()}</span>
                </div>
                {b.notice.clone().map(|n| view! { <p id="backend-notice" class="notice" role="status">{move || language::fallback_text(i18n, &n)}</p> })}
            }
        })
    }
}
