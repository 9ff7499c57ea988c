//! The data contracts through the crate's public API only.

use aimdb_data_contracts::{MigrationChain, Observable, SchemaType, Settable};
use aimdb_wasm_bindings::contracts::{
    from_value_with_path, Contract, ContractError, GpsLocation, Humidity, Setpoint, Temperature,
    TemperatureV1, MAX_SAFE_TIMESTAMP,
};
use serde_json::{json, Value};

/// Parses `text` as `T`, serializes it back, and returns both.
fn round_trip<T: Contract>(text: &str) -> (T, Value) {
    let value = T::from_json_str(text).unwrap();
    let back = serde_json::to_value(&value).unwrap();
    (value, back)
}

#[test]
fn names_and_versions_match_protocol() {
    assert_eq!(
        (Temperature::NAME, Temperature::VERSION),
        ("temperature", 2)
    );
    assert_eq!(
        (TemperatureV1::NAME, TemperatureV1::VERSION),
        ("temperature", 1)
    );
    assert_eq!((Humidity::NAME, Humidity::VERSION), ("humidity", 1));
    assert_eq!(
        (GpsLocation::NAME, GpsLocation::VERSION),
        ("gps_location", 1)
    );
    assert_eq!((Setpoint::NAME, Setpoint::VERSION), ("setpoint", 1));
    assert_eq!(<Temperature as MigrationChain>::MIN_VERSION, 1);
}

#[test]
fn temperature_round_trip_is_exact() {
    let text = r#"{"schema_version":2,"celsius":21.5,"timestamp":1704326400000}"#;
    let (t, back) = round_trip::<Temperature>(text);
    assert_eq!(t, Temperature::set(21.5, 1_704_326_400_000));
    assert_eq!(serde_json::to_string(&t).unwrap(), text);
    assert_eq!(
        back,
        json!({"schema_version": 2, "celsius": 21.5, "timestamp": 1_704_326_400_000u64})
    );
}

#[test]
fn humidity_round_trip_is_exact() {
    let text = r#"{"percent":65.25,"timestamp":1704326400000}"#;
    let (h, _) = round_trip::<Humidity>(text);
    assert_eq!(h, Humidity::set(65.25, 1_704_326_400_000));
    assert_eq!(serde_json::to_string(&h).unwrap(), text);
}

#[test]
fn gps_round_trip_omits_none_fields() {
    let text = r#"{"latitude":52.52,"longitude":13.405,"timestamp":1}"#;
    let (g, _) = round_trip::<GpsLocation>(text);
    assert_eq!((g.altitude, g.accuracy), (None, None));
    assert_eq!(serde_json::to_string(&g).unwrap(), text);

    let full =
        r#"{"latitude":52.52,"longitude":13.405,"altitude":34.0,"accuracy":3.5,"timestamp":1}"#;
    let (g, _) = round_trip::<GpsLocation>(full);
    assert_eq!(serde_json::to_string(&g).unwrap(), full);
}

#[test]
fn missing_field_path_names_it() {
    let e = Temperature::from_json_str(r#"{"schema_version":2,"timestamp":1}"#).unwrap_err();
    assert_eq!(
        e,
        ContractError::new("temperature", "celsius", "missing field `celsius`")
    );
    assert_eq!(
        e.to_string(),
        "temperature: celsius: missing field `celsius`"
    );
}

#[test]
fn wrong_type_path_and_serde_message() {
    let e = Temperature::from_json_str(r#"{"schema_version":2,"celsius":"hot","timestamp":1}"#)
        .unwrap_err();
    assert_eq!(e.path, "celsius");
    assert_eq!(e.message, "invalid type: string \"hot\", expected f32");
}

#[test]
fn unknown_field_is_rejected_with_its_name() {
    let e = Temperature::from_json_str(
        r#"{"schema_version":2,"celsius":1,"timestamp":1,"extra":true}"#,
    )
    .unwrap_err();
    assert!(e.message.starts_with("unknown field `extra`"), "{e}");
    assert_eq!(e.path, "extra");
    let e = Humidity::from_json_str(r#"{"percent":1,"timestamp":1,"extra":true}"#).unwrap_err();
    assert!(e.message.starts_with("unknown field `extra`"), "{e}");
    assert_eq!(e.path, "extra");
    let e = GpsLocation::from_json_str(r#"{"latitude":1,"longitude":1,"timestamp":1,"extra":1}"#)
        .unwrap_err();
    assert!(e.message.starts_with("unknown field `extra`"), "{e}");
}

#[test]
fn schema_version_1_migrates_each_unit() {
    let cases = [
        (
            r#"{"schema_version":1,"temp":212,"timestamp":9,"unit":"F"}"#,
            100.0f32,
        ),
        (
            r#"{"schema_version":1,"temp":-40,"timestamp":9,"unit":"F"}"#,
            -40.0,
        ),
        (
            r#"{"schema_version":1,"temp":273.15,"timestamp":9,"unit":"K"}"#,
            0.0,
        ),
        (
            r#"{"schema_version":1,"temp":300,"timestamp":9,"unit":"K"}"#,
            26.85,
        ),
        (
            r#"{"schema_version":1,"temp":22.5,"timestamp":9,"unit":"C"}"#,
            22.5,
        ),
    ];
    for (text, celsius) in cases {
        let t = Temperature::from_json_str(text).unwrap();
        assert!(
            (t.celsius - celsius).abs() < 1e-3,
            "{text} -> {}",
            t.celsius
        );
        assert_eq!((t.schema_version, t.timestamp), (2, 9));
        // Re-serialized in the current version.
        let mut keys: Vec<String> = serde_json::to_value(&t)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(keys, ["celsius", "schema_version", "timestamp"]);
    }
}

#[test]
fn schema_version_1_bad_unit_is_an_error() {
    let e = Temperature::from_json_str(r#"{"schema_version":1,"temp":1,"timestamp":9,"unit":"X"}"#)
        .unwrap_err();
    assert_eq!(e.schema, "temperature");
    assert_eq!(e.path, "unit");
    assert!(e.message.contains("\"X\""), "{e}");
}

#[test]
fn schema_version_3_is_unsupported() {
    let e = Temperature::from_json_str(r#"{"schema_version":3,"celsius":1,"timestamp":1}"#)
        .unwrap_err();
    assert_eq!(
        e,
        ContractError::new(
            "temperature",
            "schema_version",
            "unsupported version 3 (supported: 1..=2)"
        )
    );
}

/// The design document's snippets write `{ celsius, timestamp }`: without
/// `schema_version` a payload is the current version.
#[test]
fn missing_schema_version_is_the_current_version() {
    let (t, back) = round_trip::<Temperature>(r#"{"celsius":22.5,"timestamp":1700000000000}"#);
    assert_eq!(t, Temperature::set(22.5, 1_700_000_000_000));
    assert_eq!(back, json!({"schema_version": 2, "celsius": 22.5, "timestamp": 1_700_000_000_000u64}));
    // The contracts without versions take the same payloads as before.
    round_trip::<Humidity>(r#"{"percent":40,"timestamp":1}"#);
    let (s, back) = round_trip::<Setpoint>(r#"{"target_celsius":21.0,"timestamp":1700000000000}"#);
    assert_eq!(s, Setpoint::set(21.0, 1_700_000_000_000));
    assert_eq!(back, json!({"target_celsius": 21.0, "timestamp": 1_700_000_000_000u64}));
}

#[test]
fn humidity_101_is_rejected_at_percent() {
    let e = Humidity::from_json_str(r#"{"percent":101,"timestamp":1}"#).unwrap_err();
    assert_eq!(
        e,
        ContractError::new("humidity", "percent", "must be between 0 and 100, got 101")
    );
}

#[test]
fn latitude_91_is_rejected() {
    let e =
        GpsLocation::from_json_str(r#"{"latitude":91,"longitude":0,"timestamp":1}"#).unwrap_err();
    assert_eq!(
        (e.schema.as_str(), e.path.as_str()),
        ("gps_location", "latitude")
    );
    assert_eq!(e.message, "must be between -90 and 90, got 91");
    let e =
        GpsLocation::from_json_str(r#"{"latitude":0,"longitude":181,"timestamp":1}"#).unwrap_err();
    assert_eq!(e.path, "longitude");
}

#[test]
fn syntax_error_has_empty_path_and_line_column() {
    let e = Humidity::from_json_str("{\"percent\": 1,\n \"timestamp\": }").unwrap_err();
    assert_eq!(e.schema, "humidity");
    assert_eq!(e.path, "");
    assert!(e.message.contains("line 2"), "{e}");
    assert!(e.message.contains("column"), "{e}");
}

#[test]
fn non_object_top_level_is_rejected() {
    let e = Temperature::from_json_str("[2, 21.5, 1]").unwrap_err();
    assert_eq!(e.path, "");
    assert!(e.message.starts_with("invalid type: sequence"), "{e}");
    let e = Humidity::from_json_str("null").unwrap_err();
    assert!(e.message.starts_with("invalid type: null"), "{e}");
    let e = GpsLocation::from_json_str("\"here\"").unwrap_err();
    assert!(e.message.starts_with("invalid type: string"), "{e}");
}

/// Every value crosses to JavaScript, whose numbers hold integers exactly only up to
/// 2^53 - 1: a larger timestamp is a contract violation at `timestamp`, in every contract.
#[test]
fn timestamps_above_2_pow_53_minus_1_are_contract_violations() {
    assert_eq!(MAX_SAFE_TIMESTAMP, 9_007_199_254_740_991);
    let ok = |t: u64| Humidity::from_json_str(&format!(r#"{{"percent":50,"timestamp":{t}}}"#));
    assert_eq!(ok(MAX_SAFE_TIMESTAMP).unwrap().timestamp, MAX_SAFE_TIMESTAMP);
    for ts in [MAX_SAFE_TIMESTAMP + 1, u64::MAX] {
        for e in [
            ok(ts).unwrap_err(),
            Temperature::from_json_value(json!({"celsius": 0, "timestamp": ts})).unwrap_err(),
            Temperature::from_json_value(json!({"schema_version": 1, "temp": 0, "unit": "C", "timestamp": ts})).unwrap_err(),
            GpsLocation::from_json_value(json!({"latitude": 0, "longitude": 0, "timestamp": ts})).unwrap_err(),
            Setpoint::from_json_value(json!({"target_celsius": 0, "timestamp": ts})).unwrap_err(),
        ] {
            assert_eq!(e.path, "timestamp", "{e}");
            assert!(e.message.starts_with("must be at most 9007199254740991"), "{e}");
            assert!(e.message.ends_with(&ts.to_string()), "{e}");
        }
    }
    // Negative or fractional timestamps are type errors at `timestamp`.
    let e = Humidity::from_json_str(r#"{"percent":50,"timestamp":-1}"#).unwrap_err();
    assert_eq!(e.path, "timestamp");
    let e = Humidity::from_json_str(r#"{"percent":50,"timestamp":1.5}"#).unwrap_err();
    assert_eq!(e.path, "timestamp");
}

#[test]
fn from_value_with_path_works_for_foreign_contracts() {
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Pressure {
        hpa: f32,
        timestamp: u64,
    }
    impl SchemaType for Pressure {
        const NAME: &'static str = "pressure";
    }
    impl Contract for Pressure {}

    let p = Pressure::from_json_str(r#"{"hpa":1013.25,"timestamp":1}"#).unwrap();
    assert_eq!(p.hpa, 1013.25);
    let e = Pressure::from_json_str(r#"{"timestamp":1}"#).unwrap_err();
    assert_eq!(e.to_string(), "pressure: hpa: missing field `hpa`");
    let e = from_value_with_path::<Pressure>(json!({"hpa": true, "timestamp": 1})).unwrap_err();
    assert_eq!((e.schema.as_str(), e.path.as_str()), ("pressure", "hpa"));
}

#[test]
fn observable_units() {
    assert_eq!(Temperature::UNIT, "°C");
    assert_eq!(Humidity::UNIT, "%");
    assert_eq!(GpsLocation::UNIT, "m");
    assert_eq!(Temperature::set(-3.0, 0).signal(), -3.0);
}
