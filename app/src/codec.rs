//! How server functions answer: JSON, read in the browser with `serde_json::from_str`.
//!
//! server_fn's own `Json` reads answers with `serde_json::from_slice`, and island props are read with `from_str`:
//! two readers, so every type that is both a prop and an answer (the alert, its snapshot, its journal, the case
//! draft) had its decoder in the wasm twice. With this encoding each is there once (README, "Size of what a browser
//! downloads").

use leptos::server_fn::{codec::Post, Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON text (see the module's doc).
pub struct JsonText;

/// The answer encoding of every server function: `#[server(output = crate::codec::Json)]`.
pub type Json = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = String;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|error| error.to_string())?;
        serde_json::from_str(text).map_err(|error| error.to_string())
    }
}
