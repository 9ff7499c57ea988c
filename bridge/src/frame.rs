//! Parsing of server frames into [`ServerMessage`] without serde's internally tagged
//! enum machinery (which buffers every frame into serde's private `Content` tree and
//! costs ~70 KB of wasm) and without typed serde_json deserialization (whose error path
//! brings `core`'s float formatting): the frame is parsed as a `serde_json::Value`
//! (which the payloads are anyway), then the variant's fields are taken out of it.
//! Accepts what `ServerMessage`'s derived `Deserialize` accepts from an object (unknown
//! fields ignored, a missing or `null` optional field is `None`), with serde's messages;
//! outgoing frames are still serialized from `ClientMessage`. Differences, for frames no
//! server sends: serde's sequence form of a tagged enum (`["data","t",null,5]`) is
//! refused as malformed, and of duplicate keys the last one wins.

use aimdb_ws_protocol::{ErrorCode, QueryRecord, ServerMessage, TopicInfo};
use serde_json::{Map, Value};

use crate::error::Quoted;

type R<T> = Result<T, String>;

/// serde's description of a JSON value in an "invalid type" message.
fn unexpected(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        // Quoted and cut: a message never copies a whole (possibly huge) string.
        Value::String(s) => format!("string {}", Quoted(s)),
        Value::Array(_) => "sequence".into(),
        Value::Object(_) => "map".into(),
    }
}

fn invalid(v: &Value, expected: &str) -> String {
    format!("invalid type: {}, expected {expected}", unexpected(v))
}

fn missing(field: &str) -> String {
    format!("missing field `{field}`")
}

fn string(m: &mut Map<String, Value>, field: &str) -> R<String> {
    match m.remove(field) {
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(invalid(&v, "a string")),
        None => Err(missing(field)),
    }
}

fn opt_string(m: &mut Map<String, Value>, field: &str) -> R<Option<String>> {
    match m.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(invalid(&v, "a string")),
    }
}

fn uint(m: &mut Map<String, Value>, field: &str, max: u64, what: &str) -> R<u64> {
    match m.remove(field) {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|x| x <= max) => Ok(n.as_u64().unwrap_or(0)),
        Some(v @ Value::Number(_)) if v.as_u64().is_some() || v.as_i64().is_some() => {
            Err(format!("invalid value: {}, expected {what}", unexpected(&v)))
        }
        Some(v) => Err(invalid(&v, what)),
        None => Err(missing(field)),
    }
}

fn opt_payload(m: &mut Map<String, Value>) -> Option<Value> {
    m.remove("payload").filter(|v| !v.is_null())
}

fn array(m: &mut Map<String, Value>, field: &str) -> R<Vec<Value>> {
    match m.remove(field) {
        Some(Value::Array(a)) => Ok(a),
        Some(v) => Err(invalid(&v, "a sequence")),
        None => Err(missing(field)),
    }
}

fn object(v: Value, what: &str) -> R<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        v => Err(invalid(&v, what)),
    }
}

fn error_code(m: &mut Map<String, Value>) -> R<ErrorCode> {
    let code = string(m, "code")?;
    Ok(match code.as_str() {
        "UNAUTHORIZED" => ErrorCode::Unauthorized,
        "FORBIDDEN" => ErrorCode::Forbidden,
        "UNKNOWN_TOPIC" => ErrorCode::UnknownTopic,
        "SERIALIZATION_ERROR" => ErrorCode::SerializationError,
        "WRITE_ERROR" => ErrorCode::WriteError,
        "SERVER_ERROR" => ErrorCode::ServerError,
        other => {
            let other = crate::error::excerpt(other);
            return Err(format!(
                "unknown variant `{other}`, expected one of `UNAUTHORIZED`, `FORBIDDEN`, `UNKNOWN_TOPIC`, \
                 `SERIALIZATION_ERROR`, `WRITE_ERROR`, `SERVER_ERROR`"
            ))
        }
    })
}

/// Parses one text frame as a [`ServerMessage`]; the error is the reason it is not one.
pub(crate) fn parse(text: &str) -> R<ServerMessage> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut m = object(v, "internally tagged enum ServerMessage")?;
    let ty = match m.remove("type") {
        Some(Value::String(s)) => s,
        Some(v) => return Err(invalid(&v, "variant identifier")),
        None => return Err(missing("type")),
    };
    let m = &mut m;
    Ok(match ty.as_str() {
        "data" => {
            let topic = string(m, "topic")?;
            let payload = opt_payload(m);
            ServerMessage::Data { topic, payload, ts: uint(m, "ts", u64::MAX, "u64")? }
        }
        "snapshot" => ServerMessage::Snapshot { topic: string(m, "topic")?, payload: opt_payload(m) },
        "subscribed" => ServerMessage::Subscribed { topics: strings(array(m, "topics")?)? },
        "error" => {
            let code = error_code(m)?;
            let topic = opt_string(m, "topic")?;
            ServerMessage::Error { code, topic, message: string(m, "message")? }
        }
        "pong" => ServerMessage::Pong,
        "query_result" => {
            let id = string(m, "id")?;
            let mut records = Vec::new();
            for r in array(m, "records")? {
                let mut r = object(r, "struct QueryRecord")?;
                let topic = string(&mut r, "topic")?;
                let payload = r.remove("payload").ok_or_else(|| missing("payload"))?;
                records.push(QueryRecord { topic, payload, ts: uint(&mut r, "ts", u64::MAX, "u64")? });
            }
            ServerMessage::QueryResult { id, records, total: uint(m, "total", usize::MAX as u64, "usize")? as usize }
        }
        "topic_list" => {
            let id = string(m, "id")?;
            let mut topics = Vec::new();
            for t in array(m, "topics")? {
                let mut t = object(t, "struct TopicInfo")?;
                let name = string(&mut t, "name")?;
                let schema_type = opt_string(&mut t, "schema_type")?;
                topics.push(TopicInfo { name, schema_type, entity: opt_string(&mut t, "entity")? });
            }
            ServerMessage::TopicList { id, topics }
        }
        other => {
            let other = crate::error::excerpt(other);
            return Err(format!(
                "unknown variant `{other}`, expected one of `data`, `snapshot`, `subscribed`, `error`, `pong`, \
                 `query_result`, `topic_list`"
            ))
        }
    })
}

fn strings(a: Vec<Value>) -> R<Vec<String>> {
    a.into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            v => Err(invalid(&v, "a string")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same result as the derived `Deserialize` of `ServerMessage` (Ok value or Err).
    #[test]
    fn agrees_with_the_derived_deserialize() {
        let frames = [
            r#"{"type":"data","topic":"a/b","payload":{"x":[1,2.5,null,"s"]},"ts":7}"#,
            r#"{"topic":"a/b","ts":7,"type":"data"}"#,
            r#"{"type":"data","topic":"a/b","payload":null,"ts":7,"extra":{"type":"x"}}"#,
            r#"{"type":"data","topic":"a/b"}"#,
            r#"{"type":"snapshot","topic":"t","payload":3}"#,
            r#"{"type":"snapshot"}"#,
            r#"{"type":"subscribed","topics":["a","b/#"]}"#,
            r#"{"type":"subscribed","topics":[1]}"#,
            r#"{"type":"error","code":"FORBIDDEN","topic":"t","message":"no"}"#,
            r#"{"type":"error","code":"NOPE","message":"no"}"#,
            r#"{"type":"error","code":"SERVER_ERROR","message":"m"}"#,
            r#"{"type":"pong"}"#,
            r#"{"type":"pong","x":1}"#,
            r#"{"type":"query_result","id":"q","records":[{"topic":"t","payload":{},"ts":1}],"total":1}"#,
            r#"{"type":"topic_list","id":"q","topics":[{"name":"n","schema_type":"s"}]}"#,
            r#"{"type":"bogus"}"#,
            r#"{"type":"Data","topic":"a","ts":1}"#,
            r#"{"type":5}"#,
            r#"{}"#,
            "not json",
            "",
            "[]",
            "null",
            r#"{"type":"pong"} x"#,
            r#"{"type":"data","topic":"a","ts":-1}"#,
            r#"{"type":"data","topic":"a","ts":1.0}"#,
            r#"{"type":"data","topic":5,"ts":1}"#,
            r#"{"type":"data","topic":null,"ts":1}"#,
            r#"{"type":"data","topic":"a","ts":1,"payload":[{"k":1e400}]}"#,
            r#"{"type":"error","code":"FORBIDDEN","topic":null,"message":"no"}"#,
            r#"{"type":"error","code":"FORBIDDEN","topic":1,"message":"no"}"#,
            r#"{"type":"query_result","id":"q","records":[{"topic":"t","ts":1}],"total":1}"#,
            r#"{"type":"query_result","id":"q","records":[{"topic":"t","payload":null,"ts":1}],"total":-1}"#,
            r#"{"type":"topic_list","id":"q","topics":[{"name":"n","entity":null}]}"#,
            r#"{"type":"topic_list","id":"q","topics":["n"]}"#,
            r#"{"type":"subscribed","topics":"a"}"#,
            r#"{"type":"subscribed"}"#,
        ];
        for f in frames {
            let ours = parse(f).ok();
            let theirs = serde_json::from_str::<ServerMessage>(f).ok();
            assert_eq!(ours, theirs, "{f}");
        }
        // The differences: serde's sequence form of an internally tagged enum, which
        // the server never sends, is malformed here; of duplicate keys the last wins.
        assert!(parse(r#"["data","t",null,5]"#).is_err());
        assert!(serde_json::from_str::<ServerMessage>(r#"{"type":"data","topic":"a","ts":7,"ts":8}"#).is_err());
        assert_eq!(
            parse(r#"{"type":"data","topic":"a","ts":7,"ts":8}"#),
            Ok(ServerMessage::Data { topic: "a".into(), payload: None, ts: 8 })
        );
    }
}
