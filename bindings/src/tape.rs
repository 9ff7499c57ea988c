//! The tape: the one typed reader of the contracts. A JS value as the npm wrapper encodes
//! it into wasm memory (`tapeEncode` in `values.js`, the glue in `js::tape`) is read
//! straight into a contract type in one wasm call: no call back into JS per field and no
//! JSON text. JSON text goes on a tape too ([`TextTape`]: parsed into a [`Json`], which
//! keeps `serde_json::Value`'s key order, duplicates and exact numbers) and is read by
//! the same deserializer.
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
//! | (JSON text only) integer >= 0 / < 0 | `U64` / `I64`, its high and low 32 bits |
//! | (JSON text only) other number | `F64`, the number |
//!
//! A key is the id of an interned key string ([`intern_key`], `>= 0`) or `-(1 + i)` for
//! `strs[i]`. The encoder writes what `JSON.stringify` would carry (fields that are
//! `undefined`, functions or symbols left out, in arrays `null`; `toJSON` is not called)
//! and gives up on anything else: a non-finite number, a BigInt, nesting deeper than 128,
//! a getter that throws, a call made while it encodes (a getter calling `db.set`). Then
//! the wrapper reports what JSON cannot carry at its path, or passes JSON text (read by
//! [`Contract::from_json_str`](crate::contracts::Contract::from_json_str)).
//! A `NUM` reads as JSON text carries it (integers as `u64` / `i64`, `-0` as `0`); the
//! text tags read exactly as `Value`'s numbers do.

use crate::contracts::{with_missing_field, ContractError, Input};
use crate::json::{Chain, Error, Json, Track};
use aimdb_data_contracts::SchemaType;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use std::borrow::Cow;

const NULL: f64 = 0.0;
const FALSE: f64 = 1.0;
const TRUE: f64 = 2.0;
const NUM: f64 = 3.0;
const STR: f64 = 4.0;
const ARR: f64 = 5.0;
const OBJ: f64 = 6.0;
const U64: f64 = 7.0;
const I64: f64 = 8.0;
const F64: f64 = 9.0;

/// Where a tape's strings are (`STR` slots and negative keys index them).
pub trait Strings {
    /// String `i` (`""` if there is none), borrowed where it can be.
    fn string_at(&self, i: u32) -> Cow<'_, str>;
}

impl Strings for Vec<String> {
    fn string_at(&self, i: u32) -> Cow<'_, str> {
        Cow::Borrowed(self.get(i as usize).map_or("", |s| s.as_str()))
    }
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

/// A run of slots, with its strings and the interned keys, as a contract [`Input`].
pub struct Tape<'a> {
    s: &'a [f64],
    strs: &'a dyn Strings,
    keys: &'a [Box<str>],
}

/// JSON text on a tape: [`Json`]'s values with their numbers exact, strings and keys in
/// the tape's own string list.
pub struct TextTape {
    s: Vec<f64>,
    strs: Vec<String>,
}

impl TextTape {
    /// `value` written onto a tape.
    pub fn new(value: Json) -> Self {
        let mut t = TextTape { s: Vec::new(), strs: Vec::new() };
        t.push(value);
        t
    }

    fn string(&mut self, s: String) -> f64 {
        self.strs.push(s);
        (self.strs.len() - 1) as f64
    }

    fn bits(&mut self, tag: f64, n: u64) {
        self.s.extend([tag, (n >> 32) as f64, (n & 0xffff_ffff) as f64]);
    }

    fn push(&mut self, v: Json) {
        match v {
            Json::Null => self.s.push(NULL),
            Json::Bool(b) => self.s.push(if b { TRUE } else { FALSE }),
            Json::U64(n) => self.bits(U64, n),
            Json::I64(n) => self.bits(I64, n as u64),
            Json::F64(x) => self.s.extend([F64, x]),
            Json::Str(s) => {
                let i = self.string(s);
                self.s.extend([STR, i]);
            }
            Json::Arr(a) => {
                self.s.extend([ARR, a.len() as f64]);
                a.into_iter().for_each(|x| self.push(x));
            }
            Json::Obj(m) => {
                self.s.extend([OBJ, m.len() as f64]);
                for (k, x) in m {
                    let i = self.string(k);
                    self.s.push(-1.0 - i);
                    self.push(x);
                }
            }
        }
    }

    /// The tape to read.
    pub fn tape(&self) -> Tape<'_> {
        Tape { s: &self.s, strs: &self.strs, keys: &[] }
    }
}

impl<'a> Tape<'a> {
    /// The slots `s`, their strings `strs` and the interned `keys`.
    pub fn new(s: &'a [f64], strs: &'a dyn Strings, keys: &'a [Box<str>]) -> Self {
        Tape { s, strs, keys }
    }

    fn tag(&self, at: usize) -> f64 {
        self.s.get(at).copied().unwrap_or(NULL)
    }

    /// The count after `ARR` / `OBJ`, never more than the slots left (a tape is made by
    /// the wrapper; this only keeps a broken one from looping).
    fn count(&self, at: usize) -> usize {
        let n = self.s.get(at + 1).copied().unwrap_or(0.0);
        (n.max(0.0) as usize).min(self.s.len().saturating_sub(at))
    }

    fn string(&self, i: f64) -> Cow<'a, str> {
        self.strs.string_at(i as u32)
    }

    /// The integer of a `U64` / `I64` at `at`.
    fn bits(&self, at: usize) -> u64 {
        ((self.tag(at + 1) as u64) << 32) | self.tag(at + 2) as u64
    }

    fn key(&self, slot: f64) -> Cow<'a, str> {
        if slot >= 0.0 {
            Cow::Borrowed(self.keys.get(slot as usize).map_or("", |k| &**k))
        } else {
            self.string(-slot - 1.0)
        }
    }

    /// The slot after the value at `at`.
    fn skip(&self, at: usize) -> usize {
        let t = self.tag(at);
        if t == NUM || t == STR || t == F64 {
            at + 2
        } else if t == U64 || t == I64 {
            at + 3
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
                if self.t.tag(p + 1) == U64 {
                    return Some(Some(self.t.bits(p + 1)));
                }
                let n = self.t.tag(p + 2);
                let int = self.t.tag(p + 1) == NUM && n >= 0.0 && n.trunc() == n && n < 18_446_744_073_709_551_616.0;
                return Some(int.then_some(n as u64));
            }
            p = self.t.skip(p + 1);
        }
        None
    }

    fn parse<T: SchemaType + DeserializeOwned>(&self) -> Result<T, ContractError> {
        self.deserialize().map_err(|(path, e)| with_missing_field(T::NAME, path, e.to_string()))
    }
}

impl TapeInput<'_, '_> {
    /// Deserializes `T`, and on failure says where, as `serde_path_to_error` would: the
    /// path (`""` for the whole value, `a.b`, `list[1]`) and the error. The tracking is
    /// built into the deserializer (no per-type copies of a tracking layer).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, (String, Error)> {
        let track = Track::new();
        match T::deserialize(TapeDe { t: self.t, at: self.at, chain: &Chain::Root, track: &track }) {
            Ok(v) => Ok(v),
            Err(e) => Err((track.path(), e)),
        }
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
        } else if t == NUM || t == F64 {
            Unexpected::Float(self.t.tag(self.at + 1))
        } else if t == U64 {
            Unexpected::Unsigned(self.t.bits(self.at))
        } else if t == I64 {
            Unexpected::Signed(self.t.bits(self.at) as i64)
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
        } else if t == U64 {
            visitor.visit_u64(self.t.bits(self.at))
        } else if t == I64 {
            visitor.visit_i64(self.t.bits(self.at) as i64)
        } else if t == F64 {
            visitor.visit_f64(self.t.tag(self.at + 1))
        } else if t == STR {
            match self.t.string(self.t.tag(self.at + 1)) {
                Cow::Borrowed(s) => visitor.visit_str(s),
                Cow::Owned(s) => visitor.visit_string(s),
            }
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
        } else if t == NUM || t == STR || t == U64 || t == I64 || t == F64 {
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
            visitor.visit_enum(Variant { t: self.t, name: self.t.string(self.t.tag(self.at + 1)), at: None, chain, track })
        } else if t == OBJ && self.t.count(self.at) == 1 {
            let name = self.t.key(self.t.tag(self.at + 2));
            visitor.visit_enum(Variant { t: self.t, name, at: Some(self.at + 3), chain, track })
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

/// An enum as `Value` presents it: a variant name, with the content of `{ name: content }`
/// (`None` for a name given as a string).
struct Variant<'t, 'a, 'c> {
    t: &'t Tape<'a>,
    name: Cow<'a, str>,
    /// The content's slot.
    at: Option<usize>,
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
            // An unknown variant is reported at the enum itself.
            Err(e) => Err(self.track.trigger(self.chain, e)),
        }
    }
}

impl<'t, 'a> Variant<'t, 'a, '_> {
    /// The content, if it has tag `want`; else `Value`'s "invalid type" for a `kind`.
    fn content<R>(self, want: f64, kind: &'static str, f: impl FnOnce(TapeDe<'t, 'a, '_>) -> Result<R, Error>) -> Result<R, Error> {
        let chain = Chain::Key { parent: self.chain, key: &self.name };
        let track = self.track;
        match self.at {
            Some(at) if want.is_nan() || self.t.tag(at) == want => f(TapeDe { t: self.t, at, chain: &chain, track }),
            Some(at) => Err(de::Error::invalid_type(TapeDe { t: self.t, at, chain: &chain, track }.unexpected(), &kind)),
            None => Err(de::Error::invalid_type(Unexpected::UnitVariant, &kind)),
        }
        .map_err(|e| track.trigger(&chain, e))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_, '_, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        if self.at.is_none() {
            return Ok(());
        }
        self.content(f64::NAN, "unit variant", |d| <() as de::Deserialize>::deserialize(d))
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        self.content(f64::NAN, "newtype variant", |de| seed.deserialize(de))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.content(ARR, "tuple variant", |de| de.deserialize_any(visitor))
    }
    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        self.content(OBJ, "struct variant", |de| de.deserialize_struct("", fields, visitor))
    }
}

#[cfg(test)]
mod tests {
    use crate::contracts::{Contract, GpsLocation, Humidity, Setpoint, Temperature};

    /// JSON text on the tape reads as its `serde_json::Value` does: exact integers past
    /// 2^53, integers vs floats (`2` vs `2.0`), negatives, sorted and duplicate keys.
    fn same<T: Contract + PartialEq>(text: &str) {
        let value = serde_json::from_str(text).unwrap();
        assert_eq!(T::from_json_str(text), T::from_json_value(value), "{}: {text}", T::NAME);
    }

    #[test]
    fn text_reads_as_value() {
        for text in [
            r#"{"celsius":21.5,"timestamp":9007199254740993}"#,
            r#"{"celsius":21.5,"timestamp":18446744073709551615}"#,
            r#"{"celsius":21.5,"timestamp":18446744073709551616}"#,
            r#"{"celsius":21.5,"timestamp":-9223372036854775808}"#,
            r#"{"celsius":21.5,"timestamp":-1}"#,
            r#"{"celsius":21.5,"timestamp":5.0}"#,
            r#"{"celsius":21,"timestamp":5,"schema_version":2}"#,
            r#"{"celsius":21,"timestamp":5,"schema_version":2.0}"#,
            r#"{"celsius":21,"timestamp":5,"schema_version":-2}"#,
            r#"{"celsius":21,"timestamp":5,"schema_version":18446744073709551615}"#,
            r#"{"schema_version":1,"value":70,"unit":"F","timestamp":3}"#,
            r#"{"schema_version":1,"value":70,"unit":5,"timestamp":3}"#,
            r#"{"schema_version":1,"value":70,"unit":-5,"timestamp":3}"#,
            r#"{"schema_version":1,"value":70,"unit":{"F":1},"timestamp":3}"#,
            r#"{"timestamp":1,"celsius":"x","timestamp":2,"celsius":3}"#,
            r#"{"zz":1,"celsius":"x"}"#,
            r#"{"percent":50,"timestamp":1}"#,
            r#"{"target_celsius":1e39,"timestamp":1}"#,
            r#"{"latitude":-91.5,"longitude":0,"timestamp":0}"#,
            r#"{"latitude":1,"longitude":2,"timestamp":0,"altitude":-3}"#,
            r#"[1,2]"#,
            r#"5"#,
            r#"-5"#,
            r#""x""#,
            r#"null"#,
        ] {
            same::<Temperature>(text);
            same::<Humidity>(text);
            same::<GpsLocation>(text);
            same::<Setpoint>(text);
        }
    }
}
