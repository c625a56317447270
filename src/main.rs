//! Entry point: the CLI natively, the web app in the browser.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(fewshot_lab::cli::run());
}

#[cfg(target_arch = "wasm32")]
fn main() {
    fewshot_lab::ui::mount();
}
