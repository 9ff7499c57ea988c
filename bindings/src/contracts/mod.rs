//! Data contracts: the record types the AimDB servers publish (see `PROTOCOL.md`,
//! "Data contracts as the AimDB servers publish them"), enforced by serde at the boundary.
//!
//! Every contract implements [`Contract`]: JSON in, a validated value of the *current*
//! version out (older versions are upgraded through the contract's migration chain), or
//! a [`ContractError`] naming the field path and serde's message.
//!
//! | type | `NAME` | `VERSION` | JSON shape |
//! |------|--------|-----------|------------|
//! | [`Temperature`] | `temperature` | 2 | `{ schema_version: 2, celsius, timestamp }` |
//! | [`TemperatureV1`] (migrated) | `temperature` | 1 | `{ schema_version: 1, temp, timestamp, unit }` |
//! | [`Humidity`] | `humidity` | 1 | `{ percent, timestamp }` |
//! | [`GpsLocation`] | `gps_location` | 1 | `{ latitude, longitude, altitude?, accuracy?, timestamp }` |
//!
//! Timestamps are Unix milliseconds as `u64`. Parsing goes through `serde_json::Value`,
//! which holds integers exactly, so timestamps above 2^53 survive in Rust; JavaScript
//! numbers do not hold them exactly (a JS-side concern, not a contract error).

mod error;
mod gps;
mod humidity;
mod temperature;

pub use error::ContractError;
pub use gps::GpsLocation;
pub use humidity::Humidity;
pub use temperature::{Temperature, TemperatureV1, TemperatureV1ToV2};

use aimdb_data_contracts::SchemaType;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// A data contract as the JS facade uses it: a named, versioned serde type that parses
/// (and validates) JSON into its current version.
pub trait Contract:
    SchemaType + Serialize + DeserializeOwned + Clone + core::fmt::Debug + Send + Sync + 'static
{
    /// Parses a JSON value into the current version, upgrading older versions where the
    /// contract has a migration chain. Errors name the field path and the serde message.
    fn from_json_value(value: Value) -> Result<Self, ContractError> {
        from_value_with_path::<Self>(value)
    }

    /// Parses JSON text (same rules). A syntax error is a [`ContractError`] with an empty
    /// path and serde_json's message (which includes line and column).
    fn from_json_str(text: &str) -> Result<Self, ContractError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ContractError::new(Self::NAME, "", e.to_string()))?;
        Self::from_json_value(value)
    }
}

/// Deserializes `value` into `T`, tracking where in the value a failure happened.
///
/// The error's `path` is serde_path_to_error's path (`""` for the root instead of its
/// `"."`). For ``missing field `x` `` serde reports the error at the enclosing struct, so
/// the missing field's name is appended to the path: a top-level missing `celsius` has
/// path `"celsius"`.
pub fn from_value_with_path<T: SchemaType + DeserializeOwned>(
    value: Value,
) -> Result<T, ContractError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let mut path = if err.path().iter().next().is_none() {
            String::new()
        } else {
            err.path().to_string()
        };
        let message = err.inner().to_string();
        if let Some(field) = missing_field(&message) {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(field);
        }
        ContractError::new(T::NAME, path, message)
    })
}

/// The field named by serde's ``missing field `name` `` message.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// Rejects anything but a JSON object at the top level, with serde's wording.
///
/// serde's derived `Deserialize` for structs also accepts a sequence of the fields in
/// declaration order (`[2, 21.5, 1]`); the wire shapes are objects only, so the
/// built-in contracts refuse that. Other non-objects are left to serde, which already
/// refuses them with its own message.
pub(crate) fn require_object<T: SchemaType>(
    value: &Value,
    expected: &str,
) -> Result<(), ContractError> {
    if value.is_array() {
        return Err(ContractError::new(
            T::NAME,
            "",
            format!("invalid type: sequence, expected {expected}"),
        ));
    }
    Ok(())
}

/// serde-style message for a number outside its allowed range.
pub(crate) fn out_of_range<N: core::fmt::Display>(min: N, max: N, got: impl Into<f64>) -> String {
    format!("must be between {min} and {max}, got {}", num(got.into()))
}

/// A float as JSON would print it (`inf` / `NaN` where JSON has no spelling).
///
/// Goes through serde_json's formatter (already in the module) instead of `core::fmt`'s
/// float printing, which would add ~20 KB to the wasm.
pub(crate) fn num(x: f64) -> String {
    match serde_json::Number::from_f64(x) {
        Some(n) => {
            let s = n.to_string();
            match s.strip_suffix(".0") {
                Some(int) => int.to_string(),
                None => s,
            }
        }
        None if x.is_nan() => "NaN".into(),
        None if x > 0.0 => "inf".into(),
        None => "-inf".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        x: u8,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
        list: Vec<u8>,
    }

    impl SchemaType for Outer {
        const NAME: &'static str = "outer";
    }

    #[test]
    fn nested_path_is_dotted() {
        let err = from_value_with_path::<Outer>(serde_json::json!({
            "inner": { "x": "no" }, "list": []
        }))
        .unwrap_err();
        assert_eq!(err.schema, "outer");
        assert_eq!(err.path, "inner.x");
        assert!(
            err.message.starts_with("invalid type: string \"no\""),
            "{}",
            err.message
        );
    }

    #[test]
    fn array_element_path_uses_brackets() {
        let err = from_value_with_path::<Outer>(serde_json::json!({
            "inner": { "x": 1 }, "list": [1, 300]
        }))
        .unwrap_err();
        assert_eq!(err.path, "list[1]");
    }

    #[test]
    fn missing_nested_field_is_appended_to_path() {
        let err = from_value_with_path::<Outer>(serde_json::json!({ "inner": {}, "list": [] }))
            .unwrap_err();
        assert_eq!(err.path, "inner.x");
        assert_eq!(err.message, "missing field `x`");
    }

    #[test]
    fn root_error_has_empty_path() {
        let err = from_value_with_path::<Outer>(serde_json::json!(5)).unwrap_err();
        assert_eq!(err.path, "");
        assert!(
            err.message.starts_with("invalid type: integer `5`"),
            "{}",
            err.message
        );
    }
}
