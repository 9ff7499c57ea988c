//! The tape's browser side: the buffer in wasm memory the npm wrapper encodes a JS value
//! into (`tapeEncode` in `values.js`; [`tape_ptr`]), the interned key strings
//! ([`intern_key`]) and the call's `strs` array. The layout and the typed reader are
//! [`crate::tape`]'s.

pub use crate::tape::{item_path, Tape, TapeInput};
use crate::tape::Strings;
use core::cell::RefCell;
use std::borrow::Cow;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

/// The most key strings interned; later new keys travel as strings.
pub const MAX_KEYS: usize = 4096;

thread_local! {
    static TAPE: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    static KEYS: RefCell<Vec<Box<str>>> = const { RefCell::new(Vec::new()) };
}

/// The tape buffer, at least `slots` long (its contents kept when it grows): its address
/// in wasm memory, for the wrapper's `Float64Array`.
#[wasm_bindgen(js_name = tapePtr)]
pub fn tape_ptr(slots: u32) -> u32 {
    TAPE.with(|t| {
        let mut t = t.borrow_mut();
        if t.len() < slots as usize {
            t.resize(slots as usize, 0.0);
        }
        t.as_ptr() as u32
    })
}

/// Interns a key string; its id, or -1 once [`MAX_KEYS`] are interned.
#[wasm_bindgen(js_name = internKey)]
pub fn intern_key(key: String) -> i32 {
    KEYS.with(|k| {
        let mut k = k.borrow_mut();
        if k.len() >= MAX_KEYS {
            return -1;
        }
        k.push(key.into_boxed_str());
        (k.len() - 1) as i32
    })
}

/// The wasm memory (for the wrapper's view of the tape).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// The call's `strs` array.
struct JsStrings<'a>(&'a JsValue);

impl Strings for JsStrings<'_> {
    fn string_at(&self, i: u32) -> Cow<'_, str> {
        Cow::Owned(js_sys::Reflect::get_u32(self.0, i).ok().and_then(|v| v.as_string()).unwrap_or_default())
    }
}

/// Runs `f` over the tape's first `len` slots.
/// `f` over the first `len` slots of the tape as the wrapper filled them (the flat fast
/// path, `crate::flat`: one number per field).
pub fn with_slots<R>(len: u32, f: impl FnOnce(&[f64]) -> R) -> R {
    TAPE.with(|t| {
        let t = t.borrow();
        f(t.get(..len as usize).unwrap_or(&[]))
    })
}

pub fn with_tape<R>(len: u32, strs: &JsValue, f: impl FnOnce(&Tape<'_>) -> R) -> R {
    TAPE.with(|t| {
        KEYS.with(|k| {
            let (t, k) = (t.borrow(), k.borrow());
            let s = t.get(..len as usize).unwrap_or(&t[..]);
            f(&Tape::new(s, &JsStrings(strs), &k))
        })
    })
}
