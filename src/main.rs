//! Entry point: the CLI natively, the web app in the browser (and its compute worker).

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(fewshot_lab::cli::run());
}

#[cfg(target_arch = "wasm32")]
fn main() {
    if fewshot_lab::ui::in_worker() {
        fewshot_lab::ui::serve_worker();
    } else {
        fewshot_lab::ui::mount();
    }
}
