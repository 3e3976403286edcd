//! The wasm entry point: cargo-leptos builds this crate for the browser.

/// Called by the generated JS once the wasm is loaded: hydrates the page's islands (the interactive parts of the
/// server-rendered page; everything else stays plain HTML).
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::hydrate_islands();
}
