//! The flat way out (the mirror of `crate::flat`): a struct of at most [`MAX_FIELDS`]
//! fields that are all numbers or null (every built-in contract) becomes its JS object in
//! one call into JS, the numbers as arguments, instead of a new object plus one
//! `Reflect.set` call per field. The wrapper's builder (`flatBuild` in `values.js`,
//! registered with [`set_flat_out`]) makes the object with the field names of the value's
//! *shape* (the keys it serialized, in order; registered once per shape) and freezes it.
//!
//! The object is the one [`super::out::to_js`] makes: the same keys in the same order
//! (skipped fields stay out), numbers as there (an `f32` as its shortest decimal, a
//! non-finite float and `None` as `null`). Anything else (a string, a bool, a nested
//! value, an integer beyond 2^53 - 1, more fields) is not flat: `to_js` returns `None`
//! and the caller takes the general serializer, which also reports the errors.

use crate::json::f32_number;
use core::cell::RefCell;
use core::fmt;
use js_sys::{Array, Function};
use serde::ser::{self, Impossible, Serialize};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

/// The most fields of a flat struct (the builder takes this many numbers).
pub const MAX_FIELDS: usize = 8;

#[wasm_bindgen]
extern "C" {
    /// The wrapper's `flatBuild`.
    type BuildFn;
    /// `build.call(undefined, shape, nulls, a0..a7)`: the object of shape `shape`,
    /// field `i` being `null` where bit `i` of `nulls` is set, else `a_i`.
    #[wasm_bindgen(method, js_name = call)]
    #[allow(clippy::too_many_arguments)]
    fn call_build(
        this: &BuildFn,
        this_arg: &JsValue,
        shape: u32,
        nulls: u32,
        a0: f64,
        a1: f64,
        a2: f64,
        a3: f64,
        a4: f64,
        a5: f64,
        a6: f64,
        a7: f64,
    ) -> JsValue;
}

/// A shape: the `(address, length)` of each `&'static str` key, in order.
type Keys = [(usize, usize); MAX_FIELDS];

struct Builder {
    build: BuildFn,
    shape: Function,
    /// `many(ptr, len, count)`: a frozen array of `count` frozen objects read from the
    /// `len` f64s at `ptr` (per item: its shape id, then its fields, `NaN` for null).
    many: Function,
    /// The slots of a batch (reused).
    buf: Vec<f64>,
    /// Registered shapes, by their id in the builder (a handful per module).
    shapes: Vec<(Keys, usize)>,
    /// The shape found last.
    last: usize,
}

thread_local! {
    static BUILDER: RefCell<Option<Builder>> = const { RefCell::new(None) };
}

/// Registers the wrapper's builder: `build(shape, nulls, a0..a7)` makes an object,
/// `shape(names)` registers the field names of a new shape and returns its id (the
/// shapes' count before it), `many(ptr, len, count)` makes the frozen array of a batch
/// ([`many_to_js`]). Until this is called, every value takes the general way.
#[wasm_bindgen(js_name = setFlatOut)]
pub fn set_flat_out(build: Function, shape: Function, many: Function) {
    let build = build.unchecked_into();
    BUILDER.with(|b| *b.borrow_mut() = Some(Builder { build, shape, many, shapes: Vec::new(), last: 0, buf: Vec::new() }));
}

/// The fields of one value.
struct Fields {
    keys: [&'static str; MAX_FIELDS],
    vals: [f64; MAX_FIELDS],
    nulls: u32,
    n: usize,
}

/// The fields of `v` when it is a flat struct.
fn fields<T: Serialize + ?Sized>(v: &T) -> Option<Fields> {
    let mut f = Fields { keys: [""; MAX_FIELDS], vals: [0.0; MAX_FIELDS], nulls: 0, n: 0 };
    v.serialize(StructSer(&mut f)).ok()?;
    Some(f)
}

impl Builder {
    /// The id of `f`'s shape, registered in the wrapper the first time it is seen.
    fn shape_id(&mut self, f: &Fields) -> Option<u32> {
        // Most values have the shape of the one before (the last registered or found).
        if let Some((k, n)) = self.shapes.get(self.last) {
            if *n == f.n && k.iter().zip(&f.keys[..f.n]).all(|(k, key)| *k == (key.as_ptr() as usize, key.len())) {
                return Some(self.last as u32);
            }
        }
        let mut keys: Keys = [(0, 0); MAX_FIELDS];
        for (k, key) in keys.iter_mut().zip(&f.keys[..f.n]) {
            *k = (key.as_ptr() as usize, key.len());
        }
        if let Some(id) = self.shapes.iter().position(|(k, n)| *n == f.n && *k == keys) {
            self.last = id;
            return Some(id as u32);
        }
        let names: Array = f.keys[..f.n].iter().map(|k| JsValue::from_str(k)).collect();
        self.shape.call1(&JsValue::UNDEFINED, &names).ok()?;
        self.shapes.push((keys, f.n));
        self.last = self.shapes.len() - 1;
        Some(self.last as u32)
    }
}

/// `v`'s JS object when it is a flat struct (see the module docs), else `None`.
pub fn to_js<T: Serialize + ?Sized>(v: &T) -> Option<JsValue> {
    let f = fields(v)?;
    BUILDER.with(|b| {
        let mut b = b.try_borrow_mut().ok()?;
        let b = b.as_mut()?;
        let id = b.shape_id(&f)?;
        let a = &f.vals;
        Some(b.build.call_build(&JsValue::UNDEFINED, id, f.nulls, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]))
    })
}

/// The frozen JS array of `items` (frozen objects, as [`to_js`] makes them) in one call
/// into JS, when every item is a flat struct; else `None` (the caller takes the general
/// way). A field's number is never `NaN` ([`Scalar`] makes a non-finite float `null`),
/// so `NaN` stands for `null` in the batch's slots.
pub fn many_to_js<T: Serialize>(items: &[T]) -> Option<JsValue> {
    BUILDER.with(|b| {
        let mut b = b.try_borrow_mut().ok()?;
        let b = b.as_mut()?;
        let mut buf = core::mem::take(&mut b.buf);
        buf.clear();
        let mut ok = true;
        for v in items {
            let Some(f) = fields(v) else {
                ok = false;
                break;
            };
            let Some(id) = b.shape_id(&f) else {
                ok = false;
                break;
            };
            buf.push(f64::from(id));
            for (i, x) in f.vals[..f.n].iter().enumerate() {
                buf.push(if f.nulls & (1 << i) != 0 { f64::NAN } else { *x });
            }
        }
        let js = ok.then(|| {
            b.many.call3(
                &JsValue::UNDEFINED,
                &JsValue::from_f64(buf.as_ptr() as usize as f64),
                &JsValue::from_f64(buf.len() as f64),
                &JsValue::from_f64(items.len() as f64),
            )
        });
        b.buf = buf;
        js?.ok()
    })
}

/// Not a flat value (never shown: the general serializer runs instead).
#[derive(Debug)]
struct NotFlat;

impl fmt::Display for NotFlat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not flat")
    }
}

impl std::error::Error for NotFlat {}

impl ser::Error for NotFlat {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        NotFlat
    }
}

/// The value: a struct, else not flat.
struct StructSer<'a>(&'a mut Fields);

impl ser::SerializeStruct for StructSer<'_> {
    type Ok = ();
    type Error = NotFlat;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), NotFlat> {
        let f = &mut *self.0;
        if f.n == MAX_FIELDS {
            return Err(NotFlat);
        }
        match v.serialize(Scalar)? {
            Some(x) => f.vals[f.n] = x,
            None => f.nulls |= 1 << f.n,
        }
        f.keys[f.n] = key;
        f.n += 1;
        Ok(())
    }
    fn end(self) -> Result<(), NotFlat> {
        Ok(())
    }
}

/// Serializer methods that refuse (the value is not flat).
macro_rules! refuse {
    ($($name:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<$ret, NotFlat> { Err(NotFlat) })*
    };
}

impl<'a> ser::Serializer for StructSer<'a> {
    type Ok = ();
    type Error = NotFlat;
    type SerializeSeq = Impossible<(), NotFlat>;
    type SerializeTuple = Impossible<(), NotFlat>;
    type SerializeTupleStruct = Impossible<(), NotFlat>;
    type SerializeTupleVariant = Impossible<(), NotFlat>;
    type SerializeMap = Impossible<(), NotFlat>;
    type SerializeStruct = StructSer<'a>;
    type SerializeStructVariant = Impossible<(), NotFlat>;

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<StructSer<'a>, NotFlat> {
        Ok(self)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _v: &T) -> Result<(), NotFlat> {
        Err(NotFlat)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, _v: &T) -> Result<(), NotFlat> {
        Err(NotFlat)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<(), NotFlat> {
        Err(NotFlat)
    }
    refuse! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_str(&str) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Impossible<(), NotFlat>;
        serialize_tuple(usize) -> Impossible<(), NotFlat>;
        serialize_tuple_struct(&'static str, usize) -> Impossible<(), NotFlat>;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Impossible<(), NotFlat>;
        serialize_map(Option<usize>) -> Impossible<(), NotFlat>;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Impossible<(), NotFlat>;
    }
}

const MAX_SAFE: u64 = (1 << 53) - 1;

/// A field: a number (`Some`), `null` (`None`), or not flat.
struct Scalar;

impl ser::Serializer for Scalar {
    type Ok = Option<f64>;
    type Error = NotFlat;
    type SerializeSeq = Impossible<Option<f64>, NotFlat>;
    type SerializeTuple = Impossible<Option<f64>, NotFlat>;
    type SerializeTupleStruct = Impossible<Option<f64>, NotFlat>;
    type SerializeTupleVariant = Impossible<Option<f64>, NotFlat>;
    type SerializeMap = Impossible<Option<f64>, NotFlat>;
    type SerializeStruct = Impossible<Option<f64>, NotFlat>;
    type SerializeStructVariant = Impossible<Option<f64>, NotFlat>;

    fn serialize_i8(self, v: i8) -> Result<Option<f64>, NotFlat> {
        Ok(Some(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Option<f64>, NotFlat> {
        Ok(Some(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Option<f64>, NotFlat> {
        Ok(Some(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Option<f64>, NotFlat> {
        if v.unsigned_abs() > MAX_SAFE {
            return Err(NotFlat);
        }
        Ok(Some(v as f64))
    }
    fn serialize_u8(self, v: u8) -> Result<Option<f64>, NotFlat> {
        Ok(Some(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Option<f64>, NotFlat> {
        Ok(Some(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Option<f64>, NotFlat> {
        Ok(Some(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Option<f64>, NotFlat> {
        if v > MAX_SAFE {
            return Err(NotFlat);
        }
        Ok(Some(v as f64))
    }
    fn serialize_f32(self, v: f32) -> Result<Option<f64>, NotFlat> {
        Ok(v.is_finite().then(|| f32_number(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<Option<f64>, NotFlat> {
        Ok(v.is_finite().then_some(v))
    }
    fn serialize_none(self) -> Result<Option<f64>, NotFlat> {
        Ok(None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Option<f64>, NotFlat> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Option<f64>, NotFlat> {
        Ok(None)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Option<f64>, NotFlat> {
        Ok(None)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, v: &T) -> Result<Option<f64>, NotFlat> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<Option<f64>, NotFlat> {
        Err(NotFlat)
    }
    refuse! {
        serialize_bool(bool) -> Option<f64>;
        serialize_char(char) -> Option<f64>;
        serialize_str(&str) -> Option<f64>;
        serialize_bytes(&[u8]) -> Option<f64>;
        serialize_unit_variant(&'static str, u32, &'static str) -> Option<f64>;
        serialize_seq(Option<usize>) -> Impossible<Option<f64>, NotFlat>;
        serialize_tuple(usize) -> Impossible<Option<f64>, NotFlat>;
        serialize_tuple_struct(&'static str, usize) -> Impossible<Option<f64>, NotFlat>;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Impossible<Option<f64>, NotFlat>;
        serialize_map(Option<usize>) -> Impossible<Option<f64>, NotFlat>;
        serialize_struct(&'static str, usize) -> Impossible<Option<f64>, NotFlat>;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Impossible<Option<f64>, NotFlat>;
    }
}
