//! Choosing the browser's compute backend: WebGPU when an adapter is available and faster, else
//! the CPU.
//!
//! We first ask `navigator.gpu` for an adapter ourselves — to say precisely why WebGPU is not
//! used (no `navigator.gpu`, no adapter, an error) and to show the adapter's name — then
//! initialise burn's wgpu runtime asynchronously, as it must be in a browser. A *fallback*
//! adapter is a software emulation of a GPU (SwiftShader, say), which runs these small networks
//! many times slower than the wasm CPU backend: for one, a short probe times the same forward
//! pass on both, the faster wins, and the choice is remembered for that adapter (localStorage).
//! `?backend=webgpu` or `?backend=cpu` overrides the choice.

use crate::backend::{Backend, BackendKind, Fallback, cpu_device};
use crate::bench::{now_ms, synthetic_images};
use crate::data::NUM_CLASSES;
use crate::model::{Backbone, Network};
use burn::tensor::Device;
use burn::tensor::wgpu::WgpuBackend;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// `target[key]`, or `undefined`.
pub(super) fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A JavaScript error as text.
pub(super) fn describe(error: &JsValue) -> String {
    error
        .as_string()
        .or_else(|| get(error, "message").as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// A WebGPU adapter's description, and whether it is a software fallback.
struct Adapter {
    description: String,
    fallback: bool,
}

/// Requests a WebGPU adapter and describes it, or says why there is none.
async fn probe_adapter() -> Result<Adapter, String> {
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
    let fallback = get(&info, "isFallbackAdapter").as_bool() == Some(true);
    if fallback {
        parts.push("(fallback adapter)".into());
    }
    let description = if parts.is_empty() {
        "unnamed adapter".into()
    } else {
        parts.join(" ")
    };
    Ok(Adapter {
        description,
        fallback,
    })
}

/// Milliseconds a forward pass of the reference CNN over 32 images takes on `device` (the
/// median of three, after one warm-up pass that compiles what needs compiling).
async fn time_forward(device: &Device) -> Result<f64, String> {
    device.seed(3);
    let network = Network::new(Backbone::Reference, NUM_CLASSES, device);
    let images = synthetic_images(32, 1).to_batch(device).images;
    let mut times = Vec::new();
    for run in 0..4 {
        let started = now_ms();
        network
            .forward(images.clone())
            .into_data_async()
            .await
            .map_err(|e| format!("{e:?}"))?;
        if run > 0 {
            times.push(now_ms() - started);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[1])
}

/// Storage key of the probe's verdict for adapter `description`.
fn probe_key(description: &str) -> String {
    format!("fewshot-lab.backend-probe.{description}")
}

/// The remembered verdict for `description`, `(webgpu ms, cpu ms)`, if a probe ran before.
fn remembered(description: &str) -> Option<(f64, f64)> {
    let storage = super::widgets::local_storage()?;
    let text = storage.get_item(&probe_key(description)).ok().flatten()?;
    let (gpu, cpu) = text.split_once(',')?;
    Some((gpu.parse().ok()?, cpu.parse().ok()?))
}

/// Times the software adapter against the CPU (or recalls an earlier probe): `(webgpu ms, cpu ms)`.
async fn compare_with_cpu(description: &str, device: &Device) -> Result<(f64, f64), String> {
    if let Some(times) = remembered(description) {
        return Ok(times);
    }
    let gpu = time_forward(device).await?;
    let cpu = time_forward(&cpu_device()).await?;
    if let Some(storage) = super::widgets::local_storage() {
        let _ = storage.set_item(&probe_key(description), &format!("{gpu},{cpu}"));
    }
    Ok((gpu, cpu))
}

/// What the page's URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preference {
    /// The faster of what is available.
    Auto,
    /// The CPU backend (`?backend=cpu`).
    Cpu,
    /// WebGPU whenever there is an adapter, even a software one (`?backend=webgpu`).
    WebGpu,
}

/// Picks the backend as `preference` asks; a fallback from WebGPU comes with a notice saying
/// why.
pub async fn choose(preference: Preference) -> Backend {
    if preference == Preference::Cpu {
        return Backend::cpu(Some(Fallback::Asked));
    }
    let adapter = match probe_adapter().await {
        Ok(adapter) => adapter,
        Err(reason) => {
            return Backend::cpu(Some(Fallback::Unavailable(reason)));
        }
    };
    let device = match Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_async()
        .await
    {
        Ok(device) => device,
        Err(error) => {
            return Backend::cpu(Some(Fallback::InitFailed(error.to_string())));
        }
    };
    if adapter.fallback && preference == Preference::Auto {
        match compare_with_cpu(&adapter.description, &device).await {
            Ok((gpu, cpu)) if cpu < gpu => {
                return Backend::cpu(Some(Fallback::SlowerAdapter {
                    adapter: adapter.description,
                    gpu_ms: gpu,
                    cpu_ms: cpu,
                }));
            }
            Ok(_) | Err(_) => {}
        }
    }
    Backend {
        device,
        kind: BackendKind::WebGpu,
        adapter: adapter.description,
        notice: None,
    }
}
