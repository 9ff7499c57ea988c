//! `humidity`: `{ "percent": f32, "timestamp": u64 }`, percent in `[0, 100]`.

use super::{check_timestamp, out_of_range, require_object, Contract, ContractError, Input};
use aimdb_data_contracts::{Observable, SchemaType, Settable};
use serde::{Deserialize, Serialize};

/// A relative-humidity reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Humidity {
    /// Relative humidity, `0.0..=100.0`.
    pub percent: f32,
    /// Unix milliseconds.
    pub timestamp: u64,
}

impl SchemaType for Humidity {
    const NAME: &'static str = "humidity";
    const VERSION: u32 = 1;
}

impl Settable for Humidity {
    type Value = f32;

    fn set(percent: f32, timestamp: u64) -> Self {
        Self { percent, timestamp }
    }
}

impl Observable for Humidity {
    type Signal = f32;
    const ICON: &'static str = "💧";
    const UNIT: &'static str = "%";

    fn signal(&self) -> f32 {
        self.percent
    }
}

impl Humidity {
    /// Range checks serde cannot express (also rejects NaN and infinity).
    fn check(&self) -> Result<(), ContractError> {
        if !(0.0..=100.0).contains(&self.percent) {
            return Err(ContractError::new(
                Self::NAME,
                "percent",
                out_of_range(0, 100, self.percent),
            ));
        }
        check_timestamp::<Self>(self.timestamp)
    }
}

impl Contract for Humidity {
    fn from_input(input: &impl Input) -> Result<Self, ContractError> {
        require_object::<Self>(input, "struct Humidity")?;
        let h = input.parse::<Self>()?;
        h.check()?;
        Ok(h)
    }
    /// A random walk around 50 % (steps up to 1 %, kept in 0..=100, 0.1 %).
    fn simulate(previous: Option<&Self>, rng: &mut crate::simulate::SimRng, timestamp: u64) -> Option<Self> {
        let p = crate::simulate::walk(previous.map(|p| f64::from(p.percent)), 50.0, 1.0, 0.0, 100.0, rng);
        Some(Humidity { percent: p as f32, timestamp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_has_protocol_keys() {
        let h = Humidity::from_json_value(json!({"percent": 55.25, "timestamp": 3})).unwrap();
        assert_eq!(h, Humidity::set(55.25, 3));
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            json!({"percent": 55.25, "timestamp": 3})
        );
    }

    #[test]
    fn bounds_are_inclusive() {
        for p in [0.0, 100.0] {
            assert!(Humidity::from_json_value(json!({"percent": p, "timestamp": 0})).is_ok());
        }
    }

    #[test]
    fn out_of_range_names_percent() {
        let e = Humidity::from_json_value(json!({"percent": 101, "timestamp": 0})).unwrap_err();
        assert_eq!(e.path, "percent");
        assert_eq!(e.message, "must be between 0 and 100, got 101");
        let e = Humidity::from_json_value(json!({"percent": -0.5, "timestamp": 0})).unwrap_err();
        assert_eq!(e.message, "must be between 0 and 100, got -0.5");
    }

    #[test]
    fn f32_overflow_is_out_of_range() {
        let e = Humidity::from_json_value(json!({"percent": 1e39, "timestamp": 0})).unwrap_err();
        assert_eq!(e.path, "percent");
    }

    #[test]
    fn missing_and_unknown_fields() {
        let e = Humidity::from_json_value(json!({"timestamp": 0})).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("percent", "missing field `percent`")
        );
        let e =
            Humidity::from_json_value(json!({"percent": 1, "timestamp": 0, "rh": 1})).unwrap_err();
        assert!(e.message.contains("unknown field `rh`"), "{}", e.message);
    }

    #[test]
    fn observable_signal_and_unit() {
        assert_eq!(Humidity::set(40.0, 0).signal(), 40.0);
        assert_eq!(Humidity::UNIT, "%");
    }
}
