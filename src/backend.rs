//! Which compute device the library runs on, and how to describe it to a person.
//!
//! The maths is backend-agnostic: a `burn::tensor::Device` picked at run time decides where
//! tensors live. Natively (CLI and tests) that is burn's `flex` CPU backend; in the browser it
//! is WebGPU when an adapter is available, else the same CPU backend (see `ui::backend`).

use burn::tensor::Device;

/// The CPU device used natively and as the browser's fallback.
pub fn cpu_device() -> Device {
    Device::flex()
}

/// Threads the CPU backend computes on: a rayon pool (one per core, or `RAYON_NUM_THREADS`)
/// with the `threads` feature, natively.
#[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
pub fn cpu_threads() -> usize {
    rayon::current_num_threads()
}

/// Threads the CPU backend computes on: one, without the `threads` feature or in wasm.
#[cfg(not(all(feature = "threads", not(target_arch = "wasm32"))))]
pub fn cpu_threads() -> usize {
    1
}

/// Which kind of backend a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn's CPU backend (`flex`).
    Cpu,
    /// burn-wgpu on the browser's WebGPU.
    WebGpu,
    /// burn-wgpu natively (Vulkan, Metal or DX12), for the CLI.
    Wgpu,
}

impl BackendKind {
    /// Short name shown to people and printed in benchmarks.
    pub fn label(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::WebGpu => "webgpu",
            BackendKind::Wgpu => "wgpu",
        }
    }
}

/// The device a run uses and what to tell the user about it.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The device (without autodiff).
    pub device: Device,
    /// CPU or WebGPU.
    pub kind: BackendKind,
    /// Adapter description, e.g. "google swiftshader (fallback adapter)".
    pub adapter: String,
    /// Why a fallback happened, when it did.
    pub notice: Option<Fallback>,
}

/// Why the app runs on the CPU backend rather than WebGPU (the browser says it in the
/// person's language).
#[derive(Debug, Clone, PartialEq)]
pub enum Fallback {
    /// `?backend=cpu` asked for it.
    Asked,
    /// No usable WebGPU adapter, and why.
    Unavailable(String),
    /// An adapter, but its device could not be created.
    InitFailed(String),
    /// A software adapter that a test forward pass found slower than the CPU.
    SlowerAdapter {
        /// The adapter's description.
        adapter: String,
        /// Milliseconds on the adapter.
        gpu_ms: f64,
        /// Milliseconds on the CPU.
        cpu_ms: f64,
    },
    /// WebGPU failed while adapting networks (the drawings are kept).
    LostAdapting(String),
    /// WebGPU failed during training.
    LostTraining(String),
}

impl Backend {
    /// The CPU backend, with an optional reason for having fallen back to it.
    pub fn cpu(notice: Option<Fallback>) -> Self {
        Self {
            device: cpu_device(),
            kind: BackendKind::Cpu,
            adapter: match cpu_threads() {
                1 => "burn flex (CPU, 1 thread)".to_string(),
                n => format!("burn flex (CPU, {n} threads)"),
            },
            notice,
        }
    }

    /// The native GPU backend (the CLI's `--backend wgpu`): the first adapter wgpu finds; its
    /// description says when burn's kernel fusion is on (the `gpu-fusion` build).
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    pub fn native_gpu() -> Result<Self, String> {
        let (device, setup) = Device::wgpu_options()
            .init_with_setup()
            .map_err(|e| format!("no usable GPU adapter: {e}"))?;
        let info = setup.adapter.get_info();
        let fusion = if cfg!(feature = "gpu-fusion") {
            ", kernel fusion"
        } else {
            ""
        };
        Ok(Self {
            device,
            kind: BackendKind::Wgpu,
            adapter: format!(
                "{} ({:?}, {:?}){fusion}",
                info.name, info.backend, info.device_type
            ),
            notice: None,
        })
    }
}

/// The largest absolute difference between two backends' outputs; infinite when either holds a
/// NaN or they differ in length, so a broken backend never passes a comparison.
pub fn max_abs_difference(expected: &[f32], actual: &[f32]) -> f32 {
    if expected.len() != actual.len() {
        return f32::INFINITY;
    }
    expected
        .iter()
        .zip(actual)
        .map(|(a, b)| {
            let diff = (a - b).abs();
            if diff.is_nan() { f32::INFINITY } else { diff }
        })
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_fail_on_nan_and_on_short_results() {
        assert_eq!(max_abs_difference(&[1.0, 2.0], &[1.0, 2.5]), 0.5);
        assert_eq!(
            max_abs_difference(&[1.0, 2.0], &[1.0, f32::NAN]),
            f32::INFINITY
        );
        assert_eq!(max_abs_difference(&[f32::NAN], &[f32::NAN]), f32::INFINITY);
        assert_eq!(max_abs_difference(&[1.0, 2.0], &[1.0]), f32::INFINITY);
        assert_eq!(max_abs_difference(&[], &[]), 0.0);
    }
}
