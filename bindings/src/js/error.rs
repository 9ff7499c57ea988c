//! Typed errors thrown to JS: an `Error` named `AimDbError` with a `code` and the
//! fields that say what was wrong. The npm wrapper re-throws them as instances of its
//! `AimDbError` class.
//!
//! Every piece of input an error quotes (keys, schema names, paths, serde messages,
//! option values) is cut to [`EXCERPT_CHARS`](crate::json::EXCERPT_CHARS) characters,
//! so a 40 MB input never comes back as a 40 MB message.

use super::options::ex;
use crate::contracts::ContractError;
use crate::json::{excerpt, MESSAGE_CHARS};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen::JsValue;

/// Everything the facade can refuse.
#[derive(Debug, Clone, PartialEq)]
pub enum FacadeError {
    /// A value violated its contract.
    Contract { key: Option<String>, error: ContractError },
    /// No record is configured under this key.
    UnknownKey { key: String },
    /// The key cannot name a record (empty, or longer than
    /// [`MAX_KEY_BYTES`](super::options::MAX_KEY_BYTES)).
    InvalidKey { key: String, message: String },
    /// No contract is registered under this name.
    UnknownSchema { key: Option<String>, schema: String },
    /// The buffer option is malformed or out of range.
    InvalidBuffer { key: String, message: String },
    /// The key is configured already, with another schema or buffer.
    SchemaConflict { key: String, existing: String, requested: String },
    /// Options object malformed.
    InvalidOptions { what: &'static str, message: String },
    /// The database was freed.
    UseAfterFree,
    /// aimdb-core refused (should not happen; reported, never swallowed).
    Engine { key: String, message: String },
}

impl FacadeError {
    /// The stable `code` JS sees.
    pub fn code(&self) -> &'static str {
        match self {
            FacadeError::Contract { .. } => "CONTRACT_VIOLATION",
            FacadeError::UnknownKey { .. } => "UNKNOWN_KEY",
            FacadeError::InvalidKey { .. } => "INVALID_KEY",
            FacadeError::UnknownSchema { .. } => "UNKNOWN_SCHEMA",
            FacadeError::InvalidBuffer { .. } => "INVALID_BUFFER",
            FacadeError::SchemaConflict { .. } => "SCHEMA_CONFLICT",
            FacadeError::InvalidOptions { .. } => "INVALID_OPTIONS",
            FacadeError::UseAfterFree => "USE_AFTER_FREE",
            FacadeError::Engine { .. } => "ENGINE_ERROR",
        }
    }

    /// A human-readable message naming what was wrong (input quoted in excerpts).
    pub fn message(&self) -> String {
        match self {
            FacadeError::Contract { key: Some(k), error } => {
                format!("record `{}`: {}", ex(k), excerpt(error, MESSAGE_CHARS))
            }
            FacadeError::Contract { key: None, error } => excerpt(error, MESSAGE_CHARS),
            FacadeError::UnknownKey { key } => format!("no record is configured under `{}`", ex(key)),
            FacadeError::InvalidKey { key, message } => format!("invalid record key `{}`: {message}", ex(key)),
            FacadeError::UnknownSchema { schema, .. } => format!(
                "unknown schemaType `{}` (known: {})",
                ex(schema),
                crate::schema::known_schemas().join(", ")
            ),
            FacadeError::InvalidBuffer { key, message } => format!("record `{}`: invalid buffer: {message}", ex(key)),
            FacadeError::SchemaConflict { key, existing, requested } => format!(
                "record `{}` is already configured as {}; cannot reconfigure it as {}",
                ex(key),
                ex(existing),
                ex(requested)
            ),
            FacadeError::InvalidOptions { what, message } => format!("invalid {what}: {}", excerpt(message, MESSAGE_CHARS)),
            FacadeError::UseAfterFree => "this WasmDb was freed".into(),
            FacadeError::Engine { key, message } => {
                format!("record `{}`: engine error: {}", ex(key), excerpt(message, MESSAGE_CHARS))
            }
        }
    }

    /// The JS `Error` object.
    #[cfg(target_arch = "wasm32")]
    pub fn to_js(&self) -> JsValue {
        let err = js_error(self.code(), &self.message(), &[]);
        let obj = &err;
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(obj, &JsValue::from_str(k), &v);
        };
        // `key` is the whole key (the npm wrapper lets no key over `MAX_KEY_BYTES` in),
        // except for `INVALID_KEY`; every other quoted string is cut like the message.
        let cut = |k: &str, v: &str| set(k, ex(v).into());
        match self {
            FacadeError::Contract { key, error } => {
                if let Some(k) = key {
                    set("key", k.as_str().into());
                }
                cut("schemaType", &error.schema);
                cut("path", &error.path);
                set("serdeMessage", excerpt(&error.message, MESSAGE_CHARS).into());
            }
            FacadeError::UnknownKey { key } => set("key", key.as_str().into()),
            FacadeError::InvalidKey { key, .. } => cut("key", key),
            FacadeError::UnknownSchema { key, schema } => {
                if let Some(k) = key {
                    set("key", k.as_str().into());
                }
                cut("schemaType", schema);
            }
            FacadeError::InvalidBuffer { key, .. } | FacadeError::Engine { key, .. } => set("key", key.as_str().into()),
            FacadeError::SchemaConflict { key, existing, requested } => {
                set("key", key.as_str().into());
                cut("existing", existing);
                cut("requested", requested);
            }
            FacadeError::InvalidOptions { .. } | FacadeError::UseAfterFree => {}
        }
        err
    }
}

/// The one builder of the JS errors the module throws or reports: an `Error` named
/// `AimDbError` with `code` and extra string fields (the facade's [`FacadeError`] and
/// the bridge's errors alike).
#[cfg(target_arch = "wasm32")]
pub(crate) fn js_error(code: &str, message: &str, fields: &[(&str, &str)]) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("AimDbError");
    let obj: &JsValue = err.as_ref();
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str("code"), &JsValue::from_str(code));
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(obj, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    err.into()
}

#[cfg(target_arch = "wasm32")]
impl From<FacadeError> for JsValue {
    fn from(e: FacadeError) -> JsValue {
        e.to_js()
    }
}
