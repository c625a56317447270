//! Entry point: the CLI natively, the web app in the browser (and its compute worker).

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    keep_freed_memory();
    std::process::exit(fewshot_lab::cli::run());
}

/// Tells glibc's allocator to keep freed memory for reuse: blocks up to 32 MiB come from the
/// heap rather than from their own `mmap`s, and up to 256 MiB of free heap stays mapped. Every
/// step of the CPU backend allocates and frees the same large tensors; with glibc's defaults
/// the kernel's page-fault handler ranked high in a profile of a training step, as freed
/// memory went back to the system and was faulted in again. Both values are within glibc's
/// limits on 64-bit targets (on 32-bit ones the first is above them, and glibc ignores it).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// The static constructors, which wasm-ld gathers into one function (pliron's `inventory`
    /// registrations, through cubecl).
    fn __wasm_call_ctors();
}

#[cfg(target_arch = "wasm32")]
fn main() {
    // Run once, here. A module that never calls them itself gets every export wrapped by
    // wasm-ld to run them again on each call from JavaScript: in a profile of the Playground's
    // adaptation, those repeated constructors took more of the page's time than the convolutions.
    // SAFETY: called once, before the app's own code runs.
    unsafe { __wasm_call_ctors() };
    if fewshot_lab::ui::in_worker() {
        fewshot_lab::ui::serve_worker();
    } else {
        fewshot_lab::ui::mount();
    }
}
