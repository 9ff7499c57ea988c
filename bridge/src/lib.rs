//! # aimdb-wasm-bridge: the `WsBridge` state machine
//!
//! The pure core of the browser's WebSocket bridge to an AimDB server. It owns every
//! decision (connection status, reconnect backoff, the offline write queue, keepalive,
//! the subscription set, late join, topic <-> record key mapping) and
//! none of the effects: no socket, no clock, no timer, no `web-sys`. A transport feeds it
//! events and executes the [`Action`]s it queues; every call takes `now_ms` from the
//! adapter's clock, so each behaviour is a deterministic native test (drive it with the
//! `manual` executor's `VirtualClock::now_ms()` or plain numbers).
//!
//! The wire format is `aimdb_ws_protocol` 0.1.0's [`ClientMessage`] / [`ServerMessage`],
//! the types the server itself uses. Frames are read and written on their text, never
//! through a JSON tree: a `data`/`snapshot` envelope is checked in one pass and its
//! payload handed over as the frame's own JSON text ([`Delivery::payload`]), which the
//! caller parses once, straight into the record's type; a `write` frame is built around
//! the payload's JSON text ([`Bridge::write_json`]). The tests check both directions
//! against the protocol crate's serde (the derived `Deserialize` of `ServerMessage`,
//! the `Serialize` of `ClientMessage`), so the format cannot drift.
//!
//! ## Driving it
//! ```
//! use aimdb_wasm_bridge::{Action, Bridge, BridgeOptions, Link, RecordLink, Status};
//!
//! let opts = BridgeOptions { subscribe_topics: vec!["temp/+".into()], ..Default::default() };
//! let records = vec![RecordLink::new("temp.berlin"), RecordLink::new("cmd").topic("commands/x").link(Link::Out)];
//! let mut b = Bridge::new("ws://localhost:8080/ws", opts, records).unwrap();
//!
//! b.connect(0.0);
//! let Some(Action::Open { conn, .. }) = b.take_actions().into_iter().find(|a| matches!(a, Action::Open { .. })) else { panic!() };
//! b.on_open(conn, 5.0);                       // -> Status(Connected), Send(subscribe ["temp/*", "temp/berlin"]), Send(ping)
//! b.on_frame(conn, r#"{"type":"snapshot","topic":"temp/berlin","payload":{"celsius":18.5}}"#, 9.0);
//! let d = b.take_actions().into_iter().find_map(|a| match a { Action::Deliver(d) => Some(d), _ => None }).unwrap();
//! assert_eq!((b.record_key(d.record), d.payload.as_str(), d.snapshot), (Some("temp.berlin"), r#"{"celsius":18.5}"#, true));
//! assert_eq!(b.status(), Status::Connected);
//! b.write_json("cmd", r#"{"celsius":21.5}"#, 10.0).unwrap(); // -> Send(write)
//! let timer = b.next_timer_ms();              // arm one timer; call b.on_timer(now) when it fires
//! # assert!(timer.is_some());
//! ```
//!
//! Inputs: [`Bridge::connect`], [`Bridge::disconnect`], [`Bridge::check_write`] then
//! [`Bridge::write_json`] (or [`Bridge::write`]), [`Bridge::subscribe`] /
//! [`Bridge::unsubscribe`], [`Bridge::add_record`], [`Bridge::reject_inbound`] (the
//! caller's contract refused a delivery), and the socket
//! events [`Bridge::on_open`], [`Bridge::on_frame`], [`Bridge::on_binary_frame`],
//! [`Bridge::on_frame_too_large`], [`Bridge::on_error`], [`Bridge::on_close`], plus
//! [`Bridge::on_timer`] and [`Bridge::on_online`]. Outputs: the [`Action`] queue
//! ([`Bridge::take_actions`]), [`Bridge::next_timer_ms`] (the transport keeps exactly
//! one timer armed at that absolute time), [`Bridge::status`], [`Bridge::stats`].
//!
//! A durable write queue (the browser glue's IndexedDB copy) uses three hooks, and does
//! its I/O itself: [`Bridge::track_outbox`] turns on [`Action::OutboxChanged`],
//! [`Bridge::pending_writes`] lists the writes not yet confirmed (what a later page must
//! send again), and [`Bridge::restore_writes`] puts stored writes back ahead of new ones.
//!
//! ## Limits
//! - Inbound text frames over `maxFrameBytes` (default 4 MiB, at most 1 GiB) are
//!   dropped before parsing, counted (`oversized_frames`) and reported
//!   ([`BridgeError::FrameTooLarge`]); binary frames likewise (`binary_frames`).
//! - Outbound: no frame exceeds the server's 16 MiB ([`MAX_FRAME_BYTES`]): a larger
//!   write is refused ([`WriteError::TooLarge`], also by [`Bridge::check_write`]
//!   before the caller applies anything); `subscribe`/`unsubscribe` lists are split
//!   over several frames. Patterns and record topics are at most 64 KiB
//!   ([`topic::MAX_TOPIC_BYTES`]).
//! - Every error text is bounded (an excerpt of at most 200 characters of any input,
//!   see [`error`]).
//! - Timers are 0 (off) or 1 ms to 2^31 - 1 ms, what a browser's `setTimeout` honours.
//! - Key and topic lookups are hash maps: 100k records connect and route in linear time.
//!
//! ## Design decisions forced by the server (see `PROTOCOL.md`)
//! - **Every close is 1006**, even one the client started: the machine never looks at
//!   close codes. [`Bridge::disconnect`] sets a "closed on purpose" flag: no reconnect
//!   after it, queued writes are dropped (reported), and later writes fail with
//!   [`WriteError::Disconnected`] instead of queueing, until [`Bridge::connect`].
//! - **Socket ids.** Each [`Action::Open`] carries a fresh [`ConnId`] that the transport
//!   passes back with the socket's events; events of an older socket are ignored and
//!   counted (`stale_events`). A browser can take many seconds to deliver `close` for a
//!   dead link that was told to close, by which time the next socket may be open.
//! - **A 401 looks like an unreachable server** (an `error` event, close 1006, no
//!   `open`). After `refusedAfter` (3) consecutive attempts that closed before `open`
//!   (or hit `connectTimeoutMs`), [`BridgeError::ConnectionRefused`] is reported once;
//!   retries go on with the capped backoff, so there is no tight loop.
//! - **Acks are not relied on.** The server's per-client queue drops frames silently
//!   (including `subscribed`, `pong`, `error`). Subscriptions count as active once sent;
//!   keepalive treats *any* inbound frame after a ping as proof of life, so a dropped
//!   `pong` on a busy link does not kill it. Only a `pong` confirms writes (see
//!   *Write delivery*).
//! - **Backoff resets only after a link lived**: on the first frame a socket receives
//!   (the bridge pings right after `open`, so a healthy server answers within a round
//!   trip), not on `open`. A server that accepts and closes at once gets the growing
//!   backoff, not a reconnect every `initialMs`.
//! - **`+` is a literal on the server**: a pattern level `+` is sent as `*`. `#` matches
//!   zero or more levels, `*` exactly one ([`topic`]).
//! - **Late join**: snapshots come only for exact-topic subscriptions, so with
//!   `lateJoin` the bridge also subscribes the exact topics of the `in`/`both` records
//!   its patterns cover, on every (re)connect. [`Action::Synced`] ends a late-join
//!   round when each of them produced a value (snapshot or live data, or the server
//!   refused it with `FORBIDDEN`) or after `syncTimeoutMs` (after a server restart its
//!   cache is empty, so a snapshot may never come). A round starts at `connect()` and
//!   at each open after the previous round ended; its deadline keeps running across
//!   lost links and failed attempts, so the first round ends within `syncTimeoutMs` of
//!   `connect()` even when no link ever opens. Records added later
//!   ([`Bridge::add_record`]) join the rule and a pending round.
//! - **Any order**: `data` may arrive before `subscribed`/`snapshot`. Data is delivered
//!   whenever a record maps the topic, whatever the subscription state. A `snapshot`
//!   that arrives after live `data` of the same topic on the same connection is not
//!   delivered (it would move the record back to an older value); it is counted in
//!   `stale_snapshots`.
//! - **Frames over 16 MiB** make the server reset the TCP connection: none is sent
//!   (see *Limits*).
//!
//! ## No echo suppression needed
//! A `both` record receives values from the server and sends local writes to it. The
//! caller sends only *local* writes (the browser glue is told about each `db.set` /
//! `WsBridge.write`, not about values the bridge delivered), so a delivered value is
//! never written back and the machine keeps no memory of delivered values.
//!
//! ## Offline queue
//! Writes while not connected (also before the first `connect()`, and while a
//! non-reconnecting bridge is closed) queue FIFO up to `maxOfflineQueue` and are flushed
//! in order right after the `subscribe` on the next open. A full queue follows
//! `overflow`; every write that will never be sent is reported as
//! [`Action::WriteDropped`] and counted.
//!
//! ## Write delivery: at least once
//! The server sends no write acks, but answers `ping`s in order, on the same socket,
//! after reading what came before. So a write handed to a socket (`writes_sent`) stays
//! **unconfirmed** until the `pong` of a ping sent after it (`writes_confirmed`). The
//! machine pings right after the flush on open, and after writes while connected at
//! the next timer (a burst in one turn shares one ping; at most one such ping is out
//! at a time). Pongs carry no id and the server may drop one: they are counted in
//! order, so a dropped pong only delays confirmation; a confirm ping unanswered for
//! `pongTimeoutMs` is sent again, and after [`CONFIRM_PINGS`] in a row the link is
//! treated as dead ([`BridgeError::PongTimeout`]) even if other frames arrive.
//!
//! When a socket dies (close, pong timeout), its unconfirmed writes go back to the
//! **front** of the offline queue, in order, and are re-sent after the reconnect
//! (`writes_resent`); if they do not all fit in `maxOfflineQueue`, the overflow policy
//! drops (and reports) the excess. [`Bridge::disconnect`] drops and reports them with
//! the queue.
//!
//! The resulting window: a write the server read just before its socket died, but whose
//! pong never came back, **arrives twice** (once from each socket). Writes are
//! delivered at least once, in order per socket, unless the overflow policy or
//! `disconnect()` drops them (always reported). With `pongTimeoutMs: 0` and no
//! keepalive, writes are confirmed only by pongs the caller provokes
//! ([`Bridge::on_online`]) and a silent dead link is only noticed when it closes.
//!
//! ## Keepalive
//! While connected, a `ping` every `keepaliveMs`. If nothing at all arrives within
//! `pongTimeoutMs` after a ping, the link is dead: `Close`, `Error(PongTimeout)`,
//! `Status(Reconnecting)` and backoff. [`Bridge::on_online`] (network back / page
//! visible) retries at once when waiting, or probes an open link with a ping.

#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![warn(missing_docs)]

pub mod backoff;
mod bridge;
pub mod error;
mod frame;
mod json;
mod map;
pub mod options;
mod options_json;
mod outbox;
mod records;
mod sync;
pub mod topic;
mod types;
pub mod url;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use aimdb_ws_protocol::{ClientMessage, ErrorCode, ServerMessage};
pub use bridge::{Bridge, CONFIRM_PINGS, MAX_FRAME_BYTES};
pub use error::{BridgeError, WriteError};
pub use frame::{query, query_result, synced_json, QueryRecord};
pub use options::{BackoffOptions, BridgeOptions, ConfigError, Link, OverflowPolicy, RecordLink};
pub use options_json::strings_from_json;
pub use types::{Action, ConnId, Delivery, DropReason, DroppedWrite, Stats, Status, WriteOutcome};
