//! Entry point: the CLI natively, the web app in the browser (and its compute worker).

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(fewshot_lab::cli::run());
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
