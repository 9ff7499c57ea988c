//! Parsing the JSON options the npm wrapper passes in. Hand-written over [`Json`] so
//! every error names the option that was wrong.

use super::error::FacadeError;
use crate::json::{self, Json, Shown};
use aimdb_core::buffer::BufferCfg;
use aimdb_wasm::buffer::validate_buffer_cfg;
use aimdb_wasm::{LogLevel, TickConfig, TickStrategy};
use serde::de::{Error as _, Unexpected};

/// Default capacity of `buffer: 'SpmcRing'` given without one.
pub const DEFAULT_RING_CAPACITY: usize = 1024;

/// Longest record key, in bytes of UTF-8. aimdb-core interns every record key for the
/// life of the module (never freed), so keys are bounded. The npm wrapper checks the
/// same limit (`MAX_KEY_BYTES` in `index.js`) before a key enters wasm memory.
pub const MAX_KEY_BYTES: usize = 1024;

/// A piece of input as an error text quotes it (cut to [`json::EXCERPT_CHARS`]).
pub(crate) fn ex(s: &str) -> String {
    json::excerpt(&s, json::EXCERPT_CHARS)
}

/// A record key `configureRecord` accepts: not empty, at most [`MAX_KEY_BYTES`].
pub fn check_key(key: &str) -> Result<(), FacadeError> {
    let problem = if key.is_empty() {
        "the key is empty".to_string()
    } else if key.len() > MAX_KEY_BYTES {
        format!("the key is {} bytes of UTF-8, more than the limit of {MAX_KEY_BYTES}", key.len())
    } else {
        return Ok(());
    };
    Err(FacadeError::InvalidKey { key: key.into(), message: problem })
}

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
        Ok(other) => Err(FacadeError::InvalidOptions { what, message: format!("expected an object, got {}", Shown(&other)) }),
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
                    message: format!("logLevel must be 'debug' | 'info' | 'warn' | 'error' | 'off', got '{}'", ex(&s)),
                })
            }
        },
        Some(v) => {
            return Err(FacadeError::InvalidOptions {
                what: "WasmDb options",
                message: format!("logLevel must be a string, got {}", Shown(&v)),
            })
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
        return Err(FacadeError::InvalidOptions { what, message: format!("expected an object, got {}", Shown(&value)) });
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
    /// `backfill`: on every open link, the last n values of the topic (the server's
    /// history) fill the ring before live data; 0 = off. Only with `SpmcRing` and an
    /// inbound link.
    pub backfill: usize,
}

/// Direction of a record's bridge link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    In,
    Out,
    Both,
}

/// Parses `{ schemaType, buffer?, topic?, link?, backfill? }`.
pub fn record_options(key: &str, text: &str) -> Result<RecordOptions, FacadeError> {
    const WHAT: &str = "record options";
    let shown = ex(key);
    let m = object(text, WHAT)?;
    let mut schema_type = None;
    let mut buffer = BufferCfg::SingleLatest;
    let mut topic = None;
    let mut link = Link::In;
    let mut backfill = 0;
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
                            message: format!("record `{shown}`: link must be 'in' | 'out' | 'both', got '{}'", ex(&s)),
                        })
                    }
                }
            }
            ("backfill", Json::Null) => {}
            ("backfill", v) => {
                backfill = match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                    Some(n) => n,
                    None => {
                        return Err(FacadeError::InvalidOptions {
                            what: WHAT,
                            message: format!("record `{shown}`: backfill must be an integer >= 0, got {}", Shown(&v)),
                        })
                    }
                }
            }
            (k @ ("schemaType" | "topic" | "link"), v) => {
                return Err(FacadeError::InvalidOptions {
                    what: WHAT,
                    message: format!("record `{shown}`: {k} must be a string, got {}", Shown(&v)),
                })
            }
            (k, _) => {
                return Err(FacadeError::InvalidOptions {
                    what: WHAT,
                    message: format!("record `{shown}`: unknown option `{}` (expected schemaType, buffer, topic, link, backfill)", ex(k)),
                })
            }
        }
    }
    let schema_type = schema_type.ok_or_else(|| FacadeError::InvalidOptions {
        what: WHAT,
        message: format!("record `{shown}`: schemaType is required"),
    })?;
    if backfill > 0 {
        let problem = match (&buffer, link) {
            (BufferCfg::SpmcRing { .. }, Link::Out) => Some("needs an inbound link ('in' or 'both')"),
            (BufferCfg::SpmcRing { .. }, _) => None,
            _ => Some("needs buffer 'SpmcRing' (a ring to fill)"),
        };
        if let Some(p) = problem {
            return Err(FacadeError::InvalidOptions { what: WHAT, message: format!("record `{shown}`: backfill {p}") });
        }
    }
    Ok(RecordOptions { schema_type, buffer, topic, link, backfill })
}

/// `'SingleLatest' | 'Mailbox' | 'SpmcRing' | { type: 'SpmcRing', capacity } | { type: 'SingleLatest' } | ...`
pub fn buffer_cfg(key: &str, v: Json) -> Result<BufferCfg, FacadeError> {
    let bad = |message: String| FacadeError::InvalidBuffer { key: key.to_string(), message };
    const NAMES: &str = "'SpmcRing', 'SingleLatest' or 'Mailbox'";
    let cfg = match &v {
        Json::Str(s) => match s.as_str() {
            "SingleLatest" => BufferCfg::SingleLatest,
            "Mailbox" => BufferCfg::Mailbox,
            "SpmcRing" => BufferCfg::SpmcRing { capacity: DEFAULT_RING_CAPACITY },
            _ => return Err(bad(format!("unknown buffer '{}' (expected {NAMES})", ex(s)))),
        },
        Json::Obj(m) => {
            for (k, _) in m {
                if k != "type" && k != "capacity" {
                    return Err(bad(format!("unknown buffer option `{}` (expected type, capacity)", ex(k))));
                }
            }
            let ty = match v.get("type") {
                Some(Json::Str(s)) => s.as_str(),
                Some(other) => return Err(bad(format!("buffer type must be a string ({NAMES}), got {}", Shown(other)))),
                None => return Err(bad(format!("the buffer type is missing (expected {NAMES})"))),
            };
            match ty {
                "SpmcRing" => {
                    let capacity = match v.get("capacity") {
                        None => DEFAULT_RING_CAPACITY,
                        Some(c) => match c.as_u64() {
                            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                            None => return Err(bad(format!("capacity must be a non-negative integer, got {}", Shown(c)))),
                        },
                    };
                    BufferCfg::SpmcRing { capacity }
                }
                "SingleLatest" | "Mailbox" if v.get("capacity").is_some() => {
                    return Err(bad(format!("{ty} takes no capacity")));
                }
                "SingleLatest" => BufferCfg::SingleLatest,
                "Mailbox" => BufferCfg::Mailbox,
                _ => return Err(bad(format!("unknown buffer type '{}' (expected {NAMES})", ex(ty)))),
            }
        }
        Json::Null => BufferCfg::SingleLatest,
        other => return Err(bad(format!("expected a buffer name or object, got {}", Shown(other)))),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer_err(text: &str) -> String {
        match buffer_cfg("k", json::parse(text).unwrap()) {
            Err(e) => e.message(),
            Ok(cfg) => panic!("{text}: accepted as {}", describe(&cfg)),
        }
    }

    #[test]
    fn buffer_errors_say_what_was_given() {
        assert_eq!(
            buffer_err(r#"{"type":5}"#),
            "record `k`: invalid buffer: buffer type must be a string ('SpmcRing', 'SingleLatest' or 'Mailbox'), got 5"
        );
        assert_eq!(
            buffer_err(r#"{"capacity":5}"#),
            "record `k`: invalid buffer: the buffer type is missing (expected 'SpmcRing', 'SingleLatest' or 'Mailbox')"
        );
        assert!(buffer_err(r#"{"type":"Ring"}"#).contains("unknown buffer type 'Ring'"));
        assert!(buffer_err(r#"{"type":"SpmcRing","capacity":"8"}"#).ends_with(r#"got "8""#));
        assert!(buffer_err(r#"{"type":"SpmcRing","capacity":[8]}"#).ends_with("got an array"));
        assert!(buffer_err(r#"{"type":"SpmcRing","size":8}"#).contains("unknown buffer option `size`"));
    }

    #[test]
    fn keys_are_bounded() {
        assert_eq!(check_key("a"), Ok(()));
        assert_eq!(check_key(&"é".repeat(MAX_KEY_BYTES / 2)), Ok(()));
        let long = "é".repeat(MAX_KEY_BYTES / 2 + 1);
        let e = check_key(&long).unwrap_err();
        assert_eq!(e.code(), "INVALID_KEY");
        assert!(e.message().contains("1026 bytes of UTF-8, more than the limit of 1024"), "{}", e.message());
        assert!(e.message().chars().count() < 300, "the key is quoted as an excerpt: {}", e.message());
        assert_eq!(check_key("").unwrap_err().code(), "INVALID_KEY");
    }

    #[test]
    fn backfill_needs_an_inbound_ring() {
        let ok = record_options("k", r#"{"schemaType":"temperature","buffer":"SpmcRing","backfill":20,"link":"both"}"#);
        assert_eq!(ok.map(|o| o.backfill), Ok(20));
        let off = record_options("k", r#"{"schemaType":"temperature","backfill":0}"#);
        assert_eq!(off.map(|o| o.backfill), Ok(0));
        for (text, want) in [
            (r#"{"schemaType":"temperature","backfill":5}"#, "backfill needs buffer 'SpmcRing'"),
            (r#"{"schemaType":"temperature","buffer":"SpmcRing","link":"out","backfill":5}"#, "backfill needs an inbound link"),
            (r#"{"schemaType":"temperature","buffer":"SpmcRing","backfill":-1}"#, "backfill must be an integer >= 0, got -1"),
            (r#"{"schemaType":"temperature","buffer":"SpmcRing","backfill":"5"}"#, "backfill must be an integer >= 0"),
        ] {
            let e = record_options("k", text).unwrap_err();
            assert!(e.code() == "INVALID_OPTIONS" && e.message().contains(want), "{text}: {}", e.message());
        }
    }

    /// Every message quoting input stays short, however long the input.
    #[test]
    fn messages_quote_input_in_excerpts() {
        let huge = "x".repeat(1 << 20);
        let texts = [
            format!(r#"{{"schemaType":"temperature","{huge}":1}}"#),
            format!(r#"{{"schemaType":"temperature","link":"{huge}"}}"#),
            format!(r#"{{"schemaType":["{huge}"]}}"#),
            format!(r#"{{"schemaType":"temperature","buffer":"{huge}"}}"#),
            format!(r#"{{"schemaType":"temperature","buffer":{{"type":"{huge}"}}}}"#),
            format!(r#"{{"schemaType":"temperature","buffer":{{"type":"SpmcRing","capacity":"{huge}"}}}}"#),
            format!(r#"{{"schemaType":"temperature","buffer":{{"{huge}":1}}}}"#),
        ];
        for text in &texts {
            let m = record_options(&huge, text).unwrap_err().message();
            assert!(m.chars().count() < 700, "{} chars: {}", m.len(), &m[..300]);
            assert!(m.contains('…'), "cut: {m}");
        }
        for text in [format!(r#"{{"logLevel":"{huge}"}}"#), format!(r#"{{"{huge}":1}}"#), format!(r#"{{"tick":"{huge}"}}"#)] {
            let m = db_options(&text).unwrap_err().message();
            assert!(m.chars().count() < 700 && m.contains('…'), "{}", &m[..m.len().min(300)]);
        }
        let m = db_options(&format!(r#"["{huge}"]"#)).unwrap_err().message();
        assert_eq!(m, "invalid WasmDb options: expected an object, got an array");
        let e = FacadeError::UnknownSchema { key: None, schema: huge.clone() };
        assert!(e.message().len() < 400);
        let e = FacadeError::UnknownKey { key: huge.clone() };
        assert!(e.message().len() < 400);
        let e = FacadeError::Contract { key: Some(huge.clone()), error: crate::contracts::ContractError::new("t", &*huge, &*huge) };
        assert!(e.message().chars().count() < 900, "{}", e.message().len());
    }
}
