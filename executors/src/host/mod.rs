//! Browser glue: the host callbacks behind each [`TickStrategy`], `performance.now()`,
//! and `setTimeout` sleeps. Everything goes through `globalThis` (free functions in the
//! bindings below), never `window`, so it works in a Window and in a dedicated Worker.
//!
//! Each strategy has an *armed* flag. Scheduling arms it and asks the host once;
//! the callback disarms it and ticks. Switching strategy disarms (and, where the host
//! can, cancels) outstanding callbacks; a disarmed callback that still fires does nothing.

use crate::executor::Inner;
use crate::TickStrategy;
use alloc::rc::{Rc, Weak};
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn js_performance_now() -> f64;
    #[wasm_bindgen(js_name = queueMicrotask)]
    fn queue_microtask(cb: &Function);
    #[wasm_bindgen(js_name = requestAnimationFrame)]
    fn request_animation_frame(cb: &Function) -> i32;
    #[wasm_bindgen(js_name = cancelAnimationFrame)]
    fn cancel_animation_frame(handle: i32);
    #[wasm_bindgen(js_name = requestIdleCallback)]
    fn request_idle_callback(cb: &Function, options: &JsValue) -> u32;
    #[wasm_bindgen(js_name = cancelIdleCallback)]
    fn cancel_idle_callback(handle: u32);
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(cb: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout_with_key(cb: &Function, ms: f64, key: u32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
    #[wasm_bindgen(js_name = setImmediate)]
    fn set_immediate(cb: &Function) -> JsValue;

    type MessageChannel;
    #[wasm_bindgen(constructor, catch)]
    fn new() -> Result<MessageChannel, JsValue>;
    #[wasm_bindgen(method, getter)]
    fn port1(this: &MessageChannel) -> MessagePort;
    #[wasm_bindgen(method, getter)]
    fn port2(this: &MessageChannel) -> MessagePort;

    type MessagePort;
    #[wasm_bindgen(method, setter)]
    fn set_onmessage(this: &MessagePort, cb: Option<&Function>);
    #[wasm_bindgen(method, js_name = postMessage)]
    fn post_message(this: &MessagePort, value: &JsValue);
    #[wasm_bindgen(method)]
    fn close(this: &MessagePort);

    type IdleDeadline;
    #[wasm_bindgen(method, js_name = timeRemaining)]
    fn time_remaining(this: &IdleDeadline) -> f64;
    #[wasm_bindgen(method, getter, js_name = didTimeout)]
    fn did_timeout(this: &IdleDeadline) -> bool;
}

/// `performance.now()` of the current global.
pub(crate) fn performance_now() -> f64 {
    js_performance_now()
}

/// Which host APIs the current global has, looked up once.
#[derive(Clone, Copy)]
struct Features {
    raf: bool,
    idle: bool,
    channel: bool,
    /// `setImmediate` (Node, Bun, Deno): the macrotask there. It holds the event loop only
    /// while a callback is queued, where an open `MessagePort` would keep a Node process
    /// alive for as long as the executor lives.
    immediate: bool,
}

std::thread_local! {
    static FEATURES: Features = {
        let g = js_sys::global();
        let has = |name: &str| Reflect::get(&g, &JsValue::from_str(name)).map(|v| v.is_function()).unwrap_or(false);
        Features {
            raf: has("requestAnimationFrame"),
            idle: has("requestIdleCallback"),
            channel: has("MessageChannel"),
            immediate: has("setImmediate"),
        }
    };
}

fn features() -> Features {
    FEATURES.with(|f| *f)
}

/// Which of the host callbacks an outstanding request went to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slot {
    Frame = 0,
    Micro = 1,
    Macro = 2,
    Idle = 3,
}

struct Callbacks {
    /// Microtasks and `setImmediate` / `setTimeout(0)` macrotasks queued and not yet run:
    /// those are not cancelled, so their closures must outlive the executor (see `Drop`).
    uncancellable: Rc<Cell<u32>>,
    frame: Closure<dyn FnMut(f64)>,
    micro: Closure<dyn FnMut()>,
    macro_: Closure<dyn FnMut()>,
    idle: Closure<dyn FnMut(JsValue)>,
    /// `port1` receives, `port2` posts. `None` where MessageChannel is missing, and where
    /// `setImmediate` is there (the macrotask then).
    channel: Option<(MessagePort, MessagePort)>,
    idle_options: JsValue,
}

/// Per-executor host state.
pub(crate) struct HostDriver {
    owner: Weak<Inner>,
    armed: [Cell<bool>; 4],
    frame_handle: Cell<Option<i32>>,
    idle_handle: Cell<Option<u32>>,
    callbacks: RefCell<Option<Callbacks>>,
}

impl HostDriver {
    pub(crate) fn new(owner: Weak<Inner>) -> Self {
        Self {
            owner,
            armed: Default::default(),
            frame_handle: Cell::new(None),
            idle_handle: Cell::new(None),
            callbacks: RefCell::new(None),
        }
    }

    fn fire(owner: &Weak<Inner>, slot: Slot, idle_budget: Option<f64>) {
        let Some(inner) = owner.upgrade() else { return };
        if !inner.host.armed[slot as usize].replace(false) {
            return; // disarmed by a strategy switch, or already served
        }
        match slot {
            Slot::Frame => inner.host.frame_handle.set(None),
            Slot::Idle => inner.host.idle_handle.set(None),
            _ => {}
        }
        let budget = inner.budget_ms();
        let budget = idle_budget.map_or(budget, |remaining| budget.min(remaining.max(0.05)));
        inner.run_tick(budget);
    }

    fn with_callbacks<R>(&self, f: impl FnOnce(&Callbacks) -> R) -> R {
        let mut cbs = self.callbacks.borrow_mut();
        let cbs = cbs.get_or_insert_with(|| self.make_callbacks());
        f(cbs)
    }

    fn make_callbacks(&self) -> Callbacks {
        let (o1, o2, o3, o4) = (self.owner.clone(), self.owner.clone(), self.owner.clone(), self.owner.clone());
        let uncancellable = Rc::new(Cell::new(0u32));
        let (u2, u3) = (uncancellable.clone(), uncancellable.clone());
        let frame = Closure::<dyn FnMut(f64)>::new(move |_ts: f64| Self::fire(&o1, Slot::Frame, None));
        let micro = Closure::<dyn FnMut()>::new(move || {
            u2.set(u2.get().saturating_sub(1));
            Self::fire(&o2, Slot::Micro, None)
        });
        let macro_ = Closure::<dyn FnMut()>::new(move || {
            u3.set(u3.get().saturating_sub(1));
            Self::fire(&o3, Slot::Macro, None)
        });
        let idle = Closure::<dyn FnMut(JsValue)>::new(move |deadline: JsValue| {
            let deadline: IdleDeadline = deadline.unchecked_into();
            let budget = if deadline.did_timeout() { None } else { Some(deadline.time_remaining()) };
            Self::fire(&o4, Slot::Idle, budget)
        });
        let channel = if features().channel && !features().immediate {
            MessageChannel::new().ok().map(|ch| {
                let (p1, p2) = (ch.port1(), ch.port2());
                p1.set_onmessage(Some(macro_.as_ref().unchecked_ref()));
                (p1, p2)
            })
        } else {
            None
        };
        let idle_options = Object::new();
        // Without a timeout a busy page could postpone idle ticks forever.
        let _ = Reflect::set(&idle_options, &"timeout".into(), &JsValue::from_f64(100.0));
        Callbacks { uncancellable, frame, micro, macro_, idle, channel, idle_options: idle_options.into() }
    }

    /// Asks the host for one callback for `strategy`.
    pub(crate) fn schedule(&self, strategy: TickStrategy, after_budget: bool) {
        let f = features();
        let slot = match strategy {
            TickStrategy::Manual => return,
            TickStrategy::AnimationFrame if f.raf => Slot::Frame,
            TickStrategy::Idle if f.idle => Slot::Idle,
            // Work left after a microtask tick's budget yields to a macrotask, so the
            // browser can paint and handle input in between.
            TickStrategy::Microtask if !after_budget => Slot::Micro,
            _ => Slot::Macro,
        };
        self.armed[slot as usize].set(true);
        self.with_callbacks(|cb| match slot {
            Slot::Frame => self.frame_handle.set(Some(request_animation_frame(cb.frame.as_ref().unchecked_ref()))),
            Slot::Idle => self
                .idle_handle
                .set(Some(request_idle_callback(cb.idle.as_ref().unchecked_ref(), &cb.idle_options))),
            Slot::Micro => {
                cb.uncancellable.set(cb.uncancellable.get() + 1);
                queue_microtask(cb.micro.as_ref().unchecked_ref());
            }
            Slot::Macro => match &cb.channel {
                // Closing the port on drop discards the message: cancellable.
                Some((_, port2)) => port2.post_message(&JsValue::NULL),
                // Queued callbacks of a dropped executor run into the graveyard's no-op.
                None => {
                    cb.uncancellable.set(cb.uncancellable.get() + 1);
                    if f.immediate {
                        set_immediate(cb.macro_.as_ref().unchecked_ref());
                    } else {
                        set_timeout(cb.macro_.as_ref().unchecked_ref(), 0.0);
                    }
                }
            },
        });
    }

    /// Disarms every outstanding callback and cancels those the host can cancel.
    pub(crate) fn cancel_all(&self) {
        for a in &self.armed {
            a.set(false);
        }
        if let Some(h) = self.frame_handle.take() {
            cancel_animation_frame(h);
        }
        if let Some(h) = self.idle_handle.take() {
            cancel_idle_callback(h);
        }
    }
}

std::thread_local! {
    /// Callbacks of dropped executors that still have a microtask or timeout queued:
    /// JS will call them, so they must stay alive (calling a dropped `Closure` throws).
    /// Their owner is gone, so they do nothing. Swept when the queue has run.
    static GRAVEYARD: RefCell<Vec<Callbacks>> = const { RefCell::new(Vec::new()) };
}

impl Drop for HostDriver {
    fn drop(&mut self) {
        self.cancel_all();
        let Some(cb) = self.callbacks.get_mut().take() else { return };
        if let Some((p1, p2)) = &cb.channel {
            p1.set_onmessage(None);
            p1.close();
            p2.close();
        }
        let _ = GRAVEYARD.try_with(|g| {
            let Ok(mut g) = g.try_borrow_mut() else { return };
            // Entries whose queued callbacks have all run are not executing now (we
            // are in a drop, not inside one of their dead-owner calls): free them.
            g.retain(|c| c.uncancellable.get() > 0);
            if cb.uncancellable.get() > 0 {
                g.push(cb);
            }
        });
    }
}

// ---------------------------------------------------------------------------------
// setTimeout sleeps
// ---------------------------------------------------------------------------------

struct TimerSlot {
    fired: bool,
    waker: Option<Waker>,
    handle: JsValue,
}

#[derive(Default)]
struct Timers {
    slots: Vec<Option<TimerSlot>>,
    free: Vec<u32>,
    /// One callback for every timer; `setTimeout` passes it the slot key.
    callback: Option<Closure<dyn FnMut(u32)>>,
}

std::thread_local! {
    static TIMERS: RefCell<Timers> = RefCell::new(Timers::default());
}

fn on_timer(key: u32) {
    let waker = TIMERS.with(|t| {
        let mut t = t.borrow_mut();
        match t.slots.get_mut(key as usize).and_then(Option::as_mut) {
            Some(slot) => {
                slot.fired = true;
                slot.waker.take()
            }
            None => None,
        }
    });
    if let Some(w) = waker {
        w.wake();
    }
}

/// A `setTimeout` sleep. Holds only a key into a thread-local table, so it is `Send`.
pub(crate) struct HostSleep {
    ms: f64,
    key: Option<u32>,
    done: bool,
}

impl HostSleep {
    pub(crate) fn new(ms: f64) -> Self {
        Self { ms, key: None, done: false }
    }
}

impl Future for HostSleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        TIMERS.with(|t| {
            let mut t = t.borrow_mut();
            match this.key {
                None => {
                    let key = match t.free.pop() {
                        Some(k) => k,
                        None => {
                            t.slots.push(None);
                            (t.slots.len() - 1) as u32
                        }
                    };
                    let cb = t.callback.get_or_insert_with(|| Closure::<dyn FnMut(u32)>::new(on_timer));
                    let handle = set_timeout_with_key(cb.as_ref().unchecked_ref(), this.ms, key);
                    t.slots[key as usize] = Some(TimerSlot { fired: false, waker: Some(cx.waker().clone()), handle });
                    this.key = Some(key);
                    Poll::Pending
                }
                Some(key) => {
                    let Some(slot) = t.slots.get_mut(key as usize).and_then(Option::as_mut) else {
                        this.done = true;
                        return Poll::Ready(());
                    };
                    if slot.fired {
                        t.slots[key as usize] = None;
                        t.free.push(key);
                        this.key = None;
                        this.done = true;
                        Poll::Ready(())
                    } else {
                        if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                            slot.waker = Some(cx.waker().clone());
                        }
                        Poll::Pending
                    }
                }
            }
        })
    }
}

impl Drop for HostSleep {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let _ = TIMERS.try_with(|t| {
                let mut t = t.borrow_mut();
                if let Some(slot) = t.slots.get_mut(key as usize).and_then(Option::take) {
                    if !slot.fired {
                        clear_timeout(&slot.handle);
                    }
                    t.free.push(key);
                }
            });
        }
    }
}
