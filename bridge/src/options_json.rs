//! Reading [`BridgeOptions`] from the JS options object (as JSON text), on the bridge's
//! own JSON scanner ([`crate::json`]) instead of a derived serde `Deserialize` (whose
//! visitors cost ~5 KB gzipped of wasm). Every field is optional (the defaults of
//! [`BridgeOptions::default`]); an unknown field, a value of the wrong type or an unknown
//! `overflow` policy is [`ConfigError::InvalidOptions`] naming the field. Ranges are
//! [`BridgeOptions::validate`]'s business.

use std::borrow::Cow;

use crate::json::{Cursor, R};
use crate::options::{BackoffOptions, BridgeOptions, ConfigError, OverflowPolicy};

const FIELDS: &str = "`subscribeTopics`, `autoReconnect`, `seed`, `lateJoin`, `syncTimeoutMs`, `maxOfflineQueue`, \
                      `overflow`, `keepaliveMs`, `pongTimeoutMs`, `connectTimeoutMs`, `refusedAfter`, `maxFrameBytes`, `token`";
const BACKOFF_FIELDS: &str = "`initialMs`, `maxMs`, `factor`, `jitter`";

fn wrong<T>(field: &str, expected: &str, got: &str) -> R<T> {
    let got = match got.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    };
    Err(format!("`{field}`: expected {expected}, got {got}"))
}

fn number(c: &mut Cursor<'_>, field: &str) -> R<f64> {
    let v = c.value(1)?;
    match v.as_bytes().first() {
        // `Number`'s `FromStr`, not `from_str::<f64>`: serde_json's typed errors format
        // serde's `Unexpected`, which would link core's float formatting (~10 KB gzipped).
        Some(b'-' | b'0'..=b'9') => v
            .parse::<serde_json::Number>()
            .ok()
            .and_then(|n| n.as_f64())
            .ok_or_else(|| format!("`{field}`: {v} is out of range")),
        _ => wrong(field, "a number", v),
    }
}

/// A non-negative integer up to `max`.
fn integer(c: &mut Cursor<'_>, field: &str, max: u64) -> R<u64> {
    let v = c.value(1)?;
    match v.parse::<u64>() {
        Ok(n) if n <= max && v.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ if v.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) => {
            Err(format!("`{field}`: expected an integer in [0, {max}], got {v}"))
        }
        _ => wrong(field, "an integer", v),
    }
}

fn boolean(c: &mut Cursor<'_>, field: &str) -> R<bool> {
    match c.value(1)? {
        "true" => Ok(true),
        "false" => Ok(false),
        v => wrong(field, "a boolean", v),
    }
}

fn string<'a>(c: &mut Cursor<'a>, field: &str) -> R<Cow<'a, str>> {
    let v = c.value(1)?;
    if !v.starts_with('"') {
        return wrong(field, "a string", v);
    }
    Cursor::new(v).string()
}

/// `null` (or absent) is `None`.
fn nullable<'a, T>(c: &mut Cursor<'a>, read: impl FnOnce(&mut Cursor<'a>) -> R<T>) -> R<Option<T>> {
    c.ws();
    if c.eat_null() {
        return Ok(None);
    }
    read(c).map(Some)
}

/// An array of strings (`subscribeTopics`, and the patterns of `WsBridge.subscribe`).
pub(crate) fn strings(c: &mut Cursor<'_>, field: &str) -> R<Vec<String>> {
    c.ws();
    let v = c.value(1)?;
    if !v.starts_with('[') {
        return wrong(field, "an array of strings", v);
    }
    let mut out = Vec::new();
    Cursor::new(v).array(0, |c| {
        out.push(string(c, field)?.into_owned());
        Ok(())
    })?;
    Ok(out)
}

fn backoff(c: &mut Cursor<'_>) -> R<Option<BackoffOptions>> {
    c.ws();
    let v = c.value(1)?;
    match v {
        "true" => return Ok(Some(BackoffOptions::default())),
        "false" => return Ok(None),
        _ if v.starts_with('{') => {}
        _ => return wrong("autoReconnect", "a boolean or an object", v),
    }
    let mut b = BackoffOptions::default();
    Cursor::new(v).object(0, |c, key| {
        match &*key {
            "initialMs" => b.initial_ms = number(c, "autoReconnect.initialMs")?,
            "maxMs" => b.max_ms = number(c, "autoReconnect.maxMs")?,
            "factor" => b.factor = number(c, "autoReconnect.factor")?,
            "jitter" => b.jitter = number(c, "autoReconnect.jitter")?,
            other => return Err(format!("unknown field `autoReconnect.{other}`, expected one of {BACKOFF_FIELDS}")),
        }
        Ok(())
    })?;
    Ok(Some(b))
}

impl BridgeOptions {
    /// Reads the JS options object given as JSON text (`{}`: all defaults). Does not
    /// validate ranges (see [`validate`](Self::validate), which [`Bridge::new`](crate::Bridge::new) calls).
    ///
    /// ```
    /// use aimdb_wasm_bridge::{BridgeOptions, OverflowPolicy};
    /// let o = BridgeOptions::from_json(r#"{"subscribeTopics":["a/+"],"overflow":"reject","autoReconnect":{"maxMs":1000}}"#).unwrap();
    /// assert_eq!((o.subscribe_topics.len(), o.overflow, o.auto_reconnect.unwrap().max_ms), (1, OverflowPolicy::Reject, 1000.0));
    /// assert!(BridgeOptions::from_json(r#"{"keepAlive":1}"#).unwrap_err().to_string().contains(r#"unknown field "keepAlive""#));
    /// ```
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let mut o = BridgeOptions::default();
        let mut c = Cursor::new(text);
        c.ws();
        if !c.eat_null() {
            let read = c.object(0, |c, key| {
                match &*key {
                    "subscribeTopics" => o.subscribe_topics = strings(c, "subscribeTopics")?,
                    "autoReconnect" => o.auto_reconnect = backoff(c)?,
                    "seed" => o.seed = nullable(c, |c| integer(c, "seed", u64::MAX))?,
                    "lateJoin" => o.late_join = boolean(c, "lateJoin")?,
                    "syncTimeoutMs" => o.sync_timeout_ms = number(c, "syncTimeoutMs")?,
                    "maxOfflineQueue" => {
                        o.max_offline_queue = integer(c, "maxOfflineQueue", u32::MAX.into())? as usize
                    }
                    "overflow" => {
                        o.overflow = match &*string(c, "overflow")? {
                            "dropOldest" => OverflowPolicy::DropOldest,
                            "dropNewest" => OverflowPolicy::DropNewest,
                            "reject" => OverflowPolicy::Reject,
                            other => {
                                return Err(format!(
                                    "`overflow`: unknown policy {}, expected `dropOldest`, `dropNewest` or `reject`",
                                    crate::error::Quoted(other)
                                ))
                            }
                        }
                    }
                    "keepaliveMs" => o.keepalive_ms = number(c, "keepaliveMs")?,
                    "pongTimeoutMs" => o.pong_timeout_ms = number(c, "pongTimeoutMs")?,
                    "connectTimeoutMs" => o.connect_timeout_ms = number(c, "connectTimeoutMs")?,
                    "refusedAfter" => o.refused_after = integer(c, "refusedAfter", u32::MAX.into())? as u32,
                    "maxFrameBytes" => o.max_frame_bytes = integer(c, "maxFrameBytes", u32::MAX.into())? as usize,
                    "token" => o.token = nullable(c, |c| string(c, "token").map(Cow::into_owned))?,
                    other => {
                        return Err(format!("unknown field {}, expected one of {FIELDS}", crate::error::Quoted(other)))
                    }
                }
                Ok(())
            });
            read.map_err(|message| ConfigError::InvalidOptions { message })?;
        }
        c.end().map_err(|message| ConfigError::InvalidOptions { message })?;
        Ok(o)
    }
}

/// Reads a JSON array of strings (the patterns of `WsBridge.subscribe`/`unsubscribe`).
pub fn strings_from_json(text: &str, what: &str) -> Result<Vec<String>, ConfigError> {
    let mut c = Cursor::new(text);
    let v = strings(&mut c, what).and_then(|v| c.end().map(|()| v));
    v.map_err(|message| ConfigError::InvalidOptions { message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_every_field() {
        assert_eq!(BridgeOptions::from_json("{}"), Ok(BridgeOptions::default()));
        assert_eq!(BridgeOptions::from_json(" null "), Ok(BridgeOptions::default()));
        let o = BridgeOptions::from_json(
            r#"{"subscribeTopics":["a/+","b\u00e9"],"autoReconnect":{"initialMs":100,"maxMs":1000,"factor":1.5,"jitter":0},
                "seed":18446744073709551615,"lateJoin":false,"syncTimeoutMs":0,"maxOfflineQueue":2,"overflow":"dropNewest",
                "keepaliveMs":1.5,"pongTimeoutMs":2e3,"connectTimeoutMs":7,"refusedAfter":9,"maxFrameBytes":1000,"token":"t"}"#,
        )
        .unwrap();
        let want = BridgeOptions {
            subscribe_topics: vec!["a/+".into(), "bé".into()],
            auto_reconnect: Some(BackoffOptions { initial_ms: 100.0, max_ms: 1000.0, factor: 1.5, jitter: 0.0 }),
            seed: Some(u64::MAX),
            late_join: false,
            sync_timeout_ms: 0.0,
            max_offline_queue: 2,
            overflow: OverflowPolicy::DropNewest,
            keepalive_ms: 1.5,
            pong_timeout_ms: 2000.0,
            connect_timeout_ms: 7.0,
            refused_after: 9,
            max_frame_bytes: 1000,
            token: Some("t".into()),
        };
        assert_eq!(o, want);
        let o = BridgeOptions::from_json(r#"{"autoReconnect":false,"seed":null,"token":null,"overflow":"reject"}"#).unwrap();
        assert_eq!((o.auto_reconnect, o.seed, o.token, o.overflow), (None, None, None, OverflowPolicy::Reject));
        assert_eq!(BridgeOptions::from_json(r#"{"autoReconnect":true}"#).unwrap().auto_reconnect, Some(BackoffOptions::default()));
        assert_eq!(BridgeOptions::from_json(r#"{"autoReconnect":{}}"#).unwrap().auto_reconnect, Some(BackoffOptions::default()));
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        for (text, says) in [
            (r#"{"keepAlive":1}"#, "unknown field \"keepAlive\""),
            (r#"{"autoReconnect":{"initial":1}}"#, "unknown field `autoReconnect.initial`"),
            (r#"{"autoReconnect":1}"#, "`autoReconnect`: expected a boolean or an object, got a number"),
            (r#"{"overflow":"drop"}"#, "`overflow`: unknown policy \"drop\""),
            (r#"{"overflow":1}"#, "`overflow`: expected a string, got a number"),
            (r#"{"keepaliveMs":"1"}"#, "`keepaliveMs`: expected a number, got a string"),
            (r#"{"keepaliveMs":null}"#, "`keepaliveMs`: expected a number, got null"),
            (r#"{"lateJoin":1}"#, "`lateJoin`: expected a boolean, got a number"),
            (r#"{"maxFrameBytes":-1}"#, "`maxFrameBytes`: expected an integer in [0, 4294967295], got -1"),
            (r#"{"maxFrameBytes":1.5}"#, "`maxFrameBytes`: expected an integer"),
            (r#"{"refusedAfter":4294967296}"#, "`refusedAfter`: expected an integer in [0, 4294967295]"),
            (r#"{"seed":"1"}"#, "`seed`: expected an integer, got a string"),
            (r#"{"subscribeTopics":"a"}"#, "`subscribeTopics`: expected an array of strings, got a string"),
            (r#"{"subscribeTopics":[1]}"#, "`subscribeTopics`: expected a string, got a number"),
            (r#"{"token":5}"#, "`token`: expected a string, got a number"),
            (r#"{"syncTimeoutMs":1e400}"#, "`syncTimeoutMs`: 1e400 is out of range"),
            (r#"[]"#, "expected `{`"),
            (r#"{"lateJoin":true} x"#, "trailing characters"),
            (r#"{"lateJoin":tru}"#, "expected value"),
        ] {
            let e = BridgeOptions::from_json(text).unwrap_err();
            assert_eq!(e.code(), "INVALID_OPTIONS", "{text}");
            let e = e.to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn numbers_read_as_serde_json_reads_an_f64() {
        for v in ["0", "-0", "12", "1.5", "2500.25", "1e3", "-1.5E-7", "18446744073709551616", "-9223372036854775809", "1.7976931348623157e308"] {
            let o = BridgeOptions::from_json(&format!(r#"{{"keepaliveMs":{v}}}"#)).unwrap();
            let want: f64 = serde_json::from_str(v).unwrap();
            assert_eq!(o.keepalive_ms.to_bits(), want.to_bits(), "{v}");
        }
    }

    #[test]
    fn patterns_from_json() {
        assert_eq!(strings_from_json(r#"["a","b/#"]"#, "topics"), Ok(vec!["a".to_string(), "b/#".into()]));
        assert_eq!(strings_from_json("[]", "topics"), Ok(vec![]));
        for bad in ["", "\"a\"", "[1]", "[\"a\"] x", "{}"] {
            assert!(strings_from_json(bad, "topics").is_err(), "{bad}");
        }
    }
}
