//! `temperature`: version 2 (`celsius`) is current; version 1 (`temp` + `unit`) payloads
//! are upgraded through [`TemperatureV1ToV2`] and the generated `MigrationChain`.

// `migration_chain!` expands to paths under `alloc::`; bind the crate in this module.
extern crate alloc;

use super::{check_timestamp, require_object, Contract, ContractError, Input};
use aimdb_data_contracts::{
    migration_chain, MigrationChain, MigrationError, MigrationStep, Observable, SchemaType,
    Settable,
};
use serde::{Deserialize, Serialize};

/// The JSON field that carries the schema version.
const VERSION_FIELD: &str = "schema_version";

/// `MigrationError::ConversionFailed` text for a v1 `unit` other than `C`, `F`, `K`.
/// (`MigrationError` holds only `&'static str`, so the offending unit itself is named in
/// the [`ContractError`] built from it, not here.)
const UNKNOWN_UNIT: &str = "unknown temperature unit (expected \"C\", \"F\" or \"K\")";

/// A temperature reading, schema version 2 (current):
/// `{ "schema_version": 2, "celsius": f32, "timestamp": u64 }`. On input
/// `schema_version` may be left out (`{ "celsius": 22.5, "timestamp": 1 }` is version 2);
/// on output it is always written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Temperature {
    /// Always `2` ([`Temperature::VERSION`](SchemaType::VERSION)); `2` when absent on input.
    #[serde(default = "Temperature::current_version")]
    pub schema_version: u32,
    /// Degrees Celsius.
    pub celsius: f32,
    /// Unix milliseconds.
    pub timestamp: u64,
}

impl SchemaType for Temperature {
    const NAME: &'static str = "temperature";
    const VERSION: u32 = 2;
}

impl Settable for Temperature {
    type Value = f32;

    fn set(celsius: f32, timestamp: u64) -> Self {
        Self {
            schema_version: Self::VERSION,
            celsius,
            timestamp,
        }
    }
}

impl Observable for Temperature {
    type Signal = f32;
    const ICON: &'static str = "🌡️";
    const UNIT: &'static str = "°C";

    fn signal(&self) -> f32 {
        self.celsius
    }
}

impl Temperature {
    fn current_version() -> u32 {
        Self::VERSION
    }

    /// Range checks serde cannot express.
    fn check(&self) -> Result<(), ContractError> {
        if self.schema_version != Self::VERSION {
            return Err(ContractError::new(
                Self::NAME,
                VERSION_FIELD,
                format!("must be {}, got {}", Self::VERSION, self.schema_version),
            ));
        }
        // A JSON number beyond f32's range deserializes to infinity.
        if !self.celsius.is_finite() {
            return Err(ContractError::new(
                Self::NAME,
                "celsius",
                format!("must be a finite number, got {}", super::num(f64::from(self.celsius))),
            ));
        }
        check_timestamp::<Self>(self.timestamp)
    }
}

impl Contract for Temperature {
    /// Dispatches on `schema_version`: 1 is upgraded through [`TemperatureV1ToV2`], 2 or
    /// absent parses as the current version; any other number is an error at path
    /// `schema_version`.
    fn from_input(input: &impl Input) -> Result<Self, ContractError> {
        require_object::<Self>(input, "struct Temperature")?;
        match input.field_u64(VERSION_FIELD) {
            Some(Some(v)) if v == u64::from(TemperatureV1::VERSION) => {
                migrate_v1(input.parse::<TemperatureV1>()?)
            }
            Some(Some(v)) if v != u64::from(Self::VERSION) => Err(unsupported_version(v)),
            // Version 2, absent, or not a non-negative integer: then serde names the
            // type problem at `schema_version`.
            _ => {
                let t = input.parse::<Self>()?;
                t.check()?;
                Ok(t)
            }
        }
    }

    /// A random walk around 20 °C (steps up to 0.5 °C, kept in -20..=45, 0.1 °C).
    fn simulate(previous: Option<&Self>, rng: &mut crate::simulate::SimRng, timestamp: u64) -> Option<Self> {
        let c = crate::simulate::walk(previous.map(|p| f64::from(p.celsius)), 20.0, 0.5, -20.0, 45.0, rng);
        Some(Temperature { schema_version: Self::VERSION, celsius: c as f32, timestamp })
    }
}


/// A temperature reading, schema version 1 (legacy, accepted and upgraded):
/// `{ "schema_version": 1, "temp": f32, "timestamp": u64, "unit": "C" | "F" | "K" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemperatureV1 {
    /// Always `1`.
    pub schema_version: u32,
    /// The reading, in `unit`.
    pub temp: f32,
    /// Unix milliseconds.
    pub timestamp: u64,
    /// `"C"`, `"F"` or `"K"`.
    pub unit: String,
}

impl SchemaType for TemperatureV1 {
    const NAME: &'static str = "temperature";
    const VERSION: u32 = 1;
}

/// v1 → v2: converts `temp` in `unit` to Celsius; v2 → v1 writes unit `"C"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemperatureV1ToV2;

impl MigrationStep for TemperatureV1ToV2 {
    type Older = TemperatureV1;
    type Newer = Temperature;
    const FROM_VERSION: u32 = 1;
    const TO_VERSION: u32 = 2;

    fn up(v1: TemperatureV1) -> Result<Temperature, MigrationError> {
        // In f64 so a huge Fahrenheit reading does not overflow before dividing.
        let t = f64::from(v1.temp);
        let celsius = match v1.unit.as_str() {
            "C" => t,
            "F" => (t - 32.0) * 5.0 / 9.0,
            "K" => t - 273.15,
            _ => return Err(MigrationError::ConversionFailed(UNKNOWN_UNIT)),
        };
        Ok(Temperature {
            schema_version: Temperature::VERSION,
            celsius: celsius as f32,
            timestamp: v1.timestamp,
        })
    }

    fn down(v2: Temperature) -> Result<TemperatureV1, MigrationError> {
        Ok(TemperatureV1 {
            schema_version: TemperatureV1::VERSION,
            temp: v2.celsius,
            timestamp: v2.timestamp,
            unit: "C".into(),
        })
    }
}

migration_chain! {
    type Current = Temperature;
    version_field = "schema_version";
    steps {
        TemperatureV1ToV2: TemperatureV1 => Temperature,
    }
}

fn unsupported_version(v: u64) -> ContractError {
    ContractError::new(
        Temperature::NAME,
        VERSION_FIELD,
        format!(
            "unsupported version {v} (supported: {}..={})",
            <Temperature as MigrationChain>::MIN_VERSION,
            Temperature::VERSION
        ),
    )
}

/// Upgrades a parsed `schema_version: 1` value with [`TemperatureV1ToV2`] (the step
/// the migration chain runs for version 1) and checks the result.
fn migrate_v1(v1: TemperatureV1) -> Result<Temperature, ContractError> {
    let name = Temperature::NAME;
    let unit = v1.unit.clone();
    match TemperatureV1ToV2::up(v1) {
        Ok(t) => {
            t.check().map_err(|mut e| {
                // The v1 payload had no `celsius`; the non-finite input was `temp`.
                if e.path == "celsius" {
                    e.path = "temp".into();
                }
                e
            })?;
            Ok(t)
        }
        Err(MigrationError::ConversionFailed(msg)) if msg == UNKNOWN_UNIT => Err(ContractError::new(
            name,
            "unit",
            format!("unknown unit {} (expected \"C\", \"F\" or \"K\")", crate::json::DebugStr(&unit)),
        )),
        Err(err) => Err(ContractError::new(name, "", err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(v: Value) -> Result<Temperature, ContractError> {
        Temperature::from_json_value(v)
    }

    #[test]
    fn v2_round_trip_has_protocol_keys() {
        let t =
            parse(json!({"schema_version": 2, "celsius": 21.5, "timestamp": 1_700_000_000_000u64}))
                .unwrap();
        assert_eq!(t, Temperature::set(21.5, 1_700_000_000_000));
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"schema_version": 2, "celsius": 21.5, "timestamp": 1_700_000_000_000u64})
        );
    }

    #[test]
    fn missing_celsius_names_the_field() {
        let e = parse(json!({"schema_version": 2, "timestamp": 1})).unwrap_err();
        assert_eq!(
            (e.schema.as_str(), e.path.as_str()),
            ("temperature", "celsius")
        );
        assert_eq!(e.message, "missing field `celsius`");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let e = parse(json!({"schema_version": 2, "celsius": "hot", "timestamp": 1})).unwrap_err();
        assert_eq!(e.path, "celsius");
        assert!(
            e.message.starts_with("invalid type: string \"hot\""),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_field_is_rejected_by_name() {
        let e = parse(json!({"schema_version": 2, "celsius": 1.0, "timestamp": 1, "unit": "C"}))
            .unwrap_err();
        assert!(e.message.contains("unknown field `unit`"), "{}", e.message);
    }

    #[test]
    fn missing_version_is_the_current_one() {
        let t = parse(json!({"celsius": 22.5, "timestamp": 1})).unwrap();
        assert_eq!(t, Temperature::set(22.5, 1));
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"schema_version": 2, "celsius": 22.5, "timestamp": 1})
        );
        // Still a contract: without `schema_version` a v1 shape is refused by name.
        let e = parse(json!({"temp": 1.0, "timestamp": 1, "unit": "C"})).unwrap_err();
        assert!(e.message.contains("unknown field `temp`"), "{}", e.message);
    }

    #[test]
    fn unsupported_versions_are_rejected() {
        for v in [0u64, 3, 7, (1u64 << 32) + 2] {
            let e =
                parse(json!({"schema_version": v, "celsius": 1.0, "timestamp": 1})).unwrap_err();
            assert_eq!(e.path, "schema_version");
            assert_eq!(
                e.message,
                format!("unsupported version {v} (supported: 1..=2)")
            );
        }
    }

    #[test]
    fn non_integer_version_is_a_type_error() {
        let e = parse(json!({"schema_version": "2", "celsius": 1.0, "timestamp": 1})).unwrap_err();
        assert_eq!(e.path, "schema_version");
        assert!(
            e.message.starts_with("invalid type: string \"2\""),
            "{}",
            e.message
        );
    }

    #[test]
    fn direct_value_with_wrong_version_fails_check() {
        let t = Temperature {
            schema_version: 1,
            celsius: 0.0,
            timestamp: 0,
        };
        assert_eq!(t.check().unwrap_err().path, "schema_version");
    }

    #[test]
    fn f32_overflow_is_rejected() {
        let e = parse(json!({"schema_version": 2, "celsius": 1e39, "timestamp": 1})).unwrap_err();
        assert_eq!(e.path, "celsius");
        assert!(
            e.message.starts_with("must be a finite number"),
            "{}",
            e.message
        );
    }

    #[test]
    fn array_form_is_rejected() {
        let e = parse(json!([2, 21.5, 1])).unwrap_err();
        assert_eq!(e.path, "");
        assert_eq!(
            e.message,
            "invalid type: sequence, expected struct Temperature"
        );
    }

    #[test]
    fn v1_units_migrate_to_celsius() {
        for (temp, unit, want) in [
            (212.0, "F", 100.0f32),
            (32.0, "F", 0.0),
            (273.15, "K", 0.0),
            (21.5, "C", 21.5),
        ] {
            let t = parse(json!({"schema_version": 1, "temp": temp, "timestamp": 5, "unit": unit}))
                .unwrap();
            assert!(
                (t.celsius - want).abs() < 1e-3,
                "{temp}{unit} -> {}",
                t.celsius
            );
            assert_eq!((t.schema_version, t.timestamp), (2, 5));
        }
    }

    #[test]
    fn v1_unknown_unit_names_unit() {
        let e = parse(json!({"schema_version": 1, "temp": 1.0, "timestamp": 5, "unit": "R"}))
            .unwrap_err();
        assert_eq!(e.path, "unit");
        assert!(e.message.contains("\"R\""), "{}", e.message);
        assert_eq!(
            TemperatureV1ToV2::up(TemperatureV1 {
                schema_version: 1,
                temp: 1.0,
                timestamp: 0,
                unit: "R".into()
            }),
            Err(MigrationError::ConversionFailed(UNKNOWN_UNIT))
        );
    }

    #[test]
    fn v1_field_errors_have_paths() {
        let e = parse(json!({"schema_version": 1, "temp": 1.0, "timestamp": 5})).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("unit", "missing field `unit`")
        );
        let e = parse(json!({"schema_version": 1, "temp": "x", "timestamp": 5, "unit": "C"}))
            .unwrap_err();
        assert_eq!(e.path, "temp");
        let e = parse(
            json!({"schema_version": 1, "celsius": 1.0, "temp": 1.0, "timestamp": 5, "unit": "C"}),
        )
        .unwrap_err();
        assert!(
            e.message.contains("unknown field `celsius`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn v1_overflow_is_reported_at_temp() {
        let e = parse(json!({"schema_version": 1, "temp": 1e39, "timestamp": 5, "unit": "C"}))
            .unwrap_err();
        assert_eq!(e.path, "temp");
    }

    #[test]
    fn down_writes_unit_c() {
        let bytes = Temperature::set(-4.0, 9).migrate_to_version(1).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v,
            json!({"schema_version": 1, "temp": -4.0, "timestamp": 9, "unit": "C"})
        );
    }

    #[test]
    fn observable_signal_and_unit() {
        let t = Temperature::set(3.5, 0);
        assert_eq!(t.signal(), 3.5);
        assert_eq!(Temperature::UNIT, "°C");
    }
}
