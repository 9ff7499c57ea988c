//! `aimdb-test-server`: the real AimDB WebSocket server the browser tests talk to.
//!
//! Built from crates.io `aimdb-core` 1.1.0 + `aimdb-tokio-adapter` 0.6.0 +
//! `aimdb-websocket-connector` 0.2.0 (feature `server`), so the wire format is exactly
//! what a production AimDB server speaks (see /work/shared/PROTOCOL.md).
//!
//! CLI:
//!   --port N            bind 127.0.0.1:N (0 = pick a free port; the harness passes one)
//!   --token SECRET      accept only upgrades with `?token=SECRET` (others: HTTP 401)
//!   --writes-log PATH   append every accepted write as one JSON line
//!                       `{"topic":...,"payload":...}` (flushed per line)
//!
//! WebSocket endpoint: `ws://127.0.0.1:PORT/ws`. Topics (link URL minus `ws://`):
//!   out  sensors/temperature/vienna  {schema_version:2, celsius:f32, timestamp:u64 ms}  100 ms
//!   out  sensors/temperature/berlin  same shape                                         100 ms
//!   out  sensors/humidity/vienna     {percent:f32, timestamp:u64 ms}                    100 ms
//!   out  sensors/bad/vienna          {"schema_version":2,"celsius":"hot","timestamp":N} 200 ms
//!                                    (violates the temperature contract on purpose)
//!   in   commands/setpoint/room1     the `setpoint` contract {target_celsius:f32, timestamp:u64};
//!                                    also takes the temperature shape {celsius, ...} (extra
//!                                    fields ignored); every accepted write is logged
//!   out  echo/setpoint/room1         {target_celsius, timestamp} of each accepted write
//! Writes are allowed only on `commands/#` (others get `error` FORBIDDEN).
//!
//! `list_topics`: every `out` topic above, with `schema_type` from the schemas registered on the
//! connector (`temperature`, `humidity`, `setpoint`); `sensors/bad/vienna` has none (its type is
//! not a registered schema), so a client sees one topic of unknown type.
//!
//! `query` (the connector's `with_query_handler`): the server keeps, per `out` topic, the last
//! [`HISTORY_PER_TOPIC`] values it sent (the exact JSON its serializer wrote, `ts` = the value's
//! `timestamp`; `bad/vienna` included, contract violation and all). A query takes `pattern`
//! (`*` or `#` = all; otherwise the protocol's wildcards, as in `subscribe`: `a/#`, `a/*/c`), `from`/`to` (ms, inclusive, on
//! `ts`) and `limit` (per topic: the newest `limit` of the matching values). `query_result`
//! lists topics by name, each topic's records oldest first; `total` counts the matching records
//! before `limit` was applied.
//!
//! Once the server accepts connections it prints `LISTENING 127.0.0.1:PORT` on stdout.

use std::{
    fs::{File, OpenOptions},
    future::Future,
    io::{Read, Write},
    net::{SocketAddr, TcpListener as StdListener, TcpStream},
    pin::Pin,
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use std::collections::{BTreeMap, VecDeque};

use aimdb_core::{buffer::BufferCfg, AimDbBuilder};
use aimdb_data_contracts::{SchemaType, Streamable};
use aimdb_tokio_adapter::{TokioAdapter, TokioRecordRegistrarExt};
use aimdb_websocket_connector::{
    AuthError, AuthHandler, AuthRequest, Permissions, QueryHandler, QueryRecord,
    WebSocketConnector,
};
use aimdb_ws_protocol::topic_matches;
use axum::{routing::get, Router};
use serde::{Deserialize, Serialize};

const WS_PATH: &str = "/ws";
const PROBE_PATH: &str = "/__aimdb_test_server/instance";

// ── Record types ────────────────────────────────────────────────────

/// `temperature` contract, version 2.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Temperature {
    schema_version: u32,
    celsius: f32,
    timestamp: u64,
}

/// `humidity` contract.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Humidity {
    percent: f32,
    timestamp: u64,
}

/// A temperature reading that is serialized so that it breaks the contract
/// (`celsius` is a string). Only its own serializer knows how to write it.
#[derive(Clone, Debug)]
struct BadTemperature {
    timestamp: u64,
}

/// Inbound setpoint command, the `setpoint` contract `{target_celsius, timestamp}`.
/// Also accepts the temperature v2 shape (`celsius` as an alias; unknown fields such
/// as `schema_version` are ignored). Serialized (the echo) as the setpoint contract.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Setpoint {
    #[serde(alias = "celsius")]
    target_celsius: f32,
    timestamp: u64,
}

impl SchemaType for Temperature {
    const NAME: &'static str = "temperature";
    const VERSION: u32 = 2;
}
impl Streamable for Temperature {}

impl SchemaType for Humidity {
    const NAME: &'static str = "humidity";
}
impl Streamable for Humidity {}

impl SchemaType for Setpoint {
    const NAME: &'static str = "setpoint";
}
impl Streamable for Setpoint {}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Simulated sensor value: a slow sine around `base`, rounded to 0.1.
fn simulate(base: f32, amplitude: f32, period_ms: u64, phase: f32) -> f32 {
    let t = (now_ms() % period_ms) as f32 / period_ms as f32;
    let v = base + amplitude * (t * std::f32::consts::TAU + phase).sin();
    (v * 10.0).round() / 10.0
}

// ── Auth ─────────────────────────────────────────────────────────────

struct TestAuth {
    token: Option<String>,
}

impl AuthHandler for TestAuth {
    fn authenticate<'a>(
        &'a self,
        req: &'a AuthRequest,
    ) -> Pin<Box<dyn Future<Output = Result<Permissions, AuthError>> + Send + 'a>> {
        Box::pin(async move {
            if let Some(expected) = &self.token {
                match req.query_params.get("token") {
                    Some(t) if t == expected => {}
                    Some(_) => return Err(AuthError::new("invalid token")),
                    None => return Err(AuthError::new("missing token")),
                }
            }
            Ok(Permissions {
                subscribe_patterns: vec!["#".into()],
                write_patterns: vec!["commands/#".into()],
            })
        })
    }
}

// ── History (the query handler) ──────────────────────────────────────

/// How many values the server keeps per topic for `query` (a minute at 10 Hz).
const HISTORY_PER_TOPIC: usize = 600;

/// The values the server sent, per topic (bounded), for the connector's query handler.
#[derive(Clone, Default)]
struct History(Arc<Mutex<BTreeMap<String, VecDeque<QueryRecord>>>>);

impl History {
    /// Keeps `bytes` (what the serializer wrote for `topic`) with `ts`; drops the oldest value of
    /// the topic past [`HISTORY_PER_TOPIC`].
    fn push(&self, topic: &str, ts: u64, bytes: &[u8]) {
        let payload: serde_json::Value = serde_json::from_slice(bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into()));
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let ring = map.entry(topic.to_string()).or_default();
        if ring.len() == HISTORY_PER_TOPIC {
            ring.pop_front();
        }
        ring.push_back(QueryRecord { topic: topic.to_string(), payload, ts });
    }

    /// `(records, total)` as the module doc describes.
    fn query(&self, pattern: &str, from: Option<u64>, to: Option<u64>, limit: Option<usize>) -> (Vec<QueryRecord>, usize) {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut records = Vec::new();
        let mut total = 0;
        for (topic, ring) in map.iter() {
            if !(pattern == "*" || topic_matches(pattern, topic)) {
                continue;
            }
            let matching: Vec<&QueryRecord> = ring
                .iter()
                .filter(|r| from.is_none_or(|f| r.ts >= f) && to.is_none_or(|t| r.ts <= t))
                .collect();
            total += matching.len();
            let skip = limit.map_or(0, |l| matching.len().saturating_sub(l));
            records.extend(matching.into_iter().skip(skip).cloned());
        }
        (records, total)
    }
}

impl QueryHandler for History {
    fn handle_query<'a>(
        &'a self,
        pattern: &'a str,
        from: Option<u64>,
        to: Option<u64>,
        limit: Option<usize>,
    ) -> Pin<Box<dyn Future<Output = Result<(Vec<QueryRecord>, usize), String>> + Send + 'a>> {
        Box::pin(async move { Ok(self.query(pattern, from, to, limit)) })
    }
}

/// A serializer for `topic` that also keeps what it wrote in `history` (with `ts(value)`).
fn serializer<T: 'static>(
    history: &History,
    topic: &'static str,
    write: fn(&T) -> Result<Vec<u8>, aimdb_core::connector::SerializeError>,
    ts: fn(&T) -> u64,
) -> impl Fn(&T) -> Result<Vec<u8>, aimdb_core::connector::SerializeError> + Send + Sync + 'static {
    let history = history.clone();
    move |v: &T| {
        let bytes = write(v)?;
        history.push(topic, ts(v), &bytes);
        Ok(bytes)
    }
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, aimdb_core::connector::SerializeError> {
    serde_json::to_vec(v).map_err(|_| aimdb_core::connector::SerializeError::InvalidData)
}

// ── Writes log ───────────────────────────────────────────────────────

#[derive(Clone)]
struct WritesLog(Option<Arc<Mutex<File>>>);

impl WritesLog {
    fn record(&self, topic: &str, payload_bytes: &[u8]) {
        let Some(file) = &self.0 else { return };
        let payload: serde_json::Value = serde_json::from_slice(payload_bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(payload_bytes).into()));
        // Written by hand so that `topic` comes first (serde_json sorts object keys).
        let line = format!(
            r#"{{"topic":{},"payload":{}}}"#,
            serde_json::Value::from(topic),
            payload
        );
        let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(f, "{line}");
        let _ = f.flush();
    }
}

// ── CLI ──────────────────────────────────────────────────────────────

struct Args {
    port: u16,
    token: Option<String>,
    writes_log: Option<String>,
}

fn usage() -> &'static str {
    "usage: aimdb-test-server --port N [--token SECRET] [--writes-log PATH]"
}

fn parse_args() -> Result<Args, String> {
    let mut port = None;
    let mut token = None;
    let mut writes_log = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match key.as_str() {
            "--port" => {
                let v = value("--port")?;
                port = Some(v.parse::<u16>().map_err(|_| format!("bad --port {v:?}"))?);
            }
            "--token" => token = Some(value("--token")?),
            "--writes-log" => writes_log = Some(value("--writes-log")?),
            "-h" | "--help" => return Err(usage().into()),
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    Ok(Args {
        port: port.ok_or_else(|| format!("--port is required\n{}", usage()))?,
        token,
        writes_log,
    })
}

// ── Readiness probe ──────────────────────────────────────────────────

/// One HTTP GET of the probe route; true when the body carries our nonce,
/// i.e. this very process (not some other listener) owns the port.
fn probe(addr: SocketAddr, nonce: &str) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(1000)));
    let req = format!("GET {PROBE_PATH} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).contains(nonce)
}

// ── Main ─────────────────────────────────────────────────────────────

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("aimdb-test-server: {e}");
            return ExitCode::from(2);
        }
    };

    // The connector binds inside a background task and silently gives up if the
    // port is taken. Check first so that case fails loudly. (Port 0: pick one.)
    let port = match StdListener::bind(("127.0.0.1", args.port)) {
        Ok(l) => {
            let p = l.local_addr().map(|a| a.port()).unwrap_or(args.port);
            drop(l);
            p
        }
        Err(e) => {
            eprintln!("aimdb-test-server: cannot bind 127.0.0.1:{}: {e}", args.port);
            return ExitCode::from(3);
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let writes_log = match &args.writes_log {
        None => WritesLog(None),
        Some(path) => match OpenOptions::new().create(true).append(true).open(path) {
            Ok(f) => WritesLog(Some(Arc::new(Mutex::new(f)))),
            Err(e) => {
                eprintln!("aimdb-test-server: cannot open writes log {path}: {e}");
                return ExitCode::from(2);
            }
        },
    };

    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("aimdb-test-server: tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };

    rt.block_on(run(addr, args.token, writes_log))
}

async fn run(addr: SocketAddr, token: Option<String>, writes_log: WritesLog) -> ExitCode {
    let nonce = format!("aimdb-test-server-{}-{}", std::process::id(), now_ms());

    let probe_route = {
        let nonce = nonce.clone();
        Router::new().route(PROBE_PATH, get(move || async move { nonce }))
    };

    let history = History::default();
    let mut connector = WebSocketConnector::new();
    connector.register::<Temperature>().register::<Humidity>().register::<Setpoint>();
    let connector = connector
        .bind(addr)
        .with_query_handler(history.clone())
        .path(WS_PATH)
        .with_late_join(true)
        .with_auth(TestAuth { token })
        .with_additional_routes(probe_route);

    let adapter = match TokioAdapter::new() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("aimdb-test-server: TokioAdapter: {e:?}");
            return ExitCode::from(1);
        }
    };
    let mut builder = AimDbBuilder::new().runtime(adapter).with_connector(connector);

    for (key, topic, base, phase) in [
        ("temp.vienna", "sensors/temperature/vienna", 22.0f32, 0.0f32),
        ("temp.berlin", "sensors/temperature/berlin", 18.5, 1.7),
    ] {
        let ser = serializer(&history, topic, json::<Temperature>, |t| t.timestamp);
        builder.configure::<Temperature>(key, move |reg| {
            reg.buffer(BufferCfg::SingleLatest)
                .source(move |_ctx, producer| async move {
                    loop {
                        let v = Temperature {
                            schema_version: 2,
                            celsius: simulate(base, 3.0, 60_000, phase),
                            timestamp: now_ms(),
                        };
                        let _ = producer.produce(v).await;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                })
                .link_to(&format!("ws://{topic}"))
                .with_serializer_raw(ser)
                .finish();
        });
    }

    let ser = serializer(&history, "sensors/humidity/vienna", json::<Humidity>, |h| h.timestamp);
    builder.configure::<Humidity>("humidity.vienna", move |reg| {
        reg.buffer(BufferCfg::SingleLatest)
            .source(|_ctx, producer| async move {
                loop {
                    let v = Humidity {
                        percent: simulate(55.0, 10.0, 90_000, 0.4),
                        timestamp: now_ms(),
                    };
                    let _ = producer.produce(v).await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .link_to("ws://sensors/humidity/vienna")
            .with_serializer_raw(ser)
            .finish();
    });

    let ser = serializer(
        &history,
        "sensors/bad/vienna",
        |b: &BadTemperature| {
            Ok(format!(r#"{{"schema_version":2,"celsius":"hot","timestamp":{}}}"#, b.timestamp).into_bytes())
        },
        |b| b.timestamp,
    );
    builder.configure::<BadTemperature>("bad.vienna", move |reg| {
        reg.buffer(BufferCfg::SingleLatest)
            .source(|_ctx, producer| async move {
                loop {
                    let _ = producer.produce(BadTemperature { timestamp: now_ms() }).await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
            .link_to("ws://sensors/bad/vienna")
            .with_serializer_raw(ser)
            .finish();
    });

    {
        let log = writes_log.clone();
        let ser = serializer(&history, "echo/setpoint/room1", json::<Setpoint>, |s| s.timestamp);
        builder.configure::<Setpoint>("setpoint.room1", move |reg| {
            // A ring, not SingleLatest: every accepted write must reach the echo.
            reg.buffer(BufferCfg::SpmcRing { capacity: 64 })
                .link_from("ws://commands/setpoint/room1")
                .with_deserializer_raw(move |bytes: &[u8]| {
                    let v: Setpoint = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                    log.record("commands/setpoint/room1", bytes);
                    Ok(v)
                })
                .finish()
                .link_to("ws://echo/setpoint/room1")
                .with_serializer_raw(ser)
                .finish();
        });
    }

    let db = match builder.build().await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("aimdb-test-server: build failed: {e:?}");
            return ExitCode::from(1);
        }
    };

    // Wait until *our* listener answers (the connector binds asynchronously).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = nonce.clone();
        let ok = tokio::task::spawn_blocking(move || probe(addr, &n)).await.unwrap_or(false);
        if ok {
            break;
        }
        if Instant::now() >= deadline {
            eprintln!(
                "aimdb-test-server: nothing of ours is listening on {addr} after 10 s \
                 (port taken by another process?)"
            );
            return ExitCode::from(3);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "LISTENING {addr}");
        let _ = out.flush();
    }

    let code = wait_for_signal().await;
    drop(db);
    code
}

async fn wait_for_signal() -> ExitCode {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("aimdb-test-server: SIGTERM handler: {e}");
            return ExitCode::from(1);
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    ExitCode::SUCCESS
}
