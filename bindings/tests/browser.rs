//! `RawDb` (the `#[wasm_bindgen]` class behind `@aimdb/wasm`'s `WasmDb`) in headless
//! Chromium: options, record configuration, contracts, every error code with its fields,
//! subscriptions per buffer kind, lag, unsubscribe, ticking, dispose, and the free
//! functions.
//!
//! Waits are frame-driven: `frame()` resolves from a `requestAnimationFrame` callback
//! registered after the executor's own, so by the time it resolves the executor's tick
//! for that frame has run.
#![cfg(target_arch = "wasm32")]

use aimdb_wasm_bindings::js::db::{known_schemas, take_panic, validate, RawDb};
use js_sys::{Function, Promise, Reflect};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Resolves in the next animation frame, after the callbacks already requested for it.
async fn frame() {
    let p = Promise::new(&mut |resolve, _| {
        let g = js_sys::global();
        let raf: Function = Reflect::get(&g, &"requestAnimationFrame".into()).unwrap().unchecked_into();
        raf.call1(&g, &resolve).unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

async fn frames(n: u32) {
    for _ in 0..n {
        frame().await;
    }
}

/// Awaits frames until `done()` holds, at most `max` of them; returns whether it held.
async fn frames_until(max: u32, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..max {
        if done() {
            return true;
        }
        frame().await;
    }
    done()
}

type Log = Rc<RefCell<Vec<String>>>;

/// JSON text of a JS value (as the engine's `JSON.stringify` writes it).
fn json_of(v: &JsValue) -> String {
    js_sys::JSON::stringify(v).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

/// A subscription callback that records the values it gets, as JSON text.
fn recorder() -> (Log, Function) {
    let log: Log = Rc::default();
    let l = log.clone();
    let f = Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| l.borrow_mut().push(json_of(&v))).into_js_value();
    (log, f.unchecked_into())
}

/// The raw db by record key, values as JSON text (the npm wrapper keeps the handles
/// `configureRecord` returns, and mostly passes values on the tape).
trait ByKey {
    /// `setText`.
    fn set(&self, key: &str, json: &str) -> Result<(), JsValue>;
    /// `latestAt`, as JSON text.
    fn latest(&self, key: &str) -> Result<Option<String>, JsValue>;
    /// Values produced so far (`stats`).
    fn version(&self, key: &str) -> Result<f64, JsValue>;
    fn subscribe(&self, key: &str, cb: Function, batch: bool, on_lag: Option<Function>) -> Result<u32, JsValue>;
}

impl ByKey for RawDb {
    fn set(&self, key: &str, json: &str) -> Result<(), JsValue> {
        self.set_text(self.handle_of(key)?, json)
    }
    fn latest(&self, key: &str) -> Result<Option<String>, JsValue> {
        let v = self.latest_at(self.handle_of(key)?)?;
        Ok((!v.is_undefined()).then(|| json_of(&v)))
    }
    fn version(&self, key: &str) -> Result<f64, JsValue> {
        self.handle_of(key)?;
        Ok(rec(self, key)["produced"].as_f64().unwrap_or(f64::NAN))
    }
    fn subscribe(&self, key: &str, cb: Function, batch: bool, on_lag: Option<Function>) -> Result<u32, JsValue> {
        self.subscribe_at(self.handle_of(key)?, cb, batch, on_lag)
    }
}

/// An `onLag` callback that records `lag:{n}` into `log` (shared with a recorder to see
/// the order of lag reports and values).
fn lag_into(log: &Log) -> Function {
    let l = log.clone();
    let f = Closure::<dyn FnMut(f64)>::new(move |n: f64| l.borrow_mut().push(format!("lag:{n}"))).into_js_value();
    f.unchecked_into()
}

fn noop() -> Function {
    Function::new_no_args("")
}

fn db(options: &str) -> RawDb {
    RawDb::new(options).unwrap()
}

/// A database with `key` configured with `options`.
fn db_with(key: &str, options: &str) -> RawDb {
    let db = db("{}");
    db.configure_record(key, options).unwrap();
    db
}

fn stats(db: &RawDb) -> Value {
    serde_json::from_str(&db.stats().unwrap()).unwrap()
}

fn rec(db: &RawDb, key: &str) -> Value {
    stats(db)["records"][key].clone()
}

fn strategy(db: &RawDb) -> String {
    stats(db)["executor"]["strategy"].as_str().unwrap().to_string()
}

fn field(err: &JsValue, name: &str) -> JsValue {
    Reflect::get(err, &JsValue::from_str(name)).unwrap()
}

fn sfield(err: &JsValue, name: &str) -> Option<String> {
    field(err, name).as_string()
}

/// Asserts `r` failed with an `AimDbError` of `code`; returns the error.
#[track_caller]
fn expect_err<T>(r: Result<T, JsValue>, code: &str) -> JsValue {
    let err = match r {
        Ok(_) => panic!("expected {code}, got Ok"),
        Err(e) => e,
    };
    assert!(err.is_instance_of::<js_sys::Error>(), "not an Error object: {err:?}");
    assert_eq!(sfield(&err, "name").as_deref(), Some("AimDbError"));
    assert_eq!(
        sfield(&err, "code").as_deref(),
        Some(code),
        "message: {:?}",
        sfield(&err, "message")
    );
    err
}

/// A current-version temperature whose JSON text round-trips exactly.
fn temp(i: u32) -> String {
    format!(r#"{{"schema_version":2,"celsius":{i}.5,"timestamp":{i}}}"#)
}

const TEMP: &str = r#"{"schemaType":"temperature"}"#;
const RING16: &str = r#"{"schemaType":"temperature","buffer":{"type":"SpmcRing","capacity":16}}"#;

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn db_options_are_parsed_and_reflected_in_stats() {
    assert_eq!(strategy(&db("{}")), "animationFrame");
    assert_eq!(strategy(&db("null")), "animationFrame");
    assert_eq!(strategy(&db(r#"{"tick":"microtask","maxPollsPerTick":8,"logLevel":"off"}"#)), "microtask");
    assert_eq!(strategy(&db(r#"{"tick":"idle","budgetMs":1000,"logLevel":"debug"}"#)), "idle");

    let db = db(r#"{"tick":"macrotask","budgetMs":2}"#);
    let s = stats(&db);
    assert_eq!(s["executor"]["strategy"], "macrotask");
    assert_eq!(s["executor"]["liveTasks"], 0);
    assert_eq!(s["records"], json!({}));
    // The budget shows in the ticks the executor runs.
    db.configure_record("t", RING16).unwrap();
    let (log, cb) = recorder();
    db.subscribe("t", cb, false, None).unwrap();
    db.set("t", &temp(1)).unwrap();
    assert!(frames_until(60, || log.borrow().len() == 1).await, "no delivery under macrotask");
    assert_eq!(*log.borrow(), [temp(1)]);
    let s = stats(&db);
    assert_eq!(s["executor"]["strategy"], "macrotask");
    assert_eq!(s["executor"]["lastTick"]["budgetMs"], 2.0);
    assert!(s["executor"]["ticks"].as_u64().unwrap() > 0, "{s}");
}

#[wasm_bindgen_test]
fn invalid_db_options_are_invalid_options() {
    let bad = [
        (r#"{"tick":"turbo"}"#, "turbo"),
        (r#"{"budgetMs":0}"#, "budgetMs"),
        (r#"{"budgetMs":-1}"#, "budgetMs"),
        (r#"{"budgetMs":1000.5}"#, "budgetMs"),
        (r#"{"budgetMs":"4"}"#, ""),
        (r#"{"maxPollsPerTick":0}"#, "maxPollsPerTick"),
        (r#"{"logLevel":"loud"}"#, "logLevel"),
        (r#"{"logLevel":3}"#, "logLevel"),
        (r#"{"bogus":1}"#, "bogus"),
        ("[1]", "expected an object"),
        ("\"macrotask\"", "expected an object"),
        ("{tick:", ""),
    ];
    for (text, mention) in bad {
        let err = expect_err(RawDb::new(text), "INVALID_OPTIONS");
        let msg = sfield(&err, "message").unwrap();
        assert!(msg.starts_with("invalid WasmDb options"), "{text}: {msg}");
        assert!(msg.contains(mention), "{text}: {msg} should mention {mention}");
    }
    let err = expect_err(RawDb::new(r#"{"budgetMs":0}"#), "INVALID_OPTIONS");
    assert!(sfield(&err, "message").unwrap().ends_with("got 0"), "{:?}", sfield(&err, "message"));
}

// ---------------------------------------------------------------------------------------
// configureRecord
// ---------------------------------------------------------------------------------------

#[wasm_bindgen_test]
fn configure_record_repeat_is_a_no_op() {
    let db = db_with("t", TEMP);
    db.set("t", &temp(1)).unwrap();
    // Same schema and buffer, spelled several ways: no-op, the value stays.
    for same in [TEMP, r#"{"schemaType":"temperature","buffer":"SingleLatest"}"#, r#"{"schemaType":"temperature","buffer":null}"#] {
        db.configure_record("t", same).unwrap();
    }
    assert_eq!(db.version("t").unwrap(), 1.0);
    assert_eq!(db.latest("t").unwrap(), Some(temp(1)));

    db.configure_record("r", r#"{"schemaType":"humidity","buffer":"SpmcRing"}"#).unwrap();
    db.configure_record("r", r#"{"schemaType":"humidity","buffer":{"type":"SpmcRing"}}"#).unwrap();
    db.configure_record("r", r#"{"schemaType":"humidity","buffer":{"type":"SpmcRing","capacity":1024}}"#).unwrap();
    db.configure_record("m", r#"{"schemaType":"gps_location","buffer":"Mailbox","topic":"gps","link":"both"}"#)
        .unwrap();
    db.configure_record("m", r#"{"schemaType":"gps_location","buffer":{"type":"Mailbox"},"topic":"gps","link":"both"}"#)
        .unwrap();

    let s = stats(&db);
    assert_eq!(s["records"].as_object().unwrap().len(), 3, "{s}");
    assert_eq!(s["records"]["t"]["schemaType"], "temperature");
    assert_eq!(s["records"]["t"]["buffer"], "SingleLatest");
    assert_eq!(s["records"]["r"]["buffer"], "SpmcRing(capacity=1024)");
    assert_eq!(s["records"]["m"]["buffer"], "Mailbox");
    assert_eq!(s["records"]["t"]["produced"], 1);
}

#[wasm_bindgen_test]
fn configure_record_conflict_names_key_existing_and_requested() {
    let db = db_with("t", TEMP);
    db.configure_record("r", r#"{"schemaType":"temperature","buffer":{"type":"SpmcRing","capacity":8}}"#).unwrap();

    let cases = [
        ("t", r#"{"schemaType":"humidity"}"#, "temperature / SingleLatest", "humidity / SingleLatest"),
        ("t", r#"{"schemaType":"temperature","buffer":"Mailbox"}"#, "temperature / SingleLatest", "temperature / Mailbox"),
        (
            "t",
            r#"{"schemaType":"temperature","buffer":{"type":"SpmcRing","capacity":8}}"#,
            "temperature / SingleLatest",
            "temperature / SpmcRing(capacity=8)",
        ),
        (
            "r",
            r#"{"schemaType":"temperature","buffer":{"type":"SpmcRing","capacity":16}}"#,
            "temperature / SpmcRing(capacity=8)",
            "temperature / SpmcRing(capacity=16)",
        ),
        ("r", r#"{"schemaType":"gps_location","buffer":"SpmcRing"}"#, "temperature / SpmcRing(capacity=8)", "gps_location / SpmcRing(capacity=1024)"),
    ];
    for (key, options, existing, requested) in cases {
        let err = expect_err(db.configure_record(key, options), "SCHEMA_CONFLICT");
        assert_eq!(sfield(&err, "key").as_deref(), Some(key));
        assert_eq!(sfield(&err, "existing").as_deref(), Some(existing), "{options}");
        assert_eq!(sfield(&err, "requested").as_deref(), Some(requested), "{options}");
        let msg = sfield(&err, "message").unwrap();
        assert!(msg.contains(existing) && msg.contains(requested), "{msg}");
    }
    // Another topic or link is a conflict too.
    db.configure_record("b", r#"{"schemaType":"temperature","topic":"a/b"}"#).unwrap();
    let err = expect_err(db.configure_record("b", r#"{"schemaType":"temperature","topic":"a/c"}"#), "SCHEMA_CONFLICT");
    assert_eq!(sfield(&err, "key").as_deref(), Some("b"));
    expect_err(db.configure_record("b", r#"{"schemaType":"temperature","topic":"a/b","link":"out"}"#), "SCHEMA_CONFLICT");

    // The records keep their first configuration.
    assert_eq!(rec(&db, "t")["buffer"], "SingleLatest");
    assert_eq!(rec(&db, "t")["schemaType"], "temperature");
    assert_eq!(rec(&db, "r")["buffer"], "SpmcRing(capacity=8)");
    db.set("t", &temp(3)).unwrap();
    assert_eq!(db.latest("t").unwrap(), Some(temp(3)));
}

#[wasm_bindgen_test]
fn configure_record_unknown_schema() {
    let db = db("{}");
    let err = expect_err(db.configure_record("p", r#"{"schemaType":"pressure"}"#), "UNKNOWN_SCHEMA");
    assert_eq!(sfield(&err, "key").as_deref(), Some("p"));
    assert_eq!(sfield(&err, "schemaType").as_deref(), Some("pressure"));
    let msg = sfield(&err, "message").unwrap();
    assert!(msg.contains("pressure") && msg.contains("temperature, humidity, gps_location"), "{msg}");
    // Nothing was created.
    expect_err(db.version("p"), "UNKNOWN_KEY");
    assert_eq!(stats(&db)["records"], json!({}));
}

#[wasm_bindgen_test]
fn configure_record_invalid_buffer() {
    let db = db("{}");
    let bad = [
        (r#"{"type":"SpmcRing","capacity":0}"#, "capacity"),
        (r#"{"type":"SpmcRing","capacity":2000000}"#, "2000000"),
        (r#""Ring""#, "Ring"),
        (r#"{"type":"Queue"}"#, "Queue"),
        (r#"{"capacity":4}"#, "buffer type"),
        (r#"{"type":"SpmcRing","capacity":-1}"#, "capacity"),
        (r#"{"type":"SpmcRing","capacity":1.5}"#, "capacity"),
        (r#"{"type":"SpmcRing","capacity":"8"}"#, "capacity"),
        (r#"{"type":"SpmcRing","size":8}"#, "size"),
        (r#"{"type":"Mailbox","capacity":2}"#, "Mailbox"),
        (r#"{"type":"SingleLatest","capacity":1}"#, "SingleLatest"),
        ("5", "5"),
        ("true", "true"),
    ];
    for (buffer, mention) in bad {
        let options = format!(r#"{{"schemaType":"temperature","buffer":{buffer}}}"#);
        let err = expect_err(db.configure_record("b", &options), "INVALID_BUFFER");
        assert_eq!(sfield(&err, "key").as_deref(), Some("b"), "{buffer}");
        let msg = sfield(&err, "message").unwrap();
        assert!(msg.starts_with("record `b`: invalid buffer: "), "{msg}");
        assert!(msg.contains(mention), "{buffer}: {msg} should mention {mention}");
        expect_err(db.version("b"), "UNKNOWN_KEY");
    }
    // The bounds themselves are fine (ring storage grows on demand).
    db.configure_record("one", r#"{"schemaType":"temperature","buffer":{"type":"SpmcRing","capacity":1}}"#).unwrap();
    db.configure_record("max", r#"{"schemaType":"temperature","buffer":{"type":"SpmcRing","capacity":1048576}}"#)
        .unwrap();
    assert_eq!(rec(&db, "max")["buffer"], "SpmcRing(capacity=1048576)");
}

#[wasm_bindgen_test]
fn configure_record_invalid_options() {
    let db = db("{}");
    let bad = [
        (r#"{"schemaType":"temperature","colour":"red"}"#, "unknown option `colour`"),
        ("{}", "schemaType is required"),
        (r#"{"schemaType":5}"#, "schemaType must be a string"),
        (r#"{"schemaType":"temperature","topic":7}"#, "topic must be a string"),
        (r#"{"schemaType":"temperature","link":"sideways"}"#, "sideways"),
        ("[]", "expected an object"),
        ("{schemaType", ""),
    ];
    for (options, mention) in bad {
        let err = expect_err(db.configure_record("k", options), "INVALID_OPTIONS");
        let msg = sfield(&err, "message").unwrap();
        assert!(msg.contains(mention), "{options}: {msg} should mention {mention}");
        expect_err(db.version("k"), "UNKNOWN_KEY");
    }
    let err = expect_err(db.configure_record("", TEMP), "INVALID_KEY");
    assert!(sfield(&err, "message").unwrap().contains("key is empty"));
    assert_eq!(stats(&db)["records"], json!({}));
}

// ---------------------------------------------------------------------------------------
// set / version / latest and contracts
// ---------------------------------------------------------------------------------------

#[wasm_bindgen_test]
fn set_increments_version_and_latest_returns_the_json() {
    let db = db_with("t", TEMP);
    db.configure_record("h", r#"{"schemaType":"humidity"}"#).unwrap();
    assert_eq!(db.version("t").unwrap(), 0.0);
    assert_eq!(db.latest("t").unwrap(), None);
    for i in 1..=3 {
        db.set("t", &temp(i)).unwrap();
        assert_eq!(db.version("t").unwrap(), f64::from(i));
        assert_eq!(db.latest("t").unwrap(), Some(temp(i)));
    }
    // Setting the same value again is a new version.
    db.set("t", &temp(3)).unwrap();
    assert_eq!(db.version("t").unwrap(), 4.0);
    // Whitespace and key order are normalized; timestamps up to 2^53 - 1 stay exact, larger
    // ones (a JS number could not hold them) are contract violations.
    db.set("h", "  { \"timestamp\": 9007199254740991, \"percent\": 40.5 }  ").unwrap();
    assert_eq!(db.latest("h").unwrap().as_deref(), Some(r#"{"percent":40.5,"timestamp":9007199254740991}"#));
    assert_eq!(db.version("h").unwrap(), 1.0);
    let err = expect_err(db.set("h", r#"{"timestamp":9007199254740992,"percent":1}"#), "CONTRACT_VIOLATION");
    assert_eq!(sfield(&err, "path").as_deref(), Some("timestamp"));
    assert_eq!(db.version("h").unwrap(), 1.0);
    // Records are independent.
    assert_eq!(db.version("t").unwrap(), 4.0);
    assert_eq!(rec(&db, "t")["produced"], 4);
    assert_eq!(rec(&db, "h")["produced"], 1);
}

#[wasm_bindgen_test]
fn contract_violation_names_key_schema_path_and_serde_message() {
    let db = db_with("t", TEMP);
    db.configure_record("h", r#"{"schemaType":"humidity"}"#).unwrap();
    db.set("t", &temp(1)).unwrap();
    let cases = [
        ("t", r#"{"schema_version":2,"celsius":"hot","timestamp":1}"#, "temperature", "celsius", "invalid type: string \"hot\""),
        ("t", r#"{"schema_version":2,"timestamp":1}"#, "temperature", "celsius", "missing field `celsius`"),
        ("t", r#"{"schema_version":2,"celsius":1,"timestamp":-5}"#, "temperature", "timestamp", "invalid value: integer `-5`"),
        ("t", r#"{"schema_version":3,"celsius":1,"timestamp":1}"#, "temperature", "schema_version", "unsupported version 3"),
        ("t", r#"{"celsius":1,"timestamp":9007199254740992}"#, "temperature", "timestamp", "must be at most 9007199254740991"),
        ("t", r#"{"schema_version":2,"celsius":1e39,"timestamp":1}"#, "temperature", "celsius", "must be a finite number"),
        ("t", "[2, 1.5, 1]", "temperature", "", "invalid type: sequence"),
        ("t", "{not json", "temperature", "", "line 1"),
        ("h", r#"{"percent":150,"timestamp":1}"#, "humidity", "percent", "must be between 0 and 100, got 150"),
        ("h", r#"{"percent":50,"timestamp":1,"extra":true}"#, "humidity", "", "unknown field `extra`"),
    ];
    for (key, json, schema, path, message) in cases {
        let err = expect_err(db.set(key, json), "CONTRACT_VIOLATION");
        assert_eq!(sfield(&err, "key").as_deref(), Some(key), "{json}");
        assert_eq!(sfield(&err, "schemaType").as_deref(), Some(schema), "{json}");
        let serde = sfield(&err, "serdeMessage").unwrap();
        assert!(serde.contains(message), "{json}: serdeMessage {serde:?} should contain {message:?}");
        if !path.is_empty() || message == "invalid type: sequence" || message == "line 1" {
            assert_eq!(sfield(&err, "path").as_deref(), Some(path), "{json}: {serde}");
        } else {
            assert!(sfield(&err, "path").is_some(), "{json}: path must be a string");
        }
        let msg = sfield(&err, "message").unwrap();
        assert!(msg.starts_with(&format!("record `{key}`: {schema}")), "{msg}");
    }
    // Nothing was produced by the refused values.
    assert_eq!(db.version("t").unwrap(), 1.0);
    assert_eq!(db.latest("t").unwrap(), Some(temp(1)));
    assert_eq!(db.version("h").unwrap(), 0.0);
    assert_eq!(db.latest("h").unwrap(), None);
}

#[wasm_bindgen_test]
fn temperature_v1_is_migrated_on_set() {
    let db = db_with("t", TEMP);
    db.set("t", r#"{"schema_version":1,"temp":212,"timestamp":5,"unit":"F"}"#).unwrap();
    assert_eq!(db.latest("t").unwrap().as_deref(), Some(r#"{"schema_version":2,"celsius":100,"timestamp":5}"#));
    db.set("t", r#"{"schema_version":1,"temp":21.5,"timestamp":6,"unit":"C"}"#).unwrap();
    assert_eq!(db.latest("t").unwrap().as_deref(), Some(r#"{"schema_version":2,"celsius":21.5,"timestamp":6}"#));
    assert_eq!(db.version("t").unwrap(), 2.0);

    let err = expect_err(db.set("t", r#"{"schema_version":1,"temp":1,"timestamp":7,"unit":"X"}"#), "CONTRACT_VIOLATION");
    assert_eq!(sfield(&err, "path").as_deref(), Some("unit"));
    assert!(sfield(&err, "serdeMessage").unwrap().contains("\"X\""));
    let err = expect_err(db.set("t", r#"{"schema_version":1,"timestamp":7,"unit":"C"}"#), "CONTRACT_VIOLATION");
    assert_eq!(sfield(&err, "path").as_deref(), Some("temp"));
    assert_eq!(sfield(&err, "key").as_deref(), Some("t"));
    assert_eq!(db.version("t").unwrap(), 2.0);
}

#[wasm_bindgen_test]
fn unknown_key_for_set_latest_version_subscribe() {
    let db = db_with("t", TEMP);
    let errs = [
        expect_err(db.set("nope", &temp(1)), "UNKNOWN_KEY"),
        expect_err(db.latest("nope"), "UNKNOWN_KEY"),
        expect_err(db.version("nope"), "UNKNOWN_KEY"),
        expect_err(db.subscribe("nope", noop(), false, None), "UNKNOWN_KEY"),
    ];
    for err in &errs {
        assert_eq!(sfield(err, "key").as_deref(), Some("nope"));
        assert!(sfield(err, "message").unwrap().contains("`nope`"));
    }
    // Keys are exact (case-sensitive, no trimming).
    expect_err(db.version("T"), "UNKNOWN_KEY");
    expect_err(db.version(" t"), "UNKNOWN_KEY");
    assert_eq!(rec(&db, "t")["subscribers"], 0);
}

// ---------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn single_latest_coalesces_a_synchronous_burst_into_one_callback() {
    let db = db_with("t", TEMP);
    db.set("t", &temp(999)).unwrap(); // the current value: not delivered by subscribe
    let (log, cb) = recorder();
    db.subscribe("t", cb, false, None).unwrap();
    for i in 0..50 {
        db.set("t", &temp(i)).unwrap();
    }
    assert!(log.borrow().is_empty(), "delivery must not be synchronous");
    frame().await;
    assert_eq!(*log.borrow(), [temp(49)], "exactly one callback in the next frame, with the last value");
    frames(4).await;
    assert_eq!(log.borrow().len(), 1, "no further callbacks without new values");
    let r = rec(&db, "t");
    assert_eq!(r["delivered"], 1);
    assert_eq!(r["subscribers"], 1);
    assert_eq!(r["lagged"], 0);
    // A later value is delivered in a later frame.
    db.set("t", &temp(50)).unwrap();
    assert!(frames_until(10, || log.borrow().len() == 2).await);
    assert_eq!(log.borrow()[1], temp(50));
}

#[wasm_bindgen_test]
async fn single_latest_batch_gets_an_array_of_one() {
    let db = db_with("t", TEMP);
    let (log, cb) = recorder();
    db.subscribe("t", cb, true, None).unwrap();
    for i in 0..5 {
        db.set("t", &temp(i)).unwrap();
    }
    frame().await;
    assert_eq!(*log.borrow(), [format!("[{}]", temp(4))]);
}

#[wasm_bindgen_test]
async fn subscribe_does_not_deliver_the_current_value() {
    let db = db_with("latest", TEMP);
    db.configure_record("mailbox", r#"{"schemaType":"temperature","buffer":"Mailbox"}"#).unwrap();
    db.configure_record("ring", RING16).unwrap();
    let mut logs = Vec::new();
    for key in ["latest", "mailbox", "ring"] {
        db.set(key, &temp(1)).unwrap();
        let (log, cb) = recorder();
        db.subscribe(key, cb, false, None).unwrap();
        logs.push(log);
    }
    frames(3).await;
    for log in &logs {
        assert!(log.borrow().is_empty(), "{:?}", log.borrow());
    }
    for key in ["latest", "mailbox", "ring"] {
        db.set(key, &temp(2)).unwrap();
    }
    frames(2).await;
    for log in &logs {
        assert_eq!(*log.borrow(), [temp(2)]);
    }
}

#[wasm_bindgen_test]
async fn ring_delivers_every_item_in_order() {
    let db = db_with("r", RING16);
    let (log, cb) = recorder();
    db.subscribe("r", cb, false, None).unwrap();
    for i in 0..10 {
        db.set("r", &temp(i)).unwrap();
    }
    frame().await;
    assert_eq!(*log.borrow(), (0..10).map(temp).collect::<Vec<_>>());
    for i in 10..15 {
        db.set("r", &temp(i)).unwrap();
    }
    assert!(frames_until(10, || log.borrow().len() == 15).await, "{:?}", log.borrow());
    frames(2).await;
    assert_eq!(*log.borrow(), (0..15).map(temp).collect::<Vec<_>>());
    let r = rec(&db, "r");
    assert_eq!(r["delivered"], 15);
    assert_eq!(r["lagged"], 0);
    assert_eq!(r["produced"], 15);
}

#[wasm_bindgen_test]
async fn ring_batch_delivers_arrays() {
    let db = db_with("r", RING16);
    let (log, cb) = recorder();
    db.subscribe("r", cb, true, None).unwrap();
    for i in 0..10 {
        db.set("r", &temp(i)).unwrap();
    }
    frame().await;
    let all = |r: std::ops::Range<u32>| format!("[{}]", r.map(temp).collect::<Vec<_>>().join(","));
    assert_eq!(*log.borrow(), [all(0..10)]);
    for i in 10..13 {
        db.set("r", &temp(i)).unwrap();
    }
    assert!(frames_until(10, || log.borrow().len() == 2).await);
    frames(2).await;
    assert_eq!(*log.borrow(), [all(0..10), all(10..13)]);
    for text in log.borrow().iter() {
        assert!(serde_json::from_str::<Value>(text).unwrap().is_array());
    }
    assert_eq!(rec(&db, "r")["delivered"], 13, "a batch counts its items");
}

#[wasm_bindgen_test]
async fn mailbox_delivers_the_latest() {
    let db = db_with("m", r#"{"schemaType":"temperature","buffer":"Mailbox"}"#);
    let (log, cb) = recorder();
    let (blog, bcb) = recorder();
    db.subscribe("m", cb, false, None).unwrap();
    db.subscribe("m", bcb, true, None).unwrap();
    for i in 0..5 {
        db.set("m", &temp(i)).unwrap();
    }
    frame().await;
    assert_eq!(*log.borrow(), [temp(4)]);
    assert_eq!(*blog.borrow(), [format!("[{}]", temp(4))]);
    frames(3).await;
    assert_eq!(log.borrow().len(), 1, "a mailbox value is delivered at most once");
    db.set("m", &temp(5)).unwrap();
    assert!(frames_until(10, || log.borrow().len() == 2).await);
    assert_eq!(log.borrow()[1], temp(5));
    assert_eq!(rec(&db, "m")["subscribers"], 2);
}

#[wasm_bindgen_test]
async fn on_lag_reports_the_exact_missed_count() {
    let db = db_with("r", r#"{"schemaType":"temperature","buffer":{"type":"SpmcRing","capacity":4}}"#);
    let (log, cb) = recorder();
    let on_lag = lag_into(&log);
    db.subscribe("r", cb, false, Some(on_lag)).unwrap();
    for i in 0..20 {
        db.set("r", &temp(i)).unwrap();
    }
    frame().await;
    let mut expected = vec!["lag:16".to_string()];
    expected.extend((16..20).map(temp));
    assert_eq!(*log.borrow(), expected, "onLag(16) first, then the 4 retained items in order");
    let r = rec(&db, "r");
    assert_eq!(r["lagged"], 16);
    assert_eq!(r["delivered"], 4);

    // A batch subscriber on the same ring, lagging again: both counted.
    let (blog, bcb) = recorder();
    let on_lag = lag_into(&blog);
    db.subscribe("r", bcb, true, Some(on_lag)).unwrap();
    for i in 20..30 {
        db.set("r", &temp(i)).unwrap();
    }
    assert!(frames_until(10, || blog.borrow().len() == 2 && log.borrow().len() == 10).await, "{:?}", blog.borrow());
    assert_eq!(blog.borrow()[0], "lag:6");
    assert_eq!(blog.borrow()[1], format!("[{}]", (26..30).map(temp).collect::<Vec<_>>().join(",")));
    assert_eq!(&log.borrow()[5..], ["lag:6".to_string(), temp(26), temp(27), temp(28), temp(29)]);
    assert_eq!(rec(&db, "r")["lagged"], 16 + 6 + 6);
}

#[wasm_bindgen_test]
async fn a_throwing_callback_does_not_end_the_subscription() {
    let db = db_with("r", RING16);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let cb = Closure::<dyn FnMut(JsValue) -> Result<(), JsValue>>::new(move |v: JsValue| {
        let v = json_of(&v);
        s.borrow_mut().push(v);
        Err(js_sys::Error::new("boom").into())
    })
    .into_js_value()
    .unchecked_into::<Function>();
    db.subscribe("r", cb, false, None).unwrap();
    for i in 0..3 {
        db.set("r", &temp(i)).unwrap();
    }
    frame().await;
    assert_eq!(*seen.borrow(), (0..3).map(temp).collect::<Vec<_>>());
    db.set("r", &temp(3)).unwrap();
    assert!(frames_until(10, || seen.borrow().len() == 4).await);
    assert_eq!(rec(&db, "r")["subscribers"], 1);
}

#[wasm_bindgen_test]
async fn unsubscribe_stops_delivery_and_is_idempotent() {
    let db = db_with("r", RING16);
    let (log, cb) = recorder();
    let (other, ocb) = recorder();
    let id = db.subscribe("r", cb, false, None).unwrap();
    let other_id = db.subscribe("r", ocb, false, None).unwrap();
    assert_ne!(id, 0);
    assert_ne!(id, other_id);
    assert_eq!(rec(&db, "r")["subscribers"], 2);
    db.set("r", &temp(1)).unwrap();
    frame().await;
    assert_eq!(*log.borrow(), [temp(1)]);

    db.unsubscribe(id);
    assert_eq!(rec(&db, "r")["subscribers"], 1);
    db.unsubscribe(id);
    db.unsubscribe(0);
    db.unsubscribe(987_654);
    assert_eq!(rec(&db, "r")["subscribers"], 1, "repeated / unknown ids are ignored");

    db.set("r", &temp(2)).unwrap();
    frames(3).await;
    assert_eq!(*log.borrow(), [temp(1)], "no delivery after unsubscribe");
    assert_eq!(*other.borrow(), [temp(1), temp(2)], "the other subscription goes on");

    // Unsubscribing with values already queued for the next tick delivers none of them.
    db.set("r", &temp(3)).unwrap();
    db.unsubscribe(other_id);
    frames(3).await;
    assert_eq!(other.borrow().len(), 2);
    assert_eq!(rec(&db, "r")["subscribers"], 0);
}

#[wasm_bindgen_test]
async fn unsubscribe_inside_the_callback_stops_the_rest_of_the_batch() {
    let db = Rc::new(db_with("r", RING16));
    let id = Rc::new(Cell::new(0u32));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let cb = {
        let (weak, id, seen): (Weak<RawDb>, _, _) = (Rc::downgrade(&db), id.clone(), seen.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| {
            let v = json_of(&v);
            seen.borrow_mut().push(v);
            if let Some(db) = weak.upgrade() {
                db.unsubscribe(id.get());
            }
        })
        .into_js_value()
        .unchecked_into::<Function>()
    };
    id.set(db.subscribe("r", cb, false, None).unwrap());
    for i in 0..5 {
        db.set("r", &temp(i)).unwrap();
    }
    frames(3).await;
    assert_eq!(*seen.borrow(), [temp(0)], "the callback unsubscribed on the first of 5 queued items");
    let r = rec(&db, "r");
    assert_eq!(r["delivered"], 1);
    assert_eq!(r["subscribers"], 0);

    // Batch mode: no later batch after unsubscribing inside the first.
    let bid = Rc::new(Cell::new(0u32));
    let bseen = Rc::new(RefCell::new(Vec::new()));
    let bcb = {
        let (weak, bid, bseen): (Weak<RawDb>, _, _) = (Rc::downgrade(&db), bid.clone(), bseen.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| {
            let v = json_of(&v);
            bseen.borrow_mut().push(v);
            if let Some(db) = weak.upgrade() {
                db.unsubscribe(bid.get());
            }
        })
        .into_js_value()
        .unchecked_into::<Function>()
    };
    bid.set(db.subscribe("r", bcb, true, None).unwrap());
    db.set("r", &temp(10)).unwrap();
    frame().await;
    db.set("r", &temp(11)).unwrap();
    frames(3).await;
    assert_eq!(*bseen.borrow(), [format!("[{}]", temp(10))]);
    assert_eq!(rec(&db, "r")["subscribers"], 0);
}

#[wasm_bindgen_test]
async fn ten_thousand_subscribe_unsubscribe_cycles_leak_nothing() {
    let db = db_with("r", RING16);
    db.configure_record("t", TEMP).unwrap();
    frame().await;
    let base = stats(&db);
    let base_tasks = base["executor"]["liveTasks"].as_u64().unwrap();
    let base_readers = |k: &str| base["records"][k]["readers"].as_u64().unwrap();
    let (ring_readers, latest_readers) = (base_readers("r"), base_readers("t"));

    let (log, cb) = recorder();
    let mut last = 0;
    for i in 0..10_000u32 {
        let key = if i % 2 == 0 { "r" } else { "t" };
        let id = db.subscribe(key, cb.clone(), i % 3 == 0, Some(noop())).unwrap();
        assert!(id > last, "ids are fresh: {id} after {last}");
        last = id;
        db.unsubscribe(id);
    }
    let s = stats(&db);
    assert_eq!(s["records"]["r"]["subscribers"], 0);
    assert_eq!(s["records"]["t"]["subscribers"], 0);

    let back = frames_until(120, || {
        let s = stats(&db);
        s["executor"]["liveTasks"].as_u64() == Some(base_tasks)
            && s["records"]["r"]["readers"].as_u64() == Some(ring_readers)
            && s["records"]["t"]["readers"].as_u64() == Some(latest_readers)
    })
    .await;
    assert!(back, "not back to baseline {base}: {}", stats(&db));
    assert_eq!(stats(&db)["records"]["r"]["parked"], 0);
    assert!(log.borrow().is_empty());

    // And the record still works.
    db.subscribe("r", cb, false, None).unwrap();
    db.set("r", &temp(7)).unwrap();
    assert!(frames_until(10, || log.borrow().len() == 1).await);
    assert_eq!(*log.borrow(), [temp(7)]);
    assert_eq!(stats(&db)["executor"]["liveTasks"].as_u64(), Some(base_tasks + 1));
}

// ---------------------------------------------------------------------------------------
// Scheduling: the tick budget holds whatever a callback does
// ---------------------------------------------------------------------------------------

/// `stats().executor[name]` as a number.
fn ex_stat(db: &RawDb, name: &str) -> u64 {
    stats(db)["executor"][name].as_u64().unwrap()
}

/// A ring callback that sets the record it listens to (the JS repro:
/// `db.subscribe('r', x => db.set('r', {...x, timestamp: x.timestamp + 1}))`) fed the
/// whole loop to one poll: one tick ran until the loop ended, the page frozen. The task
/// now hands the tick back at least every `YIELD_EVERY` callbacks, so with
/// `maxPollsPerTick: 2` a tick delivers at most 2 * 64 values, deterministically.
#[wasm_bindgen_test]
async fn a_ring_callback_feeding_its_own_record_spans_many_ticks() {
    use aimdb_wasm_bindings::js::record::YIELD_EVERY;
    const LOOPS: u64 = 1000;
    const MAX_POLLS: u64 = 2;
    let db = Rc::new(db(&format!(r#"{{"maxPollsPerTick":{MAX_POLLS}}}"#)));
    db.configure_record("r", r#"{"schemaType":"temperature","buffer":{"type":"SpmcRing","capacity":8}}"#).unwrap();
    // (timestamp, executor ticks completed before the one delivering it)
    let seen: Rc<RefCell<Vec<(u64, u64)>>> = Rc::default();
    let cb = {
        let (weak, seen): (Weak<RawDb>, _) = (Rc::downgrade(&db), seen.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| {
            let v = json_of(&v);
            let Some(db) = weak.upgrade() else { return };
            let x: Value = serde_json::from_str(&v).unwrap();
            let ts = x["timestamp"].as_u64().unwrap();
            seen.borrow_mut().push((ts, ex_stat(&db, "ticks")));
            if ts < LOOPS {
                db.set("r", &temp(ts as u32 + 1)).unwrap();
            }
        })
        .into_js_value()
        .unchecked_into::<Function>()
    };
    db.subscribe("r", cb, false, None).unwrap();
    db.set("r", &temp(1)).unwrap();
    frame().await;
    let first = seen.borrow().len() as u64;
    assert!(first > 0, "nothing delivered in the first frame");
    assert!(first <= MAX_POLLS * u64::from(YIELD_EVERY), "one tick ran {first} callbacks of the loop");
    // The page stays responsive: frames come, and the db answers, while the loop goes on.
    assert!(db.latest("r").unwrap().is_some());
    assert!(frames_until(200, || seen.borrow().len() as u64 == LOOPS).await, "loop stalled at {}", seen.borrow().len());
    let seen = seen.borrow();
    let order: Vec<u64> = seen.iter().map(|s| s.0).collect();
    assert_eq!(order, (1..=LOOPS).collect::<Vec<_>>(), "every value once, in order");
    let mut per_tick = std::collections::BTreeMap::<u64, u64>::new();
    for (_, tick) in seen.iter() {
        *per_tick.entry(*tick).or_default() += 1;
    }
    let most = *per_tick.values().max().unwrap();
    assert!(most <= MAX_POLLS * u64::from(YIELD_EVERY), "{most} callbacks in one tick");
    assert!(per_tick.len() as u64 >= LOOPS / (MAX_POLLS * u64::from(YIELD_EVERY)), "{per_tick:?}");
    assert_eq!(rec(&db, "r")["delivered"], LOOPS);
    assert_eq!(rec(&db, "r")["lagged"], 0);
}

/// A burst larger than one tick's share is delivered over several ticks, in order.
#[wasm_bindgen_test]
async fn a_ring_burst_is_delivered_over_ticks_in_order() {
    use aimdb_wasm_bindings::js::record::YIELD_EVERY;
    const N: u32 = 2048;
    let db = db(r#"{"maxPollsPerTick":4}"#);
    db.configure_record("r", r#"{"schemaType":"temperature","buffer":{"type":"SpmcRing","capacity":2048}}"#).unwrap();
    let (log, cb) = recorder();
    db.subscribe("r", cb, false, None).unwrap();
    for i in 0..N {
        db.set("r", &temp(i)).unwrap();
    }
    let mut per_frame = Vec::new();
    let mut before = 0;
    while log.borrow().len() < N as usize && per_frame.len() < 200 {
        frame().await;
        let now = log.borrow().len();
        per_frame.push(now - before);
        before = now;
    }
    assert_eq!(*log.borrow(), (0..N).map(temp).collect::<Vec<_>>());
    assert!(per_frame.iter().all(|n| *n <= 4 * YIELD_EVERY as usize), "{per_frame:?}");
    assert_eq!(rec(&db, "r")["delivered"], N);
}

/// A callback longer than the budget: the task yields after it, so each tick delivers
/// one value, and each such tick is counted as an overrun (it used to be one 5-callback
/// tick with `overruns` 0). The busy-wait is the thing under test, not a synchronisation.
#[wasm_bindgen_test]
async fn a_callback_longer_than_the_budget_ends_its_tick_and_is_an_overrun() {
    let db = Rc::new(db(r#"{"budgetMs":2}"#));
    db.configure_record("r", RING16).unwrap();
    let ticks_seen: Rc<RefCell<Vec<u64>>> = Rc::default();
    let cb = {
        let (weak, ticks_seen): (Weak<RawDb>, _) = (Rc::downgrade(&db), ticks_seen.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |_v: JsValue| {
            let Some(db) = weak.upgrade() else { return };
            ticks_seen.borrow_mut().push(ex_stat(&db, "ticks"));
            let perf = Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
            let now: Function = Reflect::get(&perf, &"now".into()).unwrap().unchecked_into();
            let t0 = now.call0(&perf).unwrap().as_f64().unwrap();
            while now.call0(&perf).unwrap().as_f64().unwrap() - t0 < 3.0 {}
        })
        .into_js_value()
        .unchecked_into::<Function>()
    };
    db.subscribe("r", cb, false, None).unwrap();
    let overruns_before = ex_stat(&db, "overruns");
    for i in 0..5 {
        db.set("r", &temp(i)).unwrap();
    }
    assert!(frames_until(60, || ticks_seen.borrow().len() == 5).await, "{:?}", ticks_seen.borrow());
    let ticks = ticks_seen.borrow().clone();
    let mut distinct = ticks.clone();
    distinct.dedup();
    assert_eq!(distinct, ticks, "one 3 ms callback per 2 ms tick: {ticks:?}");
    let s = stats(&db);
    assert!(s["executor"]["overruns"].as_u64().unwrap() >= overruns_before + 5, "overruns not counted: {s}");
    assert!(s["executor"]["maxTickMs"].as_f64().unwrap() >= 3.0, "{s}");
}

/// Batch subscribers get one array per tick, also when their callback feeds the record.
#[wasm_bindgen_test]
async fn a_batch_callback_feeding_its_own_record_gets_one_array_per_tick() {
    let db = Rc::new(db("{}"));
    db.configure_record("r", r#"{"schemaType":"temperature","buffer":{"type":"SpmcRing","capacity":8}}"#).unwrap();
    let ticks_seen: Rc<RefCell<Vec<u64>>> = Rc::default();
    let cb = {
        let (weak, ticks_seen): (Weak<RawDb>, _) = (Rc::downgrade(&db), ticks_seen.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| {
            let v = json_of(&v);
            let Some(db) = weak.upgrade() else { return };
            ticks_seen.borrow_mut().push(ex_stat(&db, "ticks"));
            let arr: Value = serde_json::from_str(&v).unwrap();
            let ts = arr.as_array().unwrap().last().unwrap()["timestamp"].as_u64().unwrap();
            if ts < 20 {
                db.set("r", &temp(ts as u32 + 1)).unwrap();
                db.set("r", &temp(ts as u32 + 2)).unwrap();
            }
        })
        .into_js_value()
        .unchecked_into::<Function>()
    };
    db.subscribe("r", cb, true, None).unwrap();
    db.set("r", &temp(0)).unwrap();
    assert!(frames_until(60, || rec(&db, "r")["delivered"].as_u64() == Some(21)).await, "{}", rec(&db, "r"));
    let ticks = ticks_seen.borrow().clone();
    let mut distinct = ticks.clone();
    distinct.dedup();
    assert_eq!(distinct, ticks, "more than one array in a tick: {ticks:?}");
    assert_eq!(ticks.len(), 11);
}

/// After a once-per-tick delivery (SingleLatest), the executor resumes the subscription
/// in the next tick and then goes quiet: it used to ask for one more, empty, host
/// callback after every delivery.
#[wasm_bindgen_test]
async fn a_delivery_leaves_no_empty_host_callback_behind() {
    let db = db_with("t", TEMP);
    let (log, cb) = recorder();
    db.subscribe("t", cb, false, None).unwrap();
    frames(3).await;
    for round in 1..=3u32 {
        db.set("t", &temp(round)).unwrap();
        assert!(frames_until(10, || log.borrow().len() == round as usize).await);
        let (ticks, requests) = (ex_stat(&db, "ticks"), ex_stat(&db, "hostRequests"));
        frames(4).await;
        let s = stats(&db);
        assert_eq!(s["executor"]["ticks"].as_u64(), Some(ticks + 1), "the tick that resumes the subscription, no more: {s}");
        assert_eq!(s["executor"]["hostRequests"].as_u64(), Some(requests), "{s}");
        assert_eq!(s["executor"]["tickPending"], false, "{s}");
    }
}

// ---------------------------------------------------------------------------------------
// setTicking
// ---------------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn set_ticking_switches_strategy_and_rejects_invalid() {
    let db = db_with("r", RING16);
    let (log, cb) = recorder();
    db.subscribe("r", cb, false, None).unwrap();
    assert_eq!(strategy(&db), "animationFrame");

    db.set_ticking(r#"{"tick":"microtask"}"#).unwrap();
    assert_eq!(strategy(&db), "microtask");
    db.set("r", &temp(1)).unwrap();
    // Under microtask the tick runs before the next macrotask.
    let p = Promise::new(&mut |resolve, _| {
        let g = js_sys::global();
        let st: Function = Reflect::get(&g, &"setTimeout".into()).unwrap().unchecked_into();
        st.call2(&g, &resolve, &0.into()).unwrap();
    });
    JsFuture::from(p).await.unwrap();
    assert_eq!(*log.borrow(), [temp(1)], "microtask strategy delivered before a setTimeout(0)");

    // Partial options keep the rest.
    db.set_ticking(r#"{"budgetMs":3}"#).unwrap();
    assert_eq!(strategy(&db), "microtask");
    db.set_ticking(r#"{"tick":"macrotask"}"#).unwrap();
    assert_eq!(strategy(&db), "macrotask");
    db.set("r", &temp(2)).unwrap();
    assert!(frames_until(10, || log.borrow().len() == 2).await);
    assert_eq!(stats(&db)["executor"]["lastTick"]["budgetMs"], 3.0);

    for tick in ["idle", "animationFrame"] {
        db.set_ticking(&format!(r#"{{"tick":"{tick}"}}"#)).unwrap();
        assert_eq!(strategy(&db), tick);
    }
    db.set("r", &temp(3)).unwrap();
    frame().await;
    assert_eq!(log.borrow().len(), 3);

    let bad = [
        r#"{"tick":"turbo"}"#,
        r#"{"budgetMs":0}"#,
        r#"{"budgetMs":1001}"#,
        r#"{"maxPollsPerTick":0}"#,
        r#"{"logLevel":"info"}"#,
        r#"{"strategy":5}"#,
        "[1]",
        "nope",
    ];
    for text in bad {
        let err = expect_err(db.set_ticking(text), "INVALID_OPTIONS");
        assert!(sfield(&err, "message").unwrap().starts_with("invalid ticking options"), "{text}");
        assert_eq!(strategy(&db), "animationFrame", "a refused setTicking changes nothing");
    }
    db.set("r", &temp(4)).unwrap();
    frame().await;
    assert_eq!(log.borrow().len(), 4);
}

// ---------------------------------------------------------------------------------------
// dispose
// ---------------------------------------------------------------------------------------

#[wasm_bindgen_test]
fn dispose_then_every_method_is_use_after_free() {
    let db = db_with("t", TEMP);
    db.set("t", &temp(1)).unwrap();
    let id = db.subscribe("t", noop(), false, None).unwrap();
    db.dispose();
    let errs = [
        expect_err(db.configure_record("u", TEMP), "USE_AFTER_FREE"),
        expect_err(db.configure_record("t", TEMP), "USE_AFTER_FREE"),
        expect_err(db.set("t", &temp(2)), "USE_AFTER_FREE"),
        expect_err(db.version("t"), "USE_AFTER_FREE"),
        expect_err(db.latest("t"), "USE_AFTER_FREE"),
        expect_err(db.subscribe("t", noop(), false, None), "USE_AFTER_FREE"),
        expect_err(db.set_ticking(r#"{"tick":"microtask"}"#), "USE_AFTER_FREE"),
        expect_err(db.stats(), "USE_AFTER_FREE"),
        // An unknown key is still reported as use-after-free, not UNKNOWN_KEY.
        expect_err(db.version("nope"), "USE_AFTER_FREE"),
    ];
    for err in &errs {
        assert_eq!(sfield(err, "message").as_deref(), Some("this WasmDb was freed"));
    }
    // Harmless after dispose.
    db.unsubscribe(id);
    db.dispose();
    db.dispose();
    expect_err(db.stats(), "USE_AFTER_FREE");
}

#[wasm_bindgen_test]
async fn dispose_stops_subscriptions() {
    let db = db_with("r", RING16);
    db.configure_record("t", TEMP).unwrap();
    let (log, cb) = recorder();
    let (tlog, tcb) = recorder();
    let lag = lag_into(&log);
    db.subscribe("r", cb, false, Some(lag)).unwrap();
    db.subscribe("t", tcb, true, None).unwrap();
    db.set("r", &temp(1)).unwrap();
    frame().await;
    assert_eq!(*log.borrow(), [temp(1)]);
    // Values queued for the next tick are never delivered once disposed.
    for i in 2..6 {
        db.set("r", &temp(i)).unwrap();
    }
    db.set("t", &temp(9)).unwrap();
    db.dispose();
    frames(4).await;
    assert_eq!(*log.borrow(), [temp(1)]);
    assert!(tlog.borrow().is_empty());
}

/// `dispose()` called from inside a subscription callback, with more ring items of the
/// same drain still to deliver: "Ends every subscription" should mean the callback is not
/// called again, as for `unsubscribe` from inside the callback.
#[wasm_bindgen_test]
async fn dispose_inside_the_callback_stops_the_rest_of_the_batch() {
    let db = Rc::new(db_with("r", RING16));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let cb = {
        let (weak, seen): (Weak<RawDb>, _) = (Rc::downgrade(&db), seen.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| {
            let v = json_of(&v);
            seen.borrow_mut().push(v);
            if let Some(db) = weak.upgrade() {
                db.dispose();
            }
        })
        .into_js_value()
        .unchecked_into::<Function>()
    };
    db.subscribe("r", cb, false, None).unwrap();
    for i in 0..5 {
        db.set("r", &temp(i)).unwrap();
    }
    frames(3).await;
    expect_err(db.stats(), "USE_AFTER_FREE");
    assert_eq!(*seen.borrow(), [temp(0)], "callback called again after dispose() inside it");
}

// ---------------------------------------------------------------------------------------
// Free functions
// ---------------------------------------------------------------------------------------

#[wasm_bindgen_test]
fn validate_returns_the_current_version_or_a_typed_error() {
    assert_eq!(validate("temperature", &temp(3)).unwrap(), temp(3));
    assert_eq!(
        validate("temperature", r#"{"schema_version":1,"temp":212,"timestamp":5,"unit":"F"}"#).unwrap(),
        r#"{"schema_version":2,"celsius":100.0,"timestamp":5}"#
    );
    assert_eq!(
        validate("gps_location", r#"{"latitude":48.5,"longitude":11.5,"timestamp":1}"#).map(|s| {
            let v: Value = serde_json::from_str(&s).unwrap();
            (v["latitude"].as_f64(), v["longitude"].as_f64(), v["timestamp"].as_u64())
        })
        .unwrap(),
        (Some(48.5), Some(11.5), Some(1))
    );

    let err = expect_err(validate("humidity", r#"{"percent":-1,"timestamp":1}"#), "CONTRACT_VIOLATION");
    assert_eq!(sfield(&err, "schemaType").as_deref(), Some("humidity"));
    assert_eq!(sfield(&err, "path").as_deref(), Some("percent"));
    assert!(sfield(&err, "serdeMessage").unwrap().contains("must be between 0 and 100"));
    assert!(field(&err, "key").is_undefined(), "no record, no key");
    let err = expect_err(validate("temperature", r#"{"schema_version":2,"celsius":1}"#), "CONTRACT_VIOLATION");
    assert_eq!(sfield(&err, "path").as_deref(), Some("timestamp"));
    assert_eq!(sfield(&err, "serdeMessage").as_deref(), Some("missing field `timestamp`"));

    let err = expect_err(validate("pressure", "{}"), "UNKNOWN_SCHEMA");
    assert_eq!(sfield(&err, "schemaType").as_deref(), Some("pressure"));
    assert!(field(&err, "key").is_undefined());
}

#[wasm_bindgen_test]
fn known_schemas_lists_the_builtins_with_versions() {
    let v: Value = serde_json::from_str(&known_schemas()).unwrap();
    assert_eq!(
        v,
        json!([
            { "name": "temperature", "version": 2 },
            { "name": "humidity", "version": 1 },
            { "name": "gps_location", "version": 1 },
            { "name": "setpoint", "version": 1 },
        ])
    );
}

#[wasm_bindgen_test]
fn take_panic_is_empty_without_a_panic() {
    assert_eq!(take_panic(), None);
    assert_eq!(take_panic(), None);
}
