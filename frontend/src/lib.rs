//! The wasm entry point: cargo-leptos builds this crate for the browser.

/// Called by the generated JS once the wasm is loaded; attaches Leptos to the server-rendered page.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
