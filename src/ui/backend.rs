//! Choosing the browser's compute backend: WebGPU when an adapter is available, else the CPU.
//!
//! We first ask `navigator.gpu` for an adapter ourselves — to say precisely why WebGPU is not
//! used (no `navigator.gpu`, no adapter, an error) and to show the adapter's name — then
//! initialise burn's wgpu runtime asynchronously, as it must be in a browser.

use crate::backend::{Backend, BackendKind};
use burn::tensor::Device;
use burn::tensor::wgpu::WgpuBackend;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn describe(error: &JsValue) -> String {
    error
        .as_string()
        .or_else(|| get(error, "message").as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// Requests a WebGPU adapter and describes it, or says why there is none.
async fn probe_adapter() -> Result<String, String> {
    let window = web_sys::window().ok_or("no window object")?;
    let gpu = get(&window.navigator(), "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no navigator.gpu (WebGPU is unsupported or disabled)".into());
    }
    let request: Function = get(&gpu, "requestAdapter")
        .dyn_into()
        .map_err(|_| "navigator.gpu.requestAdapter is not a function".to_string())?;
    let promise: Promise = request
        .call0(&gpu)
        .map_err(|e| describe(&e))?
        .dyn_into()
        .map_err(|_| "requestAdapter did not return a promise".to_string())?;
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| format!("the adapter request failed: {}", describe(&e)))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("the adapter request found no WebGPU adapter".into());
    }
    let info = get(&adapter, "info");
    let field = |key| get(&info, key).as_string().filter(|s| !s.is_empty());
    let mut parts: Vec<String> = ["vendor", "architecture", "description"]
        .into_iter()
        .filter_map(field)
        .collect();
    if get(&info, "isFallbackAdapter").as_bool() == Some(true) {
        parts.push("(fallback adapter)".into());
    }
    Ok(if parts.is_empty() {
        "unnamed adapter".into()
    } else {
        parts.join(" ")
    })
}

/// Picks the backend: WebGPU if possible (and not `force_cpu`), else the CPU with a notice.
pub async fn choose(force_cpu: bool) -> Backend {
    if force_cpu {
        return Backend::cpu(Some("The CPU backend was chosen with ?backend=cpu.".into()));
    }
    let adapter = match probe_adapter().await {
        Ok(adapter) => adapter,
        Err(reason) => {
            return Backend::cpu(Some(format!(
                "WebGPU is not available: {reason}. Running on the CPU backend (slower)."
            )));
        }
    };
    match Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_async()
        .await
    {
        Ok(device) => Backend {
            device,
            kind: BackendKind::WebGpu,
            adapter,
            notice: None,
        },
        Err(error) => Backend::cpu(Some(format!(
            "WebGPU could not be initialised ({error}). Running on the CPU backend (slower)."
        ))),
    }
}
