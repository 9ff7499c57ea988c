//! The tape: a JS value as the npm wrapper encodes it into wasm memory (`tapeEncode` in
//! `values.js`), read straight into a contract type in one wasm call: no call back into
//! JS per field and no JSON text.
//!
//! The tape is a run of `f64` slots in a buffer this module owns ([`tape_ptr`]):
//!
//! | value | slots |
//! |---|---|
//! | `null` / `false` / `true` | `NULL` / `FALSE` / `TRUE` |
//! | number (finite) | `NUM`, the number |
//! | string | `STR`, its index in the call's `strs` array |
//! | array of n | `ARR`, n, then the n items |
//! | object of n fields | `OBJ`, n, then n times: key, value |
//!
//! A key is the id of an interned key string ([`intern_key`], `>= 0`) or `-(1 + i)` for
//! `strs[i]`. The encoder writes what `JSON.stringify` would carry (fields that are
//! `undefined`, functions or symbols left out, in arrays `null`; `toJSON` is not called)
//! and gives up on anything else: a non-finite number, a BigInt, nesting deeper than 128,
//! a getter that throws, a call made while it encodes (a getter calling `db.set`). Then
//! the wrapper reports what JSON cannot carry at its path, or passes JSON text (read by
//! [`Contract::from_json_str`](crate::contracts::Contract::from_json_str)).
//! Numbers read as JSON text carries them (integers as `u64` / `i64`, `-0` as `0`).

use crate::contracts::{with_missing_field, ContractError, Input};
use crate::json::{Chain, Error, Track};
use aimdb_data_contracts::SchemaType;
use core::cell::RefCell;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use std::borrow::Cow;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

const NULL: f64 = 0.0;
const FALSE: f64 = 1.0;
const TRUE: f64 = 2.0;
const NUM: f64 = 3.0;
const STR: f64 = 4.0;
const ARR: f64 = 5.0;
const OBJ: f64 = 6.0;

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

/// A number as JSON text carries it: integers as `u64` / `i64`, others as `f64`.
pub(crate) fn visit_num<'de, V: Visitor<'de>>(n: f64, visitor: V) -> Result<V::Value, Error> {
    if !n.is_finite() {
        let shown = if n.is_nan() {
            "NaN"
        } else if n > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        return Err(de::Error::custom(format_args!("not a finite number ({shown})")));
    }
    if n.trunc() == n {
        if (0.0..18_446_744_073_709_551_616.0).contains(&n) {
            return visitor.visit_u64(n as u64);
        }
        if (-9_223_372_036_854_775_808.0..0.0).contains(&n) {
            return visitor.visit_i64(n as i64);
        }
    }
    visitor.visit_f64(n)
}

/// `path` of an item of an array, under `[index]`: `[3]`, `[3].celsius`, `[3][0]`.
pub fn item_path(index: usize, path: &str) -> String {
    match path.as_bytes().first() {
        None => format!("[{index}]"),
        Some(b'[') => format!("[{index}]{path}"),
        Some(_) => format!("[{index}].{path}"),
    }
}

/// The first `len` slots of the tape, with the call's strings, as a contract [`Input`].
pub struct Tape<'a> {
    s: &'a [f64],
    strs: &'a JsValue,
    keys: &'a [Box<str>],
}

/// Runs `f` over the tape's first `len` slots.
pub fn with_tape<R>(len: u32, strs: &JsValue, f: impl FnOnce(&Tape<'_>) -> R) -> R {
    TAPE.with(|t| {
        KEYS.with(|k| {
            let (t, k) = (t.borrow(), k.borrow());
            let s = t.get(..len as usize).unwrap_or(&t[..]);
            f(&Tape { s, strs, keys: &k })
        })
    })
}

impl<'a> Tape<'a> {
    fn tag(&self, at: usize) -> f64 {
        self.s.get(at).copied().unwrap_or(NULL)
    }

    /// The count after `ARR` / `OBJ`, never more than the slots left (a tape is made by
    /// the wrapper; this only keeps a broken one from looping).
    fn count(&self, at: usize) -> usize {
        let n = self.s.get(at + 1).copied().unwrap_or(0.0);
        (n.max(0.0) as usize).min(self.s.len().saturating_sub(at))
    }

    fn string(&self, i: f64) -> String {
        js_sys::Reflect::get_u32(self.strs, i as u32).ok().and_then(|v| v.as_string()).unwrap_or_default()
    }

    fn key(&self, slot: f64) -> Cow<'a, str> {
        if slot >= 0.0 {
            Cow::Borrowed(self.keys.get(slot as usize).map_or("", |k| &**k))
        } else {
            Cow::Owned(self.string(-slot - 1.0))
        }
    }

    /// The slot after the value at `at`.
    fn skip(&self, at: usize) -> usize {
        let t = self.tag(at);
        if t == NUM || t == STR {
            at + 2
        } else if t == ARR {
            let mut p = at + 2;
            for _ in 0..self.count(at) {
                p = self.skip(p);
            }
            p
        } else if t == OBJ {
            let mut p = at + 2;
            for _ in 0..self.count(at) {
                p = self.skip(p + 1);
            }
            p
        } else {
            at + 1
        }
    }

    /// The items of the top-level array: their start slots.
    pub fn items(&self) -> Option<Vec<usize>> {
        if self.tag(0) != ARR {
            return None;
        }
        let mut p = 2;
        Some(
            (0..self.count(0))
                .map(|_| {
                    let at = p;
                    p = self.skip(p);
                    at
                })
                .collect(),
        )
    }

    /// The value at slot `at` as a contract's [`Input`].
    pub fn input(&self, at: usize) -> TapeInput<'_, 'a> {
        TapeInput { t: self, at }
    }
}

/// A value on the tape as a contract's [`Input`].
pub struct TapeInput<'t, 'a> {
    t: &'t Tape<'a>,
    at: usize,
}

impl Input for TapeInput<'_, '_> {
    fn is_array(&self) -> bool {
        self.t.tag(self.at) == ARR
    }

    fn field_u64(&self, key: &'static str) -> Option<Option<u64>> {
        if self.t.tag(self.at) != OBJ {
            return None;
        }
        let mut p = self.at + 2;
        for _ in 0..self.t.count(self.at) {
            if self.t.key(self.t.tag(p)) == key {
                let n = self.t.tag(p + 2);
                let int = self.t.tag(p + 1) == NUM && n >= 0.0 && n.trunc() == n && n < 18_446_744_073_709_551_616.0;
                return Some(int.then_some(n as u64));
            }
            p = self.t.skip(p + 1);
        }
        None
    }

    fn parse<T: SchemaType + DeserializeOwned>(&self) -> Result<T, ContractError> {
        let track = Track::new();
        T::deserialize(TapeDe { t: self.t, at: self.at, chain: &Chain::Root, track: &track })
            .map_err(|e| with_missing_field(T::NAME, track.path(), e.to_string()))
    }
}

struct TapeDe<'t, 'a, 'c> {
    t: &'t Tape<'a>,
    at: usize,
    chain: &'c Chain<'c, 'c>,
    track: &'c Track,
}

impl<'t, 'a, 'c> TapeDe<'t, 'a, 'c> {
    fn unexpected(&self) -> Unexpected<'static> {
        let t = self.t.tag(self.at);
        if t == ARR {
            Unexpected::Seq
        } else if t == OBJ {
            Unexpected::Map
        } else if t == TRUE || t == FALSE {
            Unexpected::Bool(t == TRUE)
        } else if t == NUM {
            Unexpected::Float(self.t.tag(self.at + 1))
        } else if t == STR {
            Unexpected::Other("a string")
        } else {
            Unexpected::Unit
        }
    }

    fn any<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let t = self.t.tag(self.at);
        if t == NUM {
            visit_num(self.t.tag(self.at + 1), visitor)
        } else if t == STR {
            visitor.visit_string(self.t.string(self.t.tag(self.at + 1)))
        } else if t == TRUE || t == FALSE {
            visitor.visit_bool(t == TRUE)
        } else if t == ARR {
            let n = self.t.count(self.at);
            let mut seq = Seq { t: self.t, p: self.at + 2, index: 0, left: n, chain: self.chain, track: self.track };
            let value = visitor.visit_seq(&mut seq)?;
            if seq.left > 0 {
                return Err(de::Error::invalid_length(n, &"fewer elements in array"));
            }
            Ok(value)
        } else if t == OBJ {
            self.map(visitor)
        } else {
            visitor.visit_unit()
        }
    }

    fn map<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(Map {
            t: self.t,
            p: self.at + 2,
            left: self.t.count(self.at),
            key: Cow::Borrowed(""),
            chain: self.chain,
            track: self.track,
        })
    }
}

impl<'de> Deserializer<'de> for TapeDe<'_, '_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (chain, track) = (self.chain, self.track);
        self.any(visitor).map_err(|e| track.trigger(chain, e))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (chain, track) = (self.chain, self.track);
        if self.t.tag(self.at) == NULL {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
        .map_err(|e| track.trigger(chain, e))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        let (chain, track) = (self.chain, self.track);
        visitor.visit_newtype_struct(self).map_err(|e| track.trigger(chain, e))
    }

    /// Objects only (never an array: serde's tuple form of a struct is refused).
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (chain, track) = (self.chain, self.track);
        let t = self.t.tag(self.at);
        if t == OBJ {
            self.map(visitor)
        } else if t == NUM || t == STR {
            self.any(visitor)
        } else {
            Err(de::Error::invalid_type(self.unexpected(), &visitor))
        }
        .map_err(|e| track.trigger(chain, e))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (chain, track) = (self.chain, self.track);
        let t = self.t.tag(self.at);
        if t == STR {
            visitor.visit_enum(self.t.string(self.t.tag(self.at + 1)).into_deserializer())
        } else if t == OBJ && self.t.count(self.at) == 1 {
            let name = self.t.key(self.t.tag(self.at + 2));
            visitor.visit_enum(Variant { t: self.t, name, at: self.at + 3, chain, track })
        } else if t == OBJ {
            Err(de::Error::invalid_value(Unexpected::Map, &"map with a single key"))
        } else {
            Err(de::Error::invalid_type(self.unexpected(), &"string or map"))
        }
        .map_err(|e| track.trigger(chain, e))
    }

    /// Skipped without reading it.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        seq tuple tuple_struct map identifier
    }
}

struct Seq<'t, 'a, 'c> {
    t: &'t Tape<'a>,
    p: usize,
    index: usize,
    left: usize,
    chain: &'c Chain<'c, 'c>,
    track: &'c Track,
}

impl<'de> SeqAccess<'de> for Seq<'_, '_, '_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let at = self.p;
        self.p = self.t.skip(at);
        let chain = Chain::Seq { parent: self.chain, index: self.index };
        self.index += 1;
        let track = self.track;
        seed.deserialize(TapeDe { t: self.t, at, chain: &chain, track }).map(Some).map_err(|e| track.trigger(&chain, e))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct Map<'t, 'a, 'c> {
    t: &'t Tape<'a>,
    /// The next key's slot (then its value's, once the key was read).
    p: usize,
    left: usize,
    key: Cow<'a, str>,
    chain: &'c Chain<'c, 'c>,
    track: &'c Track,
}

impl<'de> MapAccess<'de> for Map<'_, '_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.key = self.t.key(self.t.tag(self.p));
        self.p += 1;
        let key: de::value::StrDeserializer<'_, Error> = self.key.as_ref().into_deserializer();
        seed.deserialize(key).map(Some).map_err(|e| self.track.trigger(&Chain::Key { parent: self.chain, key: &self.key }, e))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.key };
        let at = self.p;
        self.p = self.t.skip(at);
        let track = self.track;
        seed.deserialize(TapeDe { t: self.t, at, chain: &chain, track }).map_err(|e| track.trigger(&chain, e))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// An enum given as `{ name: content }`.
struct Variant<'t, 'a, 'c> {
    t: &'t Tape<'a>,
    name: Cow<'a, str>,
    /// The content's slot.
    at: usize,
    chain: &'c Chain<'c, 'c>,
    track: &'c Track,
}

impl<'de> EnumAccess<'de> for Variant<'_, '_, '_> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let name: de::value::StrDeserializer<'_, Error> = self.name.as_ref().into_deserializer();
        match seed.deserialize(name) {
            Ok(v) => Ok((v, self)),
            Err(e) => Err(self.track.trigger(self.chain, e)),
        }
    }
}

impl<'de> VariantAccess<'de> for Variant<'_, '_, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.name };
        <() as de::Deserialize>::deserialize(TapeDe { t: self.t, at: self.at, chain: &chain, track: self.track })
            .map_err(|e| self.track.trigger(&chain, e))
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.name };
        seed.deserialize(TapeDe { t: self.t, at: self.at, chain: &chain, track: self.track })
            .map_err(|e| self.track.trigger(&chain, e))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.name };
        TapeDe { t: self.t, at: self.at, chain: &chain, track: self.track }.deserialize_any(visitor)
    }
    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.name };
        TapeDe { t: self.t, at: self.at, chain: &chain, track: self.track }.deserialize_struct("", fields, visitor)
    }
}
