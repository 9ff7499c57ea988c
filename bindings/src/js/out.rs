//! A value written straight into a JS value (no JSON text, no `JSON.parse`): the JS
//! object a record hands out (`get()`, subscribers), made once per version.
//!
//! The result is what `JSON.parse` of the value's serde_json text would give: an `f32`
//! is the number its shortest decimal spells (`20.1f32` is `20.1`, not
//! `20.100000381469727`), a non-finite float is `null`, `None` and `()` are `null`,
//! maps are plain objects (string or integer keys), enums as serde_json writes them. One
//! difference: an integer beyond 2^53 - 1 is an error instead of a rounded number (the
//! contracts keep timestamps within it).

use crate::json::f32_number;
use core::cell::RefCell;
use core::fmt;
use js_sys::{Array, Object};
use serde::ser::{self, Serialize};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen]
extern "C" {
    /// `Reflect.set` on an object this module just made (it cannot throw: no `catch`
    /// wrapper, which would cost more than the store).
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    fn define(target: &Object, key: &JsValue, value: &JsValue) -> bool;
}

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

/// Why a value could not be written.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// `v` as a JS value: a flat struct (numbers and nulls) through [`super::flat_out`],
/// anything else through this module's serializer.
pub fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, Error> {
    match super::flat_out::to_js(v) {
        Some(js) => Ok(js),
        None => v.serialize(Ser),
    }
}

/// `items` as a JS array: of flat structs in one call ([`super::flat_out::many_to_js`],
/// the array and its objects frozen), else through this module's serializer.
pub fn many_to_js<T: Serialize>(items: &[T]) -> Result<JsValue, Error> {
    match super::flat_out::many_to_js(items) {
        Some(js) => Ok(js),
        None => items.serialize(Ser),
    }
}

const MAX_SAFE: u64 = (1 << 53) - 1;

fn int(v: u64, negative: bool) -> Result<JsValue, Error> {
    if v > MAX_SAFE {
        return Err(Error("an integer beyond 2^53 - 1 cannot be a JavaScript number exactly".into()));
    }
    Ok(JsValue::from_f64(if negative { -(v as f64) } else { v as f64 }))
}

struct Ser;

impl ser::Serializer for Ser {
    type Ok = JsValue;
    type Error = Error;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Variant<Seq>;
    type SerializeMap = Map;
    type SerializeStruct = Struct;
    type SerializeStructVariant = Variant<Struct>;

    fn serialize_bool(self, v: bool) -> Result<JsValue, Error> {
        Ok(JsValue::from_bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<JsValue, Error> {
        Ok(JsValue::from_f64(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<JsValue, Error> {
        Ok(JsValue::from_f64(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<JsValue, Error> {
        Ok(JsValue::from_f64(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<JsValue, Error> {
        int(v.unsigned_abs(), v < 0)
    }
    fn serialize_u8(self, v: u8) -> Result<JsValue, Error> {
        Ok(JsValue::from_f64(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<JsValue, Error> {
        Ok(JsValue::from_f64(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<JsValue, Error> {
        Ok(JsValue::from_f64(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<JsValue, Error> {
        int(v, false)
    }
    fn serialize_f32(self, v: f32) -> Result<JsValue, Error> {
        Ok(if v.is_finite() { JsValue::from_f64(f32_number(v)) } else { JsValue::NULL })
    }
    fn serialize_f64(self, v: f64) -> Result<JsValue, Error> {
        Ok(if v.is_finite() { JsValue::from_f64(v) } else { JsValue::NULL })
    }
    fn serialize_char(self, v: char) -> Result<JsValue, Error> {
        let mut b = [0; 4];
        Ok(JsValue::from_str(v.encode_utf8(&mut b)))
    }
    fn serialize_str(self, v: &str) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<JsValue, Error> {
        let a = Array::new();
        for b in v {
            a.push(&JsValue::from_f64((*b).into()));
        }
        Ok(a.into())
    }
    fn serialize_none(self) -> Result<JsValue, Error> {
        Ok(JsValue::NULL)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<JsValue, Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<JsValue, Error> {
        Ok(JsValue::NULL)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<JsValue, Error> {
        Ok(JsValue::NULL)
    }
    fn serialize_unit_variant(self, _name: &'static str, _i: u32, variant: &'static str) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, v: &T) -> Result<JsValue, Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<JsValue, Error> {
        let obj = Object::new();
        let v = v.serialize(Ser)?;
        set(&obj, variant, &v);
        Ok(obj.into())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq, Error> {
        Ok(Seq(Array::new()))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Seq, Error> {
        Ok(Seq(Array::new()))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Seq, Error> {
        Ok(Seq(Array::new()))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Variant<Seq>, Error> {
        Ok(Variant { name: variant, inner: Seq(Array::new()) })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map, Error> {
        Ok(Map { obj: Object::new(), key: None })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Struct, Error> {
        Ok(Struct(Object::new()))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Variant<Struct>, Error> {
        Ok(Variant { name: variant, inner: Struct(Object::new()) })
    }
}

/// `obj[key] = value` (a plain new object: this cannot fail).
fn set(obj: &Object, key: &'static str, value: &JsValue) {
    with_static_key(key, |k| define(obj, k, value));
}

struct Seq(Array);

impl ser::SerializeSeq for Seq {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.0.push(&to_js(v)?);
        Ok(())
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(self.0.into())
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(self.0.into())
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(self.0.into())
    }
}

struct Struct(Object);

impl ser::SerializeStruct for Struct {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Error> {
        let v = v.serialize(Ser)?;
        set(&self.0, key, &v);
        Ok(())
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(self.0.into())
    }
}

/// `{ variant: inner }`.
struct Variant<S> {
    name: &'static str,
    inner: S,
}

impl<S> Variant<S> {
    fn wrap(name: &'static str, inner: JsValue) -> JsValue {
        let obj = Object::new();
        set(&obj, name, &inner);
        obj.into()
    }
}

impl ser::SerializeTupleVariant for Variant<Seq> {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(&mut self.inner, v)
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(Self::wrap(self.name, self.inner.0.into()))
    }
}

impl ser::SerializeStructVariant for Variant<Struct> {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, v)
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(Self::wrap(self.name, self.inner.0.into()))
    }
}

struct Map {
    obj: Object,
    key: Option<JsValue>,
}

impl ser::SerializeMap for Map {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeySer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or_else(|| Error("a map value without a key".into()))?;
        define(&self.obj, &key, &v.serialize(Ser)?);
        Ok(())
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(self.obj.into())
    }
}

/// A map key, as serde_json writes it: a string; integers and chars as their text.
struct KeySer;

fn key_error() -> Error {
    Error("a map key must be a string or an integer".into())
}

impl ser::Serializer for KeySer {
    type Ok = JsValue;
    type Error = Error;
    type SerializeSeq = ser::Impossible<JsValue, Error>;
    type SerializeTuple = ser::Impossible<JsValue, Error>;
    type SerializeTupleStruct = ser::Impossible<JsValue, Error>;
    type SerializeTupleVariant = ser::Impossible<JsValue, Error>;
    type SerializeMap = ser::Impossible<JsValue, Error>;
    type SerializeStruct = ser::Impossible<JsValue, Error>;
    type SerializeStructVariant = ser::Impossible<JsValue, Error>;

    fn serialize_str(self, v: &str) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(v))
    }
    fn serialize_char(self, v: char) -> Result<JsValue, Error> {
        Ser.serialize_char(v)
    }
    fn serialize_i8(self, v: i8) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(&v.to_string()))
    }
    fn serialize_i16(self, v: i16) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(&v.to_string()))
    }
    fn serialize_i32(self, v: i32) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(&v.to_string()))
    }
    fn serialize_i64(self, v: i64) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(&v.to_string()))
    }
    fn serialize_u8(self, v: u8) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(&v.to_string()))
    }
    fn serialize_u16(self, v: u16) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(&v.to_string()))
    }
    fn serialize_u32(self, v: u32) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(&v.to_string()))
    }
    fn serialize_u64(self, v: u64) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(&v.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, v: &T) -> Result<JsValue, Error> {
        v.serialize(self)
    }
    fn serialize_unit_variant(self, _name: &'static str, _i: u32, variant: &'static str) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(variant))
    }
    fn serialize_bool(self, _v: bool) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_f32(self, _v: f32) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _v: f64) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _v: &T) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}
