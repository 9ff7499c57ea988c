//! A JS value read straight into a contract type: one pass over the value, no JSON text
//! in between (`db.set`, `setMany`, `validate` of an object). [`JsInput`] is the
//! contracts' [`Input`] for it, so migrations and range checks run as for JSON text.
//!
//! The value is read as `JSON.stringify` would carry it, and what JSON cannot carry is
//! an error at its path: a non-finite number (`not a finite number (NaN)`), a BigInt, a
//! getter that throws, nesting deeper than [`MAX_DEPTH`] (a cycle). Object fields that
//! are `undefined`, functions or symbols are absent (JSON leaves them out); in arrays
//! they are `null`. Integers read as JSON integers (`u64`/`i64`), others as `f64`; `-0`
//! is `0`. Two differences from JSON text: `toJSON` is not called, and a struct's fields
//! are read as properties (`obj.celsius`, so a getter on a class's prototype counts),
//! while unknown fields are found among the object's own enumerable keys. A struct is
//! read from an object only, never from an array.
//!
//! Paths are tracked inside the deserializer (as in [`crate::json`]), so no visitor is
//! wrapped per type.

use crate::contracts::{with_missing_field, ContractError, Input};
use crate::json::{Chain, Error, Track};
use aimdb_data_contracts::SchemaType;
use core::cell::RefCell;
use js_sys::{Array, Object, Reflect};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use wasm_bindgen::{JsCast, JsValue};

/// The deepest nesting read (serde_json's recursion limit); deeper is an error, which is
/// also how a cycle ends.
pub const MAX_DEPTH: u32 = 128;

/// Slots of the cache of JS strings of static names (field names, variant names).
const KEY_SLOTS: usize = 64;

thread_local! {
    /// JS strings of static names, made once each: direct-mapped by the `&'static str`'s
    /// address (a clash replaces the slot's string; the names in use are a few dozen).
    static KEYS: RefCell<Vec<Option<(usize, usize, JsValue)>>> = RefCell::new(vec![None; KEY_SLOTS]);
}

/// `f(key as a JS string)`, the string made once per static str. `f` may run JS that
/// re-enters (a getter): the cache is only read while it runs.
pub(crate) fn with_static_key<R>(key: &'static str, f: impl FnOnce(&JsValue) -> R) -> R {
    let id = (key.as_ptr() as usize, key.len());
    let slot = (id.0 ^ (id.0 >> 7) ^ id.1) % KEY_SLOTS;
    KEYS.with(|keys| {
        if let Ok(k) = keys.try_borrow() {
            if let Some(Some((p, l, js))) = k.get(slot) {
                if (*p, *l) == id {
                    return f(js);
                }
            }
        }
        let js = JsValue::from_str(key);
        let r = f(&js);
        if let Ok(mut k) = keys.try_borrow_mut() {
            if let Some(s) = k.get_mut(slot) {
                *s = Some((id.0, id.1, js));
            }
        }
        r
    })
}

/// `obj[key]`; `Err` if reading it threw (a getter).
fn get_static(obj: &JsValue, key: &'static str) -> Result<JsValue, JsValue> {
    with_static_key(key, |k| Reflect::get(obj, k))
}

/// What a JS value is, as JSON sees it.
enum Kind {
    Num(f64),
    Str(String),
    Bool(bool),
    Null,
    Arr,
    Obj,
    /// `undefined`, a function or a symbol: absent as an object field, `null` elsewhere.
    Absent,
    /// What JSON cannot carry at all.
    Bad(&'static str),
}

fn kind(v: &JsValue) -> Kind {
    if let Some(n) = v.as_f64() {
        Kind::Num(n)
    } else if let Some(s) = v.as_string() {
        Kind::Str(s)
    } else if v.is_object() {
        if Array::is_array(v) {
            Kind::Arr
        } else {
            Kind::Obj
        }
    } else if v.is_null() {
        Kind::Null
    } else if let Some(b) = v.as_bool() {
        Kind::Bool(b)
    } else if v.is_bigint() {
        Kind::Bad("not JSON-serializable: a BigInt")
    } else {
        Kind::Absent
    }
}

fn threw() -> Error {
    de::Error::custom("not JSON-serializable: reading it threw")
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

/// Deserializes `T` from `v`; on failure, the path (`""`, `a.b`, `list[1]`) and error.
pub fn from_js<T: DeserializeOwned>(v: &JsValue) -> Result<T, (String, Error)> {
    let track = Track::new();
    T::deserialize(JsDe { v, kind: None, chain: &Chain::Root, track: &track, depth: 0 }).map_err(|e| (track.path(), e))
}

/// A JS value as a contract's [`Input`].
pub struct JsInput<'a>(pub &'a JsValue);

impl Input for JsInput<'_> {
    fn is_array(&self) -> bool {
        Array::is_array(self.0)
    }

    fn field_u64(&self, key: &'static str) -> Option<Option<u64>> {
        // `Reflect.get` throws on a non-object: no such field. A throwing getter is left
        // to the typed parse, which reports it at its path.
        let v = get_static(self.0, key).ok()?;
        match v.as_f64() {
            Some(n) if n >= 0.0 && n.trunc() == n && n < 18_446_744_073_709_551_616.0 => Some(Some(n as u64)),
            Some(_) => Some(None),
            None if v.is_undefined() => None,
            None => Some(None),
        }
    }

    fn parse<T: SchemaType + DeserializeOwned>(&self) -> Result<T, ContractError> {
        from_js(self.0).map_err(|(path, e)| with_missing_field(T::NAME, path, e.to_string()))
    }
}

/// `path` of an item of an array, under `[index]`: `[3]`, `[3].celsius`, `[3][0]`.
pub fn item_path(index: usize, path: &str) -> String {
    match path.as_bytes().first() {
        None => format!("[{index}]"),
        Some(b'[') => format!("[{index}]{path}"),
        Some(_) => format!("[{index}].{path}"),
    }
}

/// The deserializer over one JS value, with path tracking.
struct JsDe<'c> {
    v: &'c JsValue,
    /// Classified already (object fields and array items are, to skip absent ones).
    kind: Option<Kind>,
    chain: &'c Chain<'c, 'c>,
    track: &'c Track,
    depth: u32,
}

impl<'c> JsDe<'c> {
    fn fail(&self, e: Error) -> Error {
        self.track.trigger(self.chain, e)
    }

    fn too_deep(&self) -> Result<(), Error> {
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(format_args!("nested deeper than {MAX_DEPTH} levels (a cycle?)")));
        }
        Ok(())
    }

    fn any<'de, V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        match self.kind.take().unwrap_or_else(|| kind(self.v)) {
            Kind::Num(n) => visit_num(n, visitor),
            Kind::Str(s) => visitor.visit_string(s),
            Kind::Bool(b) => visitor.visit_bool(b),
            Kind::Null | Kind::Absent => visitor.visit_unit(),
            Kind::Bad(what) => Err(de::Error::custom(what)),
            Kind::Arr => {
                self.too_deep()?;
                let arr: &Array = self.v.unchecked_ref();
                let len = arr.length();
                let mut seq = Seq { arr, len, index: 0, chain: self.chain, track: self.track, depth: self.depth + 1 };
                let value = visitor.visit_seq(&mut seq)?;
                if seq.index < len {
                    return Err(de::Error::invalid_length(len as usize, &"fewer elements in array"));
                }
                Ok(value)
            }
            Kind::Obj => self.map(&[], visitor),
        }
    }

    fn map<'de, V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        self.too_deep()?;
        visitor.visit_map(Fields {
            obj: self.v,
            fields,
            next: 0,
            found: 0,
            extra: None,
            key: String::new(),
            value: None,
            chain: self.chain,
            track: self.track,
            depth: self.depth + 1,
        })
    }
}

impl<'de> Deserializer<'de> for JsDe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (chain, track) = (self.chain, self.track);
        self.any(visitor).map_err(|e| track.trigger(chain, e))
    }

    fn deserialize_option<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        let k = self.kind.take().unwrap_or_else(|| kind(self.v));
        let r = match k {
            Kind::Null | Kind::Absent => visitor.visit_none(),
            k => {
                self.kind = Some(k);
                let (chain, track) = (self.chain, self.track);
                return visitor.visit_some(self).map_err(|e| track.trigger(chain, e));
            }
        };
        r.map_err(|e| self.fail(e))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        let (chain, track) = (self.chain, self.track);
        visitor.visit_newtype_struct(self).map_err(|e| track.trigger(chain, e))
    }

    /// Objects only (never an array: serde's tuple form of a struct is refused).
    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (chain, track) = (self.chain, self.track);
        let r = match self.kind.take() {
            None if self.v.is_object() && !Array::is_array(self.v) => self.map(fields, visitor),
            Some(Kind::Obj) => self.map(fields, visitor),
            k => {
                let unexpected = match k.unwrap_or_else(|| kind(self.v)) {
                    Kind::Num(n) => return visit_num(n, visitor).map_err(|e| track.trigger(chain, e)),
                    Kind::Str(ref s) => return Err(track.trigger(chain, de::Error::invalid_type(Unexpected::Str(s), &visitor))),
                    Kind::Bool(b) => Unexpected::Bool(b),
                    Kind::Null | Kind::Absent => Unexpected::Unit,
                    Kind::Arr => Unexpected::Seq,
                    Kind::Obj => Unexpected::Map,
                    Kind::Bad(what) => return Err(track.trigger(chain, de::Error::custom(what))),
                };
                Err(de::Error::invalid_type(unexpected, &visitor))
            }
        };
        r.map_err(|e| track.trigger(chain, e))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (chain, track) = (self.chain, self.track);
        let r = match self.kind.take().unwrap_or_else(|| kind(self.v)) {
            Kind::Str(s) => visitor.visit_enum(s.into_deserializer()),
            Kind::Obj => {
                let keys = Object::keys(self.v.unchecked_ref::<Object>());
                match (keys.length(), keys.get(0).as_string()) {
                    (1, Some(name)) => match Reflect::get(self.v, &keys.get(0)) {
                        Ok(value) => visitor.visit_enum(Variant { name, value, chain, track, depth: self.depth + 1 }),
                        Err(_) => Err(threw()),
                    },
                    _ => Err(de::Error::invalid_value(Unexpected::Map, &"map with a single key")),
                }
            }
            Kind::Bad(what) => Err(de::Error::custom(what)),
            _ => Err(de::Error::invalid_type(Unexpected::Other("a value that is not a string or map"), &"string or map")),
        };
        r.map_err(|e| track.trigger(chain, e))
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

struct Seq<'c> {
    arr: &'c Array,
    len: u32,
    index: u32,
    chain: &'c Chain<'c, 'c>,
    track: &'c Track,
    depth: u32,
}

impl<'de> SeqAccess<'de> for Seq<'_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        if self.index >= self.len {
            return Ok(None);
        }
        let chain = Chain::Seq { parent: self.chain, index: self.index as usize };
        self.index += 1;
        let v = self.arr.get(self.index - 1);
        let track = self.track;
        seed.deserialize(JsDe { v: &v, kind: None, chain: &chain, track, depth: self.depth })
            .map(Some)
            .map_err(|e| track.trigger(&chain, e))
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.len - self.index) as usize)
    }
}

/// An object's fields: a struct's declared `fields` first (read by name), then the
/// object's other own keys, so that a struct that denies unknown fields sees them. A map
/// (`fields` empty) reads every own key.
struct Fields<'c> {
    obj: &'c JsValue,
    fields: &'static [&'static str],
    next: usize,
    found: u32,
    /// `Object.keys` and the next index into it, once the declared fields are read.
    extra: Option<(Array, u32)>,
    key: String,
    value: Option<(JsValue, Kind)>,
    chain: &'c Chain<'c, 'c>,
    track: &'c Track,
    depth: u32,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        while let Some(&f) = self.fields.get(self.next) {
            self.next += 1;
            let v = get_static(self.obj, f)
                .map_err(|_| self.track.trigger(&Chain::Key { parent: self.chain, key: f }, threw()))?;
            let k = kind(&v);
            if matches!(k, Kind::Absent) {
                continue;
            }
            self.found += 1;
            self.key.clear();
            self.key.push_str(f);
            self.value = Some((v, k));
            let key: de::value::BorrowedStrDeserializer<'de, Error> = de::value::BorrowedStrDeserializer::new(f);
            return seed.deserialize(key).map(Some).map_err(|e| self.track.trigger(&Chain::Key { parent: self.chain, key: f }, e));
        }
        if self.extra.is_none() {
            let keys = Object::keys(self.obj.unchecked_ref::<Object>());
            if keys.length() == self.found {
                return Ok(None);
            }
            self.extra = Some((keys, 0));
        }
        let Some((keys, at)) = &mut self.extra else { return Ok(None) };
        while *at < keys.length() {
            let kjs = keys.get(*at);
            *at += 1;
            let Some(name) = kjs.as_string() else { continue };
            if self.fields.contains(&name.as_str()) {
                continue;
            }
            let v = Reflect::get(self.obj, &kjs)
                .map_err(|_| self.track.trigger(&Chain::Key { parent: self.chain, key: &name }, threw()))?;
            let k = kind(&v);
            if matches!(k, Kind::Absent) {
                continue;
            }
            self.value = Some((v, k));
            self.key = name;
            let key: de::value::StrDeserializer<'_, Error> = self.key.as_str().into_deserializer();
            return seed.deserialize(key).map(Some).map_err(|e| self.track.trigger(&Chain::Key { parent: self.chain, key: &self.key }, e));
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.key };
        let track = self.track;
        let Some((v, k)) = self.value.take() else {
            return Err(track.trigger(&chain, de::Error::custom("value is missing")));
        };
        seed.deserialize(JsDe { v: &v, kind: Some(k), chain: &chain, track, depth: self.depth })
            .map_err(|e| track.trigger(&chain, e))
    }
}

/// An enum given as `{ name: content }`.
struct Variant<'c> {
    name: String,
    value: JsValue,
    chain: &'c Chain<'c, 'c>,
    track: &'c Track,
    depth: u32,
}

impl<'de, 'c> EnumAccess<'de> for Variant<'c> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let name: de::value::StrDeserializer<'_, Error> = self.name.as_str().into_deserializer();
        match seed.deserialize(name) {
            Ok(v) => Ok((v, self)),
            Err(e) => Err(self.track.trigger(self.chain, e)),
        }
    }
}

impl<'de> VariantAccess<'de> for Variant<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.name };
        <() as de::Deserialize>::deserialize(JsDe { v: &self.value, kind: None, chain: &chain, track: self.track, depth: self.depth })
            .map_err(|e| self.track.trigger(&chain, e))
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.name };
        seed.deserialize(JsDe { v: &self.value, kind: None, chain: &chain, track: self.track, depth: self.depth })
            .map_err(|e| self.track.trigger(&chain, e))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.name };
        JsDe { v: &self.value, kind: None, chain: &chain, track: self.track, depth: self.depth }.deserialize_any(visitor)
    }
    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.name };
        JsDe { v: &self.value, kind: None, chain: &chain, track: self.track, depth: self.depth }
            .deserialize_struct("", fields, visitor)
    }
}
