//! `gps_location`: `{ "latitude": f64, "longitude": f64, "altitude"?: f64,
//! "accuracy"?: f32, "timestamp": u64 }`.

use super::{check_timestamp, out_of_range, require_object, Contract, ContractError, Input};
use aimdb_data_contracts::{Observable, SchemaType, Settable};
use serde::{Deserialize, Serialize};

/// A position fix. `altitude` and `accuracy` are omitted from the JSON when absent
/// (and may be absent or `null` on input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpsLocation {
    /// Degrees, `-90.0..=90.0`.
    pub latitude: f64,
    /// Degrees, `-180.0..=180.0`.
    pub longitude: f64,
    /// Metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude: Option<f64>,
    /// Metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f32>,
    /// Unix milliseconds.
    pub timestamp: u64,
}

impl SchemaType for GpsLocation {
    const NAME: &'static str = "gps_location";
    const VERSION: u32 = 1;
}

impl Settable for GpsLocation {
    /// `(latitude, longitude)`; altitude and accuracy start absent.
    type Value = (f64, f64);

    fn set((latitude, longitude): (f64, f64), timestamp: u64) -> Self {
        Self {
            latitude,
            longitude,
            altitude: None,
            accuracy: None,
            timestamp,
        }
    }
}

impl Observable for GpsLocation {
    /// Altitude in metres; `NaN` when absent (so every threshold comparison is false).
    type Signal = f64;
    const ICON: &'static str = "📍";
    const UNIT: &'static str = "m";

    fn signal(&self) -> f64 {
        self.altitude.unwrap_or(f64::NAN)
    }
}

impl GpsLocation {
    /// Range checks serde cannot express.
    fn check(&self) -> Result<(), ContractError> {
        if !(-90.0..=90.0).contains(&self.latitude) {
            return Err(ContractError::new(
                Self::NAME,
                "latitude",
                out_of_range(-90, 90, self.latitude),
            ));
        }
        if !(-180.0..=180.0).contains(&self.longitude) {
            return Err(ContractError::new(
                Self::NAME,
                "longitude",
                out_of_range(-180, 180, self.longitude),
            ));
        }
        // A JSON number beyond f32's range deserializes to infinity (and would
        // serialize back as `null`).
        if let Some(a) = self.accuracy.filter(|a| !a.is_finite()) {
            return Err(ContractError::new(
                Self::NAME,
                "accuracy",
                format!("must be a finite number, got {}", super::num(f64::from(a))),
            ));
        }
        check_timestamp::<Self>(self.timestamp)
    }
}

impl Contract for GpsLocation {
    fn from_input(input: &impl Input) -> Result<Self, ContractError> {
        require_object::<Self>(input, "struct GpsLocation")?;
        let g = input.parse::<Self>()?;
        g.check()?;
        Ok(g)
    }
    /// A random walk from Vienna's centre (steps up to 0.0001°, about 10 m), accuracy 5 m.
    fn simulate(previous: Option<&Self>, rng: &mut crate::simulate::SimRng, timestamp: u64) -> Option<Self> {
        let (lat, lon) = previous.map_or((48.2082, 16.3738), |p| (p.latitude, p.longitude));
        Some(GpsLocation {
            latitude: (lat + rng.step(0.0001)).clamp(-90.0, 90.0),
            longitude: (lon + rng.step(0.0001)).clamp(-180.0, 180.0),
            altitude: None,
            accuracy: Some(5.0),
            timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_omits_absent_optionals() {
        let g = GpsLocation::from_json_value(
            json!({"latitude": 48.1, "longitude": 11.5, "timestamp": 7}),
        )
        .unwrap();
        assert_eq!(g, GpsLocation::set((48.1, 11.5), 7));
        assert_eq!(
            serde_json::to_value(&g).unwrap(),
            json!({"latitude": 48.1, "longitude": 11.5, "timestamp": 7})
        );
    }

    #[test]
    fn round_trip_with_optionals() {
        let v = json!({"latitude": -33.9, "longitude": 151.2, "altitude": 58.0, "accuracy": 4.5, "timestamp": 7});
        let g = GpsLocation::from_json_value(v.clone()).unwrap();
        assert_eq!((g.altitude, g.accuracy), (Some(58.0), Some(4.5)));
        assert_eq!(serde_json::to_value(&g).unwrap(), v);
    }

    #[test]
    fn null_optionals_are_absent() {
        let g = GpsLocation::from_json_value(
            json!({"latitude": 0, "longitude": 0, "altitude": null, "accuracy": null, "timestamp": 0}),
        )
        .unwrap();
        assert_eq!((g.altitude, g.accuracy), (None, None));
    }

    #[test]
    fn latitude_and_longitude_ranges() {
        let e =
            GpsLocation::from_json_value(json!({"latitude": 91, "longitude": 0, "timestamp": 0}))
                .unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("latitude", "must be between -90 and 90, got 91")
        );
        let e = GpsLocation::from_json_value(
            json!({"latitude": 0, "longitude": -180.5, "timestamp": 0}),
        )
        .unwrap_err();
        assert_eq!(e.path, "longitude");
        for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0)] {
            assert!(GpsLocation::from_json_value(
                json!({"latitude": lat, "longitude": lon, "timestamp": 0})
            )
            .is_ok());
        }
    }

    #[test]
    fn accuracy_overflow_is_rejected() {
        let e = GpsLocation::from_json_value(
            json!({"latitude": 0, "longitude": 0, "accuracy": 1e39, "timestamp": 0}),
        )
        .unwrap_err();
        assert_eq!(e.path, "accuracy");
    }

    #[test]
    fn wrong_type_in_optional_names_it() {
        let e = GpsLocation::from_json_value(
            json!({"latitude": 0, "longitude": 0, "altitude": "high", "timestamp": 0}),
        )
        .unwrap_err();
        assert_eq!(e.path, "altitude");
    }

    #[test]
    fn observable_signal_is_altitude() {
        let mut g = GpsLocation::set((0.0, 0.0), 0);
        assert!(g.signal().is_nan());
        g.altitude = Some(12.0);
        assert_eq!(g.signal(), 12.0);
        assert_eq!(GpsLocation::UNIT, "m");
    }
}
