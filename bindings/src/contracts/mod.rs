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
//! | [`Setpoint`] | `setpoint` | 1 | `{ target_celsius, timestamp }` |
//!
//! A payload without `schema_version` is the contract's current version (only
//! `temperature` has older versions: `schema_version: 1` payloads are migrated).
//!
//! Timestamps are Unix milliseconds as `u64`, at most 2^53 - 1
//! ([`MAX_SAFE_TIMESTAMP`]): a larger one is a contract violation at `timestamp`,
//! because a JavaScript number cannot hold it exactly and every value crosses to JS.
//!
//! The built-in contracts parse JSON text into a [`Json`](crate::json::Json) instead of a
//! `serde_json::Value` (whose map, deserializer and error formatting would cost ~20 KB
//! gzipped of wasm); it deserializes as a `Value` does, with the same errors and paths.
//! A contract of an app crate gets the same from [`from_str_with_path`].

mod error;
mod gps;
mod humidity;
mod setpoint;
mod temperature;

pub use error::ContractError;
pub use gps::GpsLocation;
pub use humidity::Humidity;
pub use setpoint::Setpoint;
pub use temperature::{Temperature, TemperatureV1, TemperatureV1ToV2};

use crate::json;
use crate::tape::TextTape;
use aimdb_data_contracts::SchemaType;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// A data contract as the JS facade uses it: a named, versioned serde type that parses
/// (and validates) its input into its current version.
///
/// One method does the work: [`from_input`](Contract::from_input), over any [`Input`]
/// (JSON text, a `serde_json::Value`, or in the browser a JS value encoded in wasm memory, with
/// no JSON text in between). Its default is serde alone, with field paths; a contract
/// with range checks or older versions overrides it (the built-ins do), and the override
/// applies to every kind of input.
pub trait Contract:
    SchemaType + Serialize + DeserializeOwned + Clone + core::fmt::Debug + Send + Sync + 'static
{
    /// Parses `input` into the current version, upgrading older versions where the
    /// contract has a migration chain. Errors name the field path and the serde message.
    fn from_input(input: &impl Input) -> Result<Self, ContractError> {
        input.parse::<Self>()
    }

    /// [`from_input`](Contract::from_input) over a `serde_json::Value`.
    fn from_json_value(value: Value) -> Result<Self, ContractError> {
        Self::from_input(&value)
    }

    /// [`from_input`](Contract::from_input) over JSON text. A syntax error is a
    /// [`ContractError`] with an empty path and serde_json's message (which includes line
    /// and column).
    fn from_json_str(text: &str) -> Result<Self, ContractError> {
        // Through the tape's own `Input` (not `Text`'s): one copy of each contract's parse
        // for JS values and text alike.
        Self::from_input(&Text::new::<Self>(text)?.0.tape().input(0))
    }

    /// The next simulated value after `previous`, at `timestamp` (aimdb-data-contracts'
    /// `Simulatable::simulate`, with this crate's deterministic generator and no config):
    /// what `db.simulate` produces. `None`, the default: the contract has no simulation.
    fn simulate(previous: Option<&Self>, rng: &mut crate::simulate::SimRng, timestamp: u64) -> Option<Self> {
        let _ = (previous, rng, timestamp);
        None
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
    serde_path_to_error::deserialize(value).map_err(path_error::<T, _>)
}

/// [`from_value_with_path`] for JSON text, without building a `serde_json::Value`
/// (the text is parsed into a [`Json`], which deserializes as a `Value` does): the same
/// paths and messages, and a syntax error has an empty path and serde_json's message
/// (with line and column), as in [`Contract::from_json_str`]. One difference: a struct
/// is read from a JSON object only, not from an array (serde's tuple form).
pub fn from_str_with_path<T: SchemaType + DeserializeOwned>(text: &str) -> Result<T, ContractError> {
    Text::new::<T>(text)?.parse()
}

fn path_error<T: SchemaType, E: core::fmt::Display>(err: serde_path_to_error::Error<E>) -> ContractError {
    let at = err.path();
    let path = if at.iter().next().is_none() { String::new() } else { at.to_string() };
    with_missing_field(T::NAME, path, err.inner().to_string())
}

/// The error, with the field a ``missing field `x` `` message names appended to `path`.
pub(crate) fn with_missing_field(schema: &'static str, mut path: String, message: String) -> ContractError {
    if let Some(field) = missing_field(&message) {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(field);
    }
    ContractError::new(schema, path, message)
}

/// The field named by serde's ``missing field `name` `` message.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// What a contract parses ([`Contract::from_input`]): JSON text, a `serde_json::Value`,
/// or (wasm32) a JS value the npm wrapper encoded on the tape (`crate::js::tape::TapeInput`).
pub trait Input {
    /// The top level is an array.
    fn is_array(&self) -> bool;
    /// `None` when the top level is not an object with `key`; else `Some` of the field
    /// as a non-negative integer (`None` for anything else). For a peek before the typed
    /// parse (e.g. a `schema_version` that picks the type).
    fn field_u64(&self, key: &'static str) -> Option<Option<u64>>;
    /// The typed parse, with path tracking: the whole input into `T`.
    fn parse<T: SchemaType + DeserializeOwned>(&self) -> Result<T, ContractError>;
}

impl Input for Value {
    fn is_array(&self) -> bool {
        Value::is_array(self)
    }
    fn field_u64(&self, key: &'static str) -> Option<Option<u64>> {
        self.get(key).map(Value::as_u64)
    }
    fn parse<T: SchemaType + DeserializeOwned>(&self) -> Result<T, ContractError> {
        from_value_with_path(self.clone())
    }
}

/// Parsed JSON text, on a tape (read by the same deserializer as a JS value).
pub struct Text(TextTape);

impl Text {
    /// Parses `text`: a syntax error is `T`'s, with an empty path.
    pub(crate) fn new<T: SchemaType>(text: &str) -> Result<Self, ContractError> {
        match json::parse(text) {
            Ok(v) => Ok(Text(TextTape::new(v))),
            Err(e) => Err(ContractError::new(T::NAME, "", e.to_string())),
        }
    }
}

impl Input for Text {
    fn is_array(&self) -> bool {
        self.0.tape().input(0).is_array()
    }
    fn field_u64(&self, key: &'static str) -> Option<Option<u64>> {
        self.0.tape().input(0).field_u64(key)
    }
    fn parse<T: SchemaType + DeserializeOwned>(&self) -> Result<T, ContractError> {
        self.0.tape().input(0).parse()
    }
}

/// Rejects anything but a JSON object at the top level, with serde's wording.
///
/// serde's derived `Deserialize` for structs also accepts a sequence of the fields in
/// declaration order (`[2, 21.5, 1]`); the wire shapes are objects only, so the
/// built-in contracts refuse that. Other non-objects are left to serde, which already
/// refuses them with its own message.
pub(crate) fn require_object<T: SchemaType>(
    input: &impl Input,
    expected: &str,
) -> Result<(), ContractError> {
    if input.is_array() {
        return Err(ContractError::new(
            T::NAME,
            "",
            format!("invalid type: sequence, expected {expected}"),
        ));
    }
    Ok(())
}

/// The largest timestamp a contract accepts: 2^53 - 1, JavaScript's
/// `Number.MAX_SAFE_INTEGER`, the largest integer every JS number holds exactly.
pub const MAX_SAFE_TIMESTAMP: u64 = (1 << 53) - 1;

/// Rejects a timestamp a JavaScript number would not hold exactly, at path `timestamp`.
pub(crate) fn check_timestamp<T: SchemaType>(timestamp: u64) -> Result<(), ContractError> {
    if timestamp > MAX_SAFE_TIMESTAMP {
        return Err(ContractError::new(
            T::NAME,
            "timestamp",
            format!(
                "must be at most {MAX_SAFE_TIMESTAMP} (2^53 - 1, the largest integer a JavaScript number holds exactly), got {timestamp}"
            ),
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
    let s = json::float(x);
    match s.strip_suffix(".0") {
        Some(int) => int.to_string(),
        None => s,
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
