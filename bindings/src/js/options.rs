//! Parsing the JSON options the npm wrapper passes in. Hand-written over [`Json`] so
//! every error names the option that was wrong.

use super::error::FacadeError;
use crate::json::{self, Json};
use aimdb_core::buffer::BufferCfg;
use aimdb_wasm::buffer::validate_buffer_cfg;
use aimdb_wasm::{LogLevel, TickConfig, TickStrategy};
use serde::de::{Error as _, Unexpected};

/// Default capacity of `buffer: 'SpmcRing'` given without one.
pub const DEFAULT_RING_CAPACITY: usize = 1024;

/// `new WasmDb(options)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DbOptions {
    pub tick: TickConfig,
    pub log_level: LogLevel,
}

fn object(text: &str, what: &'static str) -> Result<Vec<(String, Json)>, FacadeError> {
    match json::parse(text) {
        Ok(Json::Obj(m)) => Ok(m),
        Ok(Json::Null) => Ok(Vec::new()),
        Ok(other) => Err(FacadeError::InvalidOptions { what, message: format!("expected an object, got {other}") }),
        Err(e) => Err(FacadeError::InvalidOptions { what, message: e.to_string() }),
    }
}

/// Parses `{ tick?, budgetMs?, maxPollsPerTick?, logLevel? }`.
pub fn db_options(text: &str) -> Result<DbOptions, FacadeError> {
    let mut m = object(text, "WasmDb options")?;
    let log_level = match json::remove(&mut m, "logLevel") {
        None | Some(Json::Null) => LogLevel::Info,
        Some(Json::Str(s)) => match s.as_str() {
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "off" => LogLevel::Off,
            _ => {
                return Err(FacadeError::InvalidOptions {
                    what: "WasmDb options",
                    message: format!("logLevel must be 'debug' | 'info' | 'warn' | 'error' | 'off', got '{s}'"),
                })
            }
        },
        Some(v) => {
            return Err(FacadeError::InvalidOptions { what: "WasmDb options", message: format!("logLevel must be a string, got {v}") })
        }
    };
    let tick = tick_config(Json::Obj(m), TickConfig::default(), "WasmDb options")?;
    Ok(DbOptions { tick, log_level })
}

/// The field names `TickConfig`'s derived `Deserialize` lists in an unknown-field error.
const TICK_FIELDS: &[&str] = &["strategy", "tick", "budgetMs", "budget_ms", "maxPollsPerTick", "max_polls_per_tick"];
/// `TickStrategy`'s variant names, as its derived `Deserialize` lists them.
const STRATEGIES: [TickStrategy; 5] =
    [TickStrategy::AnimationFrame, TickStrategy::Microtask, TickStrategy::Macrotask, TickStrategy::Idle, TickStrategy::Manual];
const STRATEGY_NAMES: &[&str] = &["animationFrame", "microtask", "macrotask", "idle", "manual"];

type E = json::Error;

/// Parses ticking options over `base` (unspecified fields keep their value).
///
/// Equivalent to deserializing `TickConfig` (serde's messages) from `base` with the
/// given fields written over it (`tick` standing for `strategy`), fields in key order.
pub fn tick_config(value: Json, base: TickConfig, what: &'static str) -> Result<TickConfig, FacadeError> {
    let Json::Obj(mut m) = value else {
        return Err(FacadeError::InvalidOptions { what, message: format!("expected an object, got {value}") });
    };
    if let Some(t) = json::remove(&mut m, "tick") {
        json::insert(&mut m, "strategy".into(), t);
    }
    let mut cfg = base;
    for (k, v) in &m {
        tick_field(&mut cfg, k, v).map_err(|e| FacadeError::InvalidOptions { what, message: e.to_string() })?;
    }
    cfg.validate().map_err(|e| FacadeError::InvalidOptions {
        what,
        message: match e {
            aimdb_wasm::executors::ConfigError::Budget(b) => format!("{e}, got {}", crate::contracts::num(b)),
            _ => e.to_string(),
        },
    })?;
    Ok(cfg)
}

/// Writes one field over `cfg`, with the error `TickConfig`'s derived `Deserialize` gives.
fn tick_field(cfg: &mut TickConfig, k: &str, v: &Json) -> Result<(), E> {
    match k {
        "strategy" => cfg.strategy = strategy(v)?,
        "budgetMs" => {
            cfg.budget_ms = match *v {
                Json::U64(n) => n as f64,
                Json::I64(n) => n as f64,
                Json::F64(f) => f,
                _ => return Err(E::invalid_type(v.unexpected(), &"f64")),
            }
        }
        "maxPollsPerTick" => {
            cfg.max_polls_per_tick = match *v {
                Json::U64(n) => u32::try_from(n).map_err(|_| E::invalid_value(Unexpected::Unsigned(n), &"u32"))?,
                Json::I64(n) => return Err(E::invalid_value(Unexpected::Signed(n), &"u32")),
                _ => return Err(E::invalid_type(v.unexpected(), &"u32")),
            }
        }
        // Aliases of fields the base always has.
        "budget_ms" => return Err(E::duplicate_field("budgetMs")),
        "max_polls_per_tick" => return Err(E::duplicate_field("maxPollsPerTick")),
        k => return Err(E::unknown_field(k, TICK_FIELDS)),
    }
    Ok(())
}

/// A `TickStrategy` from a JSON value, as serde reads an enum: a variant name, or an
/// object of one `{ name: null }`.
fn strategy(v: &Json) -> Result<TickStrategy, E> {
    let (name, unit) = match v {
        Json::Str(s) => (s, None),
        Json::Obj(m) if m.len() == 1 => (&m[0].0, Some(&m[0].1)),
        Json::Obj(_) => return Err(E::invalid_value(Unexpected::Map, &"map with a single key")),
        _ => return Err(E::invalid_type(v.unexpected(), &"string or map")),
    };
    let Some(i) = STRATEGY_NAMES.iter().position(|n| n == name) else {
        return Err(E::unknown_variant(name, STRATEGY_NAMES));
    };
    match unit {
        Some(u) if *u != Json::Null => Err(E::invalid_type(u.unexpected(), &"unit")),
        _ => Ok(STRATEGIES[i]),
    }
}

/// Parses `setTicking({...})` text.
pub fn set_ticking(text: &str, base: TickConfig) -> Result<TickConfig, FacadeError> {
    let m = object(text, "ticking options")?;
    tick_config(Json::Obj(m), base, "ticking options")
}

/// `configureRecord(key, options)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOptions {
    pub schema_type: String,
    pub buffer: BufferCfg,
    pub topic: Option<String>,
    pub link: Link,
}

/// Direction of a record's bridge link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    In,
    Out,
    Both,
}

/// Parses `{ schemaType, buffer?, topic?, link? }`.
pub fn record_options(key: &str, text: &str) -> Result<RecordOptions, FacadeError> {
    const WHAT: &str = "record options";
    let m = object(text, WHAT)?;
    let mut schema_type = None;
    let mut buffer = BufferCfg::SingleLatest;
    let mut topic = None;
    let mut link = Link::In;
    for (k, v) in m {
        match (k.as_str(), v) {
            ("schemaType", Json::Str(s)) => schema_type = Some(s),
            ("buffer", v) => buffer = buffer_cfg(key, v)?,
            ("topic", Json::Str(s)) => topic = Some(s),
            ("topic", Json::Null) => {}
            ("link", Json::Str(s)) => {
                link = match s.as_str() {
                    "in" => Link::In,
                    "out" => Link::Out,
                    "both" => Link::Both,
                    _ => {
                        return Err(FacadeError::InvalidOptions {
                            what: WHAT,
                            message: format!("record `{key}`: link must be 'in' | 'out' | 'both', got '{s}'"),
                        })
                    }
                }
            }
            (k @ ("schemaType" | "topic" | "link"), v) => {
                return Err(FacadeError::InvalidOptions {
                    what: WHAT,
                    message: format!("record `{key}`: {k} must be a string, got {v}"),
                })
            }
            (k, _) => {
                return Err(FacadeError::InvalidOptions {
                    what: WHAT,
                    message: format!("record `{key}`: unknown option `{k}` (expected schemaType, buffer, topic, link)"),
                })
            }
        }
    }
    let schema_type = schema_type.ok_or_else(|| FacadeError::InvalidOptions {
        what: WHAT,
        message: format!("record `{key}`: schemaType is required"),
    })?;
    Ok(RecordOptions { schema_type, buffer, topic, link })
}

/// `'SingleLatest' | 'Mailbox' | 'SpmcRing' | { type: 'SpmcRing', capacity } | { type: 'SingleLatest' } | ...`
pub fn buffer_cfg(key: &str, v: Json) -> Result<BufferCfg, FacadeError> {
    let bad = |message: String| FacadeError::InvalidBuffer { key: key.to_string(), message };
    let cfg = match &v {
        Json::Str(s) => match s.as_str() {
            "SingleLatest" => BufferCfg::SingleLatest,
            "Mailbox" => BufferCfg::Mailbox,
            "SpmcRing" => BufferCfg::SpmcRing { capacity: DEFAULT_RING_CAPACITY },
            _ => return Err(bad(format!("unknown buffer '{s}' (expected 'SingleLatest', 'Mailbox' or 'SpmcRing')"))),
        },
        Json::Obj(m) => {
            let ty = v.get("type").and_then(Json::as_str).unwrap_or("");
            for (k, _) in m {
                if k != "type" && k != "capacity" {
                    return Err(bad(format!("unknown buffer option `{k}`")));
                }
            }
            match ty {
                "SpmcRing" => {
                    let capacity = match v.get("capacity") {
                        None => DEFAULT_RING_CAPACITY,
                        Some(c) => match c.as_u64() {
                            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                            None => return Err(bad(format!("capacity must be a non-negative integer, got {c}"))),
                        },
                    };
                    BufferCfg::SpmcRing { capacity }
                }
                "SingleLatest" | "Mailbox" if v.get("capacity").is_some() => {
                    return Err(bad(format!("{ty} takes no capacity")));
                }
                "SingleLatest" => BufferCfg::SingleLatest,
                "Mailbox" => BufferCfg::Mailbox,
                _ => return Err(bad(format!("unknown buffer type '{ty}' (expected 'SpmcRing', 'SingleLatest' or 'Mailbox')"))),
            }
        }
        Json::Null => BufferCfg::SingleLatest,
        other => return Err(bad(format!("expected a buffer name or object, got {other}"))),
    };
    validate_buffer_cfg(&cfg).map_err(|e| bad(e.to_string()))?;
    Ok(cfg)
}

/// How a buffer reads in messages and stats.
pub fn describe(cfg: &BufferCfg) -> String {
    match cfg {
        BufferCfg::SpmcRing { capacity } => format!("SpmcRing(capacity={capacity})"),
        BufferCfg::SingleLatest => "SingleLatest".into(),
        BufferCfg::Mailbox => "Mailbox".into(),
    }
}
