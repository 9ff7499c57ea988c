//! Parsing the JSON options the npm wrapper passes in. Hand-written over
//! `serde_json::Value` so every error names the option that was wrong.

use super::error::FacadeError;
use aimdb_core::buffer::BufferCfg;
use aimdb_wasm::buffer::validate_buffer_cfg;
use aimdb_wasm::{LogLevel, TickConfig};
use serde_json::{Map, Value};

/// Default capacity of `buffer: 'SpmcRing'` given without one.
pub const DEFAULT_RING_CAPACITY: usize = 1024;

/// `new WasmDb(options)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DbOptions {
    pub tick: TickConfig,
    pub log_level: LogLevel,
}

fn object(text: &str, what: &'static str) -> Result<Map<String, Value>, FacadeError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(FacadeError::InvalidOptions { what, message: format!("expected an object, got {other}") }),
        Err(e) => Err(FacadeError::InvalidOptions { what, message: e.to_string() }),
    }
}

/// Parses `{ tick?, budgetMs?, maxPollsPerTick?, logLevel? }`.
pub fn db_options(text: &str) -> Result<DbOptions, FacadeError> {
    let mut m = object(text, "WasmDb options")?;
    let log_level = match m.remove("logLevel") {
        None | Some(Value::Null) => LogLevel::Info,
        Some(Value::String(s)) => match s.as_str() {
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
    let tick = tick_config(Value::Object(m), TickConfig::default(), "WasmDb options")?;
    Ok(DbOptions { tick, log_level })
}

/// Parses ticking options over `base` (unspecified fields keep their value).
pub fn tick_config(value: Value, base: TickConfig, what: &'static str) -> Result<TickConfig, FacadeError> {
    let mut merged = match serde_json::to_value(base) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let Value::Object(m) = value else {
        return Err(FacadeError::InvalidOptions { what, message: format!("expected an object, got {value}") });
    };
    for (k, v) in m {
        let k = match k.as_str() {
            "tick" => "strategy".to_string(),
            _ => k,
        };
        merged.insert(k, v);
    }
    let cfg: TickConfig = serde_json::from_value(Value::Object(merged))
        .map_err(|e| FacadeError::InvalidOptions { what, message: e.to_string() })?;
    cfg.validate().map_err(|e| FacadeError::InvalidOptions {
        what,
        message: match e {
            aimdb_wasm::executors::ConfigError::Budget(b) => format!("{e}, got {}", crate::contracts::num(b)),
            _ => e.to_string(),
        },
    })?;
    Ok(cfg)
}

/// Parses `setTicking({...})` text.
pub fn set_ticking(text: &str, base: TickConfig) -> Result<TickConfig, FacadeError> {
    let m = object(text, "ticking options")?;
    tick_config(Value::Object(m), base, "ticking options")
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
            ("schemaType", Value::String(s)) => schema_type = Some(s),
            ("buffer", v) => buffer = buffer_cfg(key, v)?,
            ("topic", Value::String(s)) => topic = Some(s),
            ("topic", Value::Null) => {}
            ("link", Value::String(s)) => {
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
pub fn buffer_cfg(key: &str, v: Value) -> Result<BufferCfg, FacadeError> {
    let bad = |message: String| FacadeError::InvalidBuffer { key: key.to_string(), message };
    let cfg = match &v {
        Value::String(s) => match s.as_str() {
            "SingleLatest" => BufferCfg::SingleLatest,
            "Mailbox" => BufferCfg::Mailbox,
            "SpmcRing" => BufferCfg::SpmcRing { capacity: DEFAULT_RING_CAPACITY },
            _ => return Err(bad(format!("unknown buffer '{s}' (expected 'SingleLatest', 'Mailbox' or 'SpmcRing')"))),
        },
        Value::Object(m) => {
            let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
            for k in m.keys() {
                if k != "type" && k != "capacity" {
                    return Err(bad(format!("unknown buffer option `{k}`")));
                }
            }
            match ty {
                "SpmcRing" => {
                    let capacity = match m.get("capacity") {
                        None => DEFAULT_RING_CAPACITY,
                        Some(c) => match c.as_u64() {
                            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                            None => return Err(bad(format!("capacity must be a non-negative integer, got {c}"))),
                        },
                    };
                    BufferCfg::SpmcRing { capacity }
                }
                "SingleLatest" | "Mailbox" if m.contains_key("capacity") => {
                    return Err(bad(format!("{ty} takes no capacity")));
                }
                "SingleLatest" => BufferCfg::SingleLatest,
                "Mailbox" => BufferCfg::Mailbox,
                _ => return Err(bad(format!("unknown buffer type '{ty}' (expected 'SpmcRing', 'SingleLatest' or 'Mailbox')"))),
            }
        }
        Value::Null => BufferCfg::SingleLatest,
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
