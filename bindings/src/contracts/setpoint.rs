//! `setpoint`: a command for a thermostat, `{ "target_celsius": f32, "timestamp": u64 }`
//! (the shape the AimDB demo servers take on `commands/setpoint/<room>`).

use super::{check_timestamp, require_object, Contract, ContractError, Input};
use aimdb_data_contracts::{Observable, SchemaType, Settable};
use serde::{Deserialize, Serialize};

/// A target temperature for a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setpoint {
    /// The temperature to hold, degrees Celsius (any finite number).
    pub target_celsius: f32,
    /// Unix milliseconds, at most 2^53 - 1.
    pub timestamp: u64,
}

impl SchemaType for Setpoint {
    const NAME: &'static str = "setpoint";
    const VERSION: u32 = 1;
}

impl Settable for Setpoint {
    type Value = f32;

    fn set(target_celsius: f32, timestamp: u64) -> Self {
        Self { target_celsius, timestamp }
    }
}

impl Observable for Setpoint {
    type Signal = f32;
    const ICON: &'static str = "🎯";
    const UNIT: &'static str = "°C";

    fn signal(&self) -> f32 {
        self.target_celsius
    }
}

impl Setpoint {
    /// Checks serde cannot express.
    fn check(&self) -> Result<(), ContractError> {
        // A JSON number beyond f32's range deserializes to infinity.
        if !self.target_celsius.is_finite() {
            return Err(ContractError::new(
                Self::NAME,
                "target_celsius",
                format!("must be a finite number, got {}", super::num(f64::from(self.target_celsius))),
            ));
        }
        check_timestamp::<Self>(self.timestamp)
    }
}

impl Contract for Setpoint {
    fn from_input(input: &impl Input) -> Result<Self, ContractError> {
        require_object::<Self>(input, "struct Setpoint")?;
        let s = input.parse::<Self>()?;
        s.check()?;
        Ok(s)
    }
    /// A random walk around 21 °C (steps up to 0.1 °C, kept in 15..=28, 0.1 °C).
    fn simulate(previous: Option<&Self>, rng: &mut crate::simulate::SimRng, timestamp: u64) -> Option<Self> {
        let t = crate::simulate::walk(previous.map(|p| f64::from(p.target_celsius)), 21.0, 0.1, 15.0, 28.0, rng);
        Some(Setpoint { target_celsius: t as f32, timestamp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_shape_round_trips() {
        let s = Setpoint::from_json_value(json!({"target_celsius": 21.0, "timestamp": 1_700_000_000_000u64})).unwrap();
        assert_eq!(s, Setpoint::set(21.0, 1_700_000_000_000));
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"target_celsius": 21.0, "timestamp": 1_700_000_000_000u64})
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = Setpoint::from_json_value(json!({"target_celsius": "warm", "timestamp": 1})).unwrap_err();
        assert_eq!((e.schema.as_str(), e.path.as_str()), ("setpoint", "target_celsius"));
        let e = Setpoint::from_json_value(json!({"timestamp": 1})).unwrap_err();
        assert_eq!((e.path.as_str(), e.message.as_str()), ("target_celsius", "missing field `target_celsius`"));
        let e = Setpoint::from_json_value(json!({"target_celsius": 1e39, "timestamp": 1})).unwrap_err();
        assert_eq!(e.path, "target_celsius");
        let e = Setpoint::from_json_value(json!({"celsius": 21.0, "timestamp": 1})).unwrap_err();
        assert!(e.message.contains("unknown field `celsius`"), "{e}");
    }
}
