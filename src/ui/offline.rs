//! Offline after the first visit: registers the service worker (`www/sw.js`: it stores the
//! app, its networks and samples on install, and data shards as they are used) and shows
//! whether the app is available offline.

use super::i18n::{t_string, td_string, use_i18n};
use super::language::{fill, page_locale};
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Where storing the app for offline use stands.
#[derive(Clone, PartialEq)]
enum Offline {
    Storing,
    Ready,
    Unavailable(String),
}

/// A small badge: "Available offline" once the service worker has stored the app.
#[component]
pub fn OfflineBadge() -> impl IntoView {
    let i18n = use_i18n();
    let state = RwSignal::new(Offline::Storing);
    leptos::task::spawn_local(async move {
        state.set(match register().await {
            Ok(()) => Offline::Ready,
            Err(why) => Offline::Unavailable(why),
        });
    });
    move || {
        let (class, label, title) = match state.get() {
            Offline::Storing => (
                "storing",
                t_string!(i18n, offline_storing),
                t_string!(i18n, offline_storing_title).to_string(),
            ),
            Offline::Ready => (
                "ready",
                t_string!(i18n, offline_ready),
                t_string!(i18n, offline_ready_title).to_string(),
            ),
            Offline::Unavailable(why) => ("unavailable", t_string!(i18n, offline_unavailable), why),
        };
        view! {
            <span id="offline-status" class=format!("offline {class}") data-state=class title=title.clone()>
                {label}<span class="visually-hidden">{format!(": {title}")}</span>
            </span>
        }
    }
}

/// Registers `sw.js` and waits until it is active (its install stored the app).
async fn register() -> Result<(), String> {
    let navigator = web_sys::window().ok_or("no window")?.navigator();
    let supported = js_sys::Reflect::get(&navigator, &"serviceWorker".into())
        .is_ok_and(|worker| !worker.is_undefined());
    if !supported {
        return Err(td_string!(page_locale(), offline_no_service_workers).to_string());
    }
    let workers = navigator.service_worker();
    let registration: web_sys::ServiceWorkerRegistration =
        JsFuture::from(workers.register("./sw.js"))
            .await
            .map_err(|e| offline_failed(&format!("{e:?}")))?
            .unchecked_into();
    let ready = workers
        .ready()
        .map_err(|e| offline_failed(&format!("{e:?}")))?;
    // Ready, or the installing worker gave up (a file missing, storage full): whichever first.
    let failed = registration
        .installing()
        .map(|worker| install_failure(&worker));
    let outcome = match failed {
        Some(failed) => {
            JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(&ready, &failed))).await
        }
        None => JsFuture::from(ready).await,
    };
    outcome
        .map(|_| ())
        .map_err(|e| offline_failed(&e.as_string().unwrap_or_else(|| format!("{e:?}"))))
}

/// The offline copy could not be stored, for `reason`.
fn offline_failed(reason: &str) -> String {
    fill(
        td_string!(page_locale(), offline_failed),
        &[("reason", &reason)],
    )
}

/// A promise rejected when `worker` ends up redundant: its install failed.
fn install_failure(worker: &web_sys::ServiceWorker) -> js_sys::Promise {
    let worker = worker.clone();
    js_sys::Promise::new(&mut |_, reject| {
        let watched = worker.clone();
        let on_change = Closure::<dyn FnMut()>::new(move || {
            if watched.state() == web_sys::ServiceWorkerState::Redundant {
                let reason = td_string!(page_locale(), offline_file_failed);
                let _ = reject.call1(&JsValue::NULL, &reason.into());
            }
        });
        worker.set_onstatechange(Some(on_change.as_ref().unchecked_ref()));
        on_change.forget();
    })
}
