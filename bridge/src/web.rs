//! The browser transport (wasm32 only): drives a [`Bridge`] with real `WebSocket`s,
//! one `setTimeout`, `performance.now()` and the `online` / `visibilitychange` events.
//!
//! Everything goes through `globalThis` (no `web-sys`, no `window`), so it works in a
//! Window and in a dedicated Worker. Socket, timer and transport actions (`Open`,
//! `Send`, `Close`) are executed here; every other [`Action`] goes to the handler given
//! to [`WebBridge::new`], which may call back into the bridge through the
//! [`WebBridge`] it receives (re-entrant calls are queued, never nested).
//!
//! Closures: a closed socket's handlers are detached (`onopen = null`, ...) before its
//! closures are dropped, so no queued event can call a dropped closure; they are dropped
//! in a microtask right after (never while one of them may be running). The timer is
//! cleared and the global listeners removed on [`WebBridge::shutdown`].

use crate::{Action, Bridge, ConnId};
use core::cell::{Cell, RefCell};
use js_sys::Function;
use std::rc::{Rc, Weak};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    fn math_random() -> f64;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(cb: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
    // `catch`: a global without event listeners (Node) has no `online` event to miss.
    #[wasm_bindgen(js_name = addEventListener, catch)]
    fn add_global_listener(kind: &str, cb: &Function) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = removeEventListener, catch)]
    fn remove_global_listener(kind: &str, cb: &Function) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = document, js_name = addEventListener)]
    fn add_document_listener(kind: &str, cb: &Function);
    #[wasm_bindgen(js_namespace = document, js_name = removeEventListener)]
    fn remove_document_listener(kind: &str, cb: &Function);
    #[wasm_bindgen(js_name = queueMicrotask)]
    fn queue_microtask(cb: &JsValue);

    /// `document` (a Window only). A property read needs a method getter on a type: a
    /// namespaced `getter` binds a function call (`document.visibility_state()`).
    type Document;
    #[wasm_bindgen(method, getter = visibilityState)]
    fn visibility_state(this: &Document) -> JsValue;

    /// What the `WebSocket` constructor the bridge was given makes (the global one, or
    /// e.g. the `ws` package's in Node): used through these members only.
    type WebSocket;
    #[wasm_bindgen(method, catch)]
    fn send(this: &WebSocket, frame: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn close(this: &WebSocket) -> Result<(), JsValue>;
    #[wasm_bindgen(method, setter)]
    fn set_onopen(this: &WebSocket, cb: Option<&Function>);
    #[wasm_bindgen(method, setter)]
    fn set_onmessage(this: &WebSocket, cb: Option<&Function>);
    #[wasm_bindgen(method, setter)]
    fn set_onerror(this: &WebSocket, cb: Option<&Function>);
    #[wasm_bindgen(method, setter)]
    fn set_onclose(this: &WebSocket, cb: Option<&Function>);
    #[wasm_bindgen(method, setter = binaryType)]
    fn set_binary_type(this: &WebSocket, kind: &str);

    type ArrayBuffer;
    #[wasm_bindgen(method, getter = byteLength)]
    fn byte_length(this: &ArrayBuffer) -> f64;

    type MessageEvent;
    #[wasm_bindgen(method, getter)]
    fn data(this: &MessageEvent) -> JsValue;

    /// A string or an ArrayBuffer, read for its `length` (a number for a string,
    /// `undefined` -> `NaN` for an ArrayBuffer).
    type Sized;
    #[wasm_bindgen(method, getter)]
    fn length(this: &Sized) -> f64;
}

/// `performance.now()`: the clock every bridge call is given.
pub fn now_ms() -> f64 {
    performance_now()
}

/// A jitter seed from `Math.random()`.
pub fn random_seed() -> u64 {
    (math_random() * 9_007_199_254_740_992.0) as u64
}

type Handler = Box<dyn FnMut(&WebBridge, Action)>;

struct Socket {
    conn: ConnId,
    ws: WebSocket,
    _cbs: [Closure<dyn FnMut(JsValue)>; 4],
    /// The bridge's count of sockets whose closures are alive.
    held: Rc<Cell<usize>>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.held.set(self.held.get().saturating_sub(1));
    }
}

impl Socket {
    fn detach(&self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onerror(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

struct Shared {
    bridge: RefCell<Bridge>,
    handler: RefCell<Option<Handler>>,
    sockets: RefCell<Vec<Socket>>,
    held: Rc<Cell<usize>>,
    pumping: Cell<bool>,
    timer: RefCell<Option<(f64, JsValue)>>,
    timer_cb: Closure<dyn FnMut()>,
    online_cb: Closure<dyn FnMut()>,
    visible_cb: Option<Closure<dyn FnMut()>>,
    shut: Cell<bool>,
    /// The clock at the last [`WebBridge::with`]: message events reuse it (see `open`).
    last_now: Cell<f64>,
    /// The `WebSocket` constructor.
    web_socket: Function,
    /// `wrap(conn, handler)`: the `onmessage` function of socket `conn`, in front of
    /// the transport's own `handler` (see [`WebBridge::wrap_messages`]).
    wrap: RefCell<Option<Function>>,
}

/// A [`Bridge`] wired to the browser. Cheap to clone (a handle).
#[derive(Clone)]
pub struct WebBridge(Rc<Shared>);

/// `globalThis.document`, if there is one (not in a Worker).
fn document() -> Option<Document> {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("document"))
        .ok()
        .filter(JsValue::is_object)
        .map(JsCast::unchecked_into)
}

/// Drops a detached socket's closures in a microtask: one of them may be running right
/// now (a socket closing from its own `close` event), and a queued event can no longer
/// reach them (the handlers were detached first).
fn release(k: Socket) {
    queue_microtask(&Closure::once_into_js(move || drop(k)));
}

impl WebBridge {
    /// Wires `bridge` to the browser; sockets are made with `new web_socket(url)` (a
    /// `WebSocket` constructor). `handler` receives every action but `Open`, `Send` and
    /// `Close`. Does not connect: call `with(|b, now| b.connect(now))`.
    pub fn new(bridge: Bridge, web_socket: Function, handler: impl FnMut(&WebBridge, Action) + 'static) -> WebBridge {
        let shared = Rc::new_cyclic(|weak: &Weak<Shared>| {
            let w = weak.clone();
            let timer_cb = Closure::<dyn FnMut()>::new(move || {
                if let Some(s) = w.upgrade() {
                    let wb = WebBridge(s);
                    wb.0.timer.borrow_mut().take();
                    wb.with(|b, now| b.on_timer(now));
                }
            });
            let w = weak.clone();
            let online_cb = Closure::<dyn FnMut()>::new(move || {
                if let Some(s) = w.upgrade() {
                    WebBridge(s).with(|b, now| b.on_online(now));
                }
            });
            let visible_cb = document().map(|doc| {
                let w = weak.clone();
                Closure::<dyn FnMut()>::new(move || {
                    if doc.visibility_state().as_string().as_deref() == Some("visible") {
                        if let Some(s) = w.upgrade() {
                            WebBridge(s).with(|b, now| b.on_online(now));
                        }
                    }
                })
            });
            Shared {
                bridge: RefCell::new(bridge),
                handler: RefCell::new(Some(Box::new(handler))),
                sockets: RefCell::default(),
                held: Rc::default(),
                pumping: Cell::new(false),
                timer: RefCell::new(None),
                timer_cb,
                online_cb,
                visible_cb,
                shut: Cell::new(false),
                last_now: Cell::new(now_ms()),
                web_socket,
                wrap: RefCell::new(None),
            }
        });
        let _ = add_global_listener("online", shared.online_cb.as_ref().unchecked_ref());
        if let Some(cb) = &shared.visible_cb {
            add_document_listener("visibilitychange", cb.as_ref().unchecked_ref());
        }
        WebBridge(shared)
    }

    /// Runs `f` on the state machine (with `now_ms`), then executes the actions it
    /// queued and re-arms the timer. Re-entrant calls (from the handler) only queue.
    pub fn with<R>(&self, f: impl FnOnce(&mut Bridge, f64) -> R) -> R {
        let now = now_ms();
        self.0.last_now.set(now);
        self.at(now, f)
    }

    /// Sockets opened from now on get `wrap(conn, handler)` as their `onmessage` (a
    /// JS function called with the socket's number and the transport's own message
    /// handler; it must call that handler with every event it does not take itself,
    /// e.g. a fast path that parses some frames and hands them to the machine with
    /// [`Bridge::on_parsed_data`]). If `wrap` throws or returns no function, the
    /// handler is the `onmessage`.
    pub fn wrap_messages(&self, wrap: Function) {
        *self.0.wrap.borrow_mut() = Some(wrap);
    }

    /// Runs `f` at the clock of the last event (what a message event uses, see
    /// `open`), and executes the actions queued meanwhile (by [`at`](Self::at) calls
    /// in `f`) only after `f` returns, so `f` can do its part of an event (deliver a
    /// value) before they run, as a handler of a queued action would.
    pub fn hold<R>(&self, f: impl FnOnce(f64) -> R) -> R {
        let s = &self.0;
        let was = s.pumping.replace(true);
        let r = f(s.last_now.get());
        s.pumping.set(was);
        self.pump();
        r
    }

    /// [`with`](Self::with) at a given time.
    pub fn at<R>(&self, now: f64, f: impl FnOnce(&mut Bridge, f64) -> R) -> R {
        let r = f(&mut self.0.bridge.borrow_mut(), now);
        self.pump();
        r
    }

    /// Reads the state machine.
    pub fn read<R>(&self, f: impl FnOnce(&Bridge) -> R) -> R {
        f(&self.0.bridge.borrow())
    }

    fn pump(&self) {
        let s = &self.0;
        if s.pumping.get() || s.shut.get() {
            return;
        }
        s.pumping.set(true);
        loop {
            let Some(action) = s.bridge.borrow_mut().next_action() else { break };
            match action {
                Action::Open { conn, url } => self.open(conn, &url),
                Action::Send { conn, frame } => {
                    let sent = s.sockets.borrow().iter().find(|k| k.conn == conn).map(|k| k.ws.send(&frame));
                    if let Some(Err(_)) = sent {
                        // Not open after all: the close event follows and decides.
                    }
                }
                Action::Close { conn } => {
                    let mut socks = s.sockets.borrow_mut();
                    if let Some(i) = socks.iter().position(|k| k.conn == conn) {
                        let k = socks.swap_remove(i);
                        k.detach();
                        release(k);
                    }
                }
                other => {
                    let h = s.handler.borrow_mut().take();
                    if let Some(mut h) = h {
                        h(self, other);
                        let mut slot = s.handler.borrow_mut();
                        if slot.is_none() && !s.shut.get() {
                            *slot = Some(h);
                        }
                    }
                }
            }
            if s.shut.get() {
                break;
            }
        }
        s.pumping.set(false);
        self.arm_timer();
    }

    fn arm_timer(&self) {
        let s = &self.0;
        if s.shut.get() {
            return;
        }
        let next = s.bridge.borrow().next_timer_ms();
        let mut timer = s.timer.borrow_mut();
        if timer.as_ref().map(|t| t.0) == next {
            return;
        }
        if let Some((_, h)) = timer.take() {
            clear_timeout(&h);
        }
        if let Some(at) = next {
            // Options cap timers at 2^31 - 1 ms; the +1 must not push past it (a longer
            // setTimeout delay fires at once, and would spin).
            let delay = ((at - now_ms()).max(0.0) + 1.0).min(crate::options::MAX_TIMER_MS);
            *timer = Some((at, set_timeout(s.timer_cb.as_ref().unchecked_ref(), delay)));
        }
    }

    fn open(&self, conn: ConnId, url: &str) {
        let weak = Rc::downgrade(&self.0);
        let cb = |kind: u8| {
            let w = weak.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                let Some(s) = w.upgrade() else { return };
                let wb = WebBridge(s);
                match kind {
                    0 => wb.with(|b, now| b.on_open(conn, now)),
                    1 => {
                        // The clock of the last other event, not `performance.now()`
                        // (a cost per frame): `on_frame` reads the clock only for a
                        // `pong`, to schedule a confirm ping "now", and the timer fires
                        // at once for any time already past.
                        let now = wb.0.last_now.get();
                        let data = ev.unchecked_into::<MessageEvent>().data();
                        // A string's length in UTF-16 units (`NaN` for an ArrayBuffer).
                        let units = data.unchecked_ref::<Sized>().length();
                        if units.is_nan() {
                            // `binaryType = 'arraybuffer'`: the size is known at once.
                            let bytes = data.unchecked_ref::<ArrayBuffer>().byte_length() as usize;
                            wb.at(now, |b, now| b.on_binary_frame(conn, bytes, now));
                        } else if units as usize > wb.read(|b| b.max_frame_bytes()) {
                            // UTF-16 units <= UTF-8 bytes: a frame with more units than
                            // `maxFrameBytes` is too large for sure, and is never copied
                            // into wasm memory (the machine checks the exact size of the rest).
                            wb.at(now, |b, now| b.on_frame_too_large(conn, units as usize, now));
                        } else if let Some(text) = data.as_string() {
                            wb.at(now, |b, now| b.on_frame(conn, &text, now));
                        }
                    }
                    2 => wb.with(|b, now| b.on_error(conn, now)),
                    _ => {
                        // Released in a microtask, not dropped: this closure is running.
                        let gone = {
                            let mut socks = wb.0.sockets.borrow_mut();
                            socks.iter().position(|k| k.conn == conn).map(|i| socks.swap_remove(i))
                        };
                        if let Some(k) = gone {
                            k.detach();
                            release(k);
                        }
                        wb.with(|b, now| b.on_close(conn, now))
                    }
                }
            })
        };
        let args = js_sys::Array::of1(&JsValue::from_str(url));
        match js_sys::Reflect::construct(&self.0.web_socket, &args).map(JsCast::unchecked_into::<WebSocket>) {
            Ok(ws) => {
                ws.set_binary_type("arraybuffer");
                let cbs = [cb(0), cb(1), cb(2), cb(3)];
                ws.set_onopen(Some(cbs[0].as_ref().unchecked_ref()));
                let handler: &Function = cbs[1].as_ref().unchecked_ref();
                let wrapped = self.0.wrap.borrow().as_ref().and_then(|w| {
                    w.call2(&JsValue::UNDEFINED, &JsValue::from_f64(conn.0 as f64), handler)
                        .ok()
                        .and_then(|f| f.dyn_into::<Function>().ok())
                });
                ws.set_onmessage(Some(wrapped.as_ref().unwrap_or(handler)));
                ws.set_onerror(Some(cbs[2].as_ref().unchecked_ref()));
                ws.set_onclose(Some(cbs[3].as_ref().unchecked_ref()));
                let held = self.0.held.clone();
                held.set(held.get() + 1);
                self.0.sockets.borrow_mut().push(Socket { conn, ws, _cbs: cbs, held });
            }
            Err(_) => {
                // The URL was checked by `Bridge::new`; a constructor that throws anyway
                // counts as an attempt that closed before opening.
                let mut b = self.0.bridge.borrow_mut();
                let now = now_ms();
                b.on_error(conn, now);
                b.on_close(conn, now);
            }
        }
    }

    /// Sockets whose closures are still held (open or opening, or closed less than a
    /// microtask ago). For tests.
    pub fn held_sockets(&self) -> usize {
        self.0.held.get()
    }

    /// Detaches everything: sockets closed, timer cleared, global listeners removed,
    /// the handler dropped. The bridge is not told (call `disconnect` first).
    pub fn shutdown(&self) {
        self.0.shutdown();
    }
}

impl Shared {
    fn shutdown(&self) {
        let s = self;
        if s.shut.replace(true) {
            return;
        }
        let socks: Vec<Socket> = s.sockets.borrow_mut().drain(..).collect();
        for k in socks {
            k.detach();
            release(k);
        }
        if let Some((_, h)) = s.timer.borrow_mut().take() {
            clear_timeout(&h);
        }
        let _ = remove_global_listener("online", s.online_cb.as_ref().unchecked_ref());
        if let Some(cb) = &s.visible_cb {
            remove_document_listener("visibilitychange", cb.as_ref().unchecked_ref());
        }
        // Not while it runs (pump takes it out while calling it).
        let h = s.handler.borrow_mut().take();
        drop(h);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.shutdown();
    }
}
