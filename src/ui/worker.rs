//! Long work off the page's main thread: a dedicated Web Worker running this same wasm.
//!
//! `www/worker.js` (its file names filled in after each build by `scripts/write-service-worker`)
//! loads the build's module in the worker; there `main` finds no `window` and calls the job's
//! `serve`, which answers through [`serve`] and [`post`]. On the page, [`ComputeWorker::start`]
//! starts one and waits until its wasm listens; dropping it stops the worker.

use super::backend::{describe, get};
use super::i18n::td_string;
use super::language::{fill, page_locale};
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, Worker, WorkerOptions, WorkerType};

/// How long a worker may take to load and compile the wasm before the page gives up on it.
const START_TIMEOUT_MS: i32 = 60_000;
/// What a worker posts first, once its wasm listens, followed by its build.
const READY: &str = "ready:";
/// The build this wasm is (its commit): a page open across a deployment may start a worker of
/// the newer build, whose messages it may not read.
const BUILD: &str = env!("FEWSHOT_COMMIT");

/// Whether this wasm runs in a worker (no `window`) rather than on a page.
pub fn in_worker() -> bool {
    js_sys::global()
        .dyn_ref::<DedicatedWorkerGlobalScope>()
        .is_some()
}

/// In the worker: hands every message the page posts to `handle`, then tells the page it listens.
pub fn serve(mut handle: impl FnMut(JsValue) + 'static) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let on_message =
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| handle(event.data()));
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    post(&JsValue::from_str(&format!("{READY}{BUILD}")));
}

/// In the worker: posts `message` to the page.
pub fn post(message: &JsValue) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    if let Err(e) = scope.post_message(message) {
        web_sys::console::error_2(&"the worker could not post a message:".into(), &e);
    }
}

/// A worker started by the page; dropping it stops the worker.
pub struct ComputeWorker {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl ComputeWorker {
    /// Starts `worker.js` and waits until its wasm listens. Each message it posts afterwards goes
    /// to `on_message`; if it fails afterwards (a panic, say), `on_failure` gets the reason.
    pub async fn start(
        mut on_message: impl FnMut(JsValue) + 'static,
        mut on_failure: impl FnMut(String) + 'static,
    ) -> Result<Self, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options("./worker.js", &options).map_err(|e| {
            fill(
                td_string!(page_locale(), worker_refused),
                &[("reason", &describe(&e))],
            )
        })?;
        let (started, resolve, reject) = promise();
        let reject_old = reject.clone();
        let listening = std::rc::Rc::new(std::cell::Cell::new(false));
        let first = listening.clone();
        let on_message_closure =
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if first.get() {
                    on_message(event.data());
                    return;
                }
                let message = event.data().as_string().unwrap_or_default();
                match message.strip_prefix(READY) {
                    Some(build) if build == BUILD => {
                        first.set(true);
                        let _ = resolve.call0(&JsValue::NULL);
                    }
                    Some(build) => {
                        let reason = format!(
                            "the worker is build {build}, this page build {BUILD}: reload the page"
                        );
                        let _ = reject_old.call1(&JsValue::NULL, &reason.into());
                    }
                    None => {}
                }
            });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let reason = get(&event, "message")
                .as_string()
                .unwrap_or_else(|| "worker.js could not be loaded or run".into());
            if listening.get() {
                on_failure(reason);
            } else {
                let _ = reject.call1(&JsValue::NULL, &reason.into());
            }
        });
        worker.set_onmessage(Some(on_message_closure.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let running = Self {
            worker,
            _on_message: on_message_closure,
            _on_error: on_error,
        };
        let timeout = Promise::new(&mut |_, reject| {
            let message = JsValue::from_str("the worker did not start within a minute");
            let give_up: Function = reject.bind1(&JsValue::NULL, &message).unchecked_into();
            let _ = set_timeout(&give_up, START_TIMEOUT_MS);
        });
        JsFuture::from(Promise::race(&js_sys::Array::of2(&started, &timeout)))
            .await
            .map_err(|e| describe(&e))?;
        Ok(running)
    }

    /// Posts `message` to the worker.
    pub fn send(&self, message: &JsValue) -> Result<(), String> {
        self.send_moving(message, &js_sys::Array::new())
    }

    /// Posts `message` to the worker, moving the `ArrayBuffer`s in `transfer` there rather than
    /// copying them (they are empty on the page afterwards).
    pub fn send_moving(&self, message: &JsValue, transfer: &js_sys::Array) -> Result<(), String> {
        self.worker
            .post_message_with_transfer(message, transfer)
            .map_err(|e| {
                fill(
                    td_string!(page_locale(), worker_post_failed),
                    &[("reason", &describe(&e))],
                )
            })
    }
}

impl Drop for ComputeWorker {
    fn drop(&mut self) {
        // Detached first: an event already queued must not reach the freed handlers.
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

/// A promise and the functions that settle it.
fn promise() -> (Promise, Function, Function) {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let (resolve, reject) = settle.expect("a promise's executor runs at once");
    (promise, resolve, reject)
}

/// Calls `callback` after `ms` milliseconds, on a page or in a worker.
pub fn set_timeout(callback: &Function, ms: i32) -> Result<JsValue, JsValue> {
    let global = js_sys::global();
    let set_timeout: Function = Reflect::get(&global, &"setTimeout".into())?.dyn_into()?;
    set_timeout.call2(&global, callback, &ms.into())
}
