//! Typed errors thrown to JS: an `Error` named `AimDbError` with a `code` and the
//! fields that say what was wrong. The npm wrapper re-throws them as instances of its
//! `AimDbError` class.

use crate::contracts::ContractError;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen::JsValue;

/// Everything the facade can refuse.
#[derive(Debug, Clone, PartialEq)]
pub enum FacadeError {
    /// A value violated its contract.
    Contract { key: Option<String>, error: ContractError },
    /// No record is configured under this key.
    UnknownKey { key: String },
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
            FacadeError::UnknownSchema { .. } => "UNKNOWN_SCHEMA",
            FacadeError::InvalidBuffer { .. } => "INVALID_BUFFER",
            FacadeError::SchemaConflict { .. } => "SCHEMA_CONFLICT",
            FacadeError::InvalidOptions { .. } => "INVALID_OPTIONS",
            FacadeError::UseAfterFree => "USE_AFTER_FREE",
            FacadeError::Engine { .. } => "ENGINE_ERROR",
        }
    }

    /// A human-readable message naming what was wrong.
    pub fn message(&self) -> String {
        match self {
            FacadeError::Contract { key: Some(k), error } => format!("record `{k}`: {error}"),
            FacadeError::Contract { key: None, error } => error.to_string(),
            FacadeError::UnknownKey { key } => format!("no record is configured under `{key}`"),
            FacadeError::UnknownSchema { schema, .. } => format!(
                "unknown schemaType `{schema}` (known: {})",
                crate::schema::known_schemas().join(", ")
            ),
            FacadeError::InvalidBuffer { key, message } => format!("record `{key}`: invalid buffer: {message}"),
            FacadeError::SchemaConflict { key, existing, requested } => {
                format!("record `{key}` is already configured as {existing}; cannot reconfigure it as {requested}")
            }
            FacadeError::InvalidOptions { what, message } => format!("invalid {what}: {message}"),
            FacadeError::UseAfterFree => "this WasmDb was freed".into(),
            FacadeError::Engine { key, message } => format!("record `{key}`: engine error: {message}"),
        }
    }

    /// The JS `Error` object.
    #[cfg(target_arch = "wasm32")]
    pub fn to_js(&self) -> JsValue {
        let err = js_sys::Error::new(&self.message());
        err.set_name("AimDbError");
        let obj: &JsValue = err.as_ref();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(obj, &JsValue::from_str(k), &v);
        };
        set("code", self.code().into());
        match self {
            FacadeError::Contract { key, error } => {
                if let Some(k) = key {
                    set("key", k.as_str().into());
                }
                set("schemaType", error.schema.as_str().into());
                set("path", error.path.as_str().into());
                set("serdeMessage", error.message.as_str().into());
            }
            FacadeError::UnknownKey { key } => set("key", key.as_str().into()),
            FacadeError::UnknownSchema { key, schema } => {
                if let Some(k) = key {
                    set("key", k.as_str().into());
                }
                set("schemaType", schema.as_str().into());
            }
            FacadeError::InvalidBuffer { key, .. } | FacadeError::Engine { key, .. } => set("key", key.as_str().into()),
            FacadeError::SchemaConflict { key, existing, requested } => {
                set("key", key.as_str().into());
                set("existing", existing.as_str().into());
                set("requested", requested.as_str().into());
            }
            FacadeError::InvalidOptions { .. } | FacadeError::UseAfterFree => {}
        }
        err.into()
    }
}

#[cfg(target_arch = "wasm32")]
impl From<FacadeError> for JsValue {
    fn from(e: FacadeError) -> JsValue {
        e.to_js()
    }
}
