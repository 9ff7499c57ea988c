//! The flat fast path of a write: a value that is an object whose own fields are all
//! finite numbers named by the contract's struct (every built-in contract's current
//! version) crosses as one `f64` per field of the struct, in the struct's field order,
//! `NaN` for a field the object does not have. No keys, no strings, no tags: the wrapper
//! (`flatEncode` in `values.js`) fills the slots, the contract's own serde `Deserialize`
//! reads them as the map it would read from JSON, with each key given as the field's index
//! (what serde's derived field visitors take), so the value is the one the general path
//! (the tape, `crate::tape`) makes of the same object.
//!
//! The path only ever says yes or no: any error (a field of the wrong kind, a range
//! check, a version the struct is not: `schema_version: 1` of `temperature` names another
//! struct) is a no, and the caller goes the general way, which reports the error with its
//! field path and message. So the fast path needs no error texts of its own, and a value
//! it takes is a value the general path takes, with the same result.
//!
//! Cost: one slot write per field in JS, one wasm call, and in Rust the contract's
//! `visit_map` over indices (no string compares).

use crate::contracts::{ContractError, Input};
use crate::json::Error;
use crate::tape::visit_num;
use aimdb_data_contracts::SchemaType;
use core::cell::Cell;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};

/// The most fields a flat struct has (a bigger one goes the general way).
pub const MAX_FIELDS: usize = 32;

/// The field names of `T` when serde deserializes it as a struct (`deserialize_struct`)
/// of at most [`MAX_FIELDS`] fields; `None` for anything else (a map, an enum, a
/// `flatten`ed or hand-written `Deserialize` that does not ask for a struct).
pub fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let found = Cell::new(None);
    let _ = T::deserialize(Probe(&found));
    found.get().filter(|f: &&[&str]| !f.is_empty() && f.len() <= MAX_FIELDS)
}

/// Asks a type for its struct fields and refuses everything.
struct Probe<'a>(&'a Cell<Option<&'static [&'static str]>>);

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("probe"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        self.0.set(Some(fields));
        Err(de::Error::custom("probe"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// One value as flat slots: `vals[i]` is field `fields[i]`, `NaN` where the object has
/// no such field.
pub struct FlatInput<'a> {
    fields: &'static [&'static str],
    vals: &'a [f64],
    marks: Marks,
}

/// What the slots of a value read from JSON text (the bridge's ingest path) do not tell
/// by their numbers. Bit `i` of `floats` marks slot `i` as a float even when its value is
/// whole: written with a fraction (`21.0`), which the text path reads as a float, so an
/// integer field refuses it (serde_json: "invalid type: floating point `21.0`, expected
/// u64") and a float field takes it; unmarked, a whole number is an integer (what a JS
/// number is to the general path). Bit `i` of `nulls` marks field `i` as present with
/// `null` (its slot `NaN`): an `Option` field is `None`, any other refuses it, as the text
/// path does (absent and `null` differ for a field with a serde default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    /// Slots written with a fraction.
    pub floats: u32,
    /// Fields present as `null`.
    pub nulls: u32,
}

impl<'a> FlatInput<'a> {
    /// The slots `vals` of a struct with `fields` (as many slots as fields, else `None`).
    pub fn new(fields: &'static [&'static str], vals: &'a [f64]) -> Option<Self> {
        Self::with_marks(fields, vals, Marks::default())
    }

    /// [`new`](Self::new) for slots read from JSON text, with their [`Marks`].
    pub fn with_marks(fields: &'static [&'static str], vals: &'a [f64], marks: Marks) -> Option<Self> {
        (vals.len() == fields.len()).then_some(FlatInput { fields, vals, marks })
    }
}

/// Whether flat slots read from a JSON text (the bridge's ingest path, `ingest.js`) can
/// hold the numbers the text path
/// ([`Contract::from_json_str`](crate::contracts::Contract::from_json_str)) reads from
/// that text, as far as the numbers themselves tell: an integer is read there as an
/// exact `u64`/`i64`, here from an `f64`, so every integer must be a safe one
/// (|n| <= 2^53 - 1: beyond, an `f64` may have rounded it), and `-0` (the text's `-0`,
/// read there as a float, here as the integer 0) is refused. What the numbers do not
/// tell is the reader's: an exponent or more than 15 digits it checks on the text, a
/// fraction (`21.0`) or a `null` it marks ([`Marks`]); absent fields (`NaN`) pass.
pub fn exact_as_text(vals: &[f64]) -> bool {
    const SAFE: f64 = 9_007_199_254_740_991.0;
    vals.iter().all(|&n| n.is_nan() || n.trunc() != n || (n.abs() <= SAFE && !(n == 0.0 && n.is_sign_negative())))
}

/// `a == b`, by address first (field names are static strings, often the same one).
fn same_str(a: &str, b: &str) -> bool {
    core::ptr::eq(a, b) || a == b
}

/// The fast path's "no" (never shown: the general path reports the real error).
fn declined<T: SchemaType>() -> ContractError {
    ContractError::new(T::NAME, "", "not a flat value")
}

impl Input for FlatInput<'_> {
    fn is_array(&self) -> bool {
        false
    }

    fn field_u64(&self, key: &'static str) -> Option<Option<u64>> {
        let at = self.fields.iter().position(|f| same_str(f, key))?;
        let n = self.vals[at];
        if n.is_nan() {
            // Present as null: not a number (as the tape's `field_u64` says of a null).
            return (self.marks.nulls & (1 << at) != 0).then_some(None);
        }
        let int = self.marks.floats & (1 << at) == 0 && n >= 0.0 && n.trunc() == n && n < 18_446_744_073_709_551_616.0;
        Some(int.then_some(n as u64))
    }

    fn parse<T: SchemaType + DeserializeOwned>(&self) -> Result<T, ContractError> {
        T::deserialize(FlatDe(self)).map_err(|_| declined::<T>())
    }
}

/// The whole value: a struct with exactly the slots' fields, else an error.
struct FlatDe<'a, 'b>(&'b FlatInput<'a>);

impl<'de> Deserializer<'de> for FlatDe<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("not flat"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // Another struct (e.g. an older version the contract picked) is not these slots.
        // (The same static list as a rule: its address first, the names only if not.)
        if !core::ptr::eq(fields, self.0.fields) && fields != self.0.fields {
            return Err(de::Error::custom("not flat"));
        }
        visitor.visit_map(Fields { input: self.0, next: 0, value: Slot::Null })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// The present fields, in field order, keyed by index.
struct Fields<'a, 'b> {
    input: &'b FlatInput<'a>,
    next: usize,
    value: Slot,
}

impl<'de> MapAccess<'de> for Fields<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let FlatInput { vals, marks: Marks { floats, nulls }, .. } = *self.input;
        while let Some(&v) = vals.get(self.next) {
            let i = self.next;
            self.next += 1;
            let bit = 1 << i;
            if !v.is_nan() || nulls & bit != 0 {
                self.value = if v.is_nan() { Slot::Null } else { Slot::Num(v, floats & bit != 0) };
                return seed.deserialize(Index(i as u64)).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(self.value)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.input.vals.len().saturating_sub(self.next))
    }
}

/// A field key as its index (serde's derived field visitors take `visit_u64`).
struct Index(u64);

impl<'de> Deserializer<'de> for Index {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// A field's value: a number, read as the general path reads a number
/// (`tape::visit_num`), or as a float when marked so ([`Marks`]); or a
/// `null`. An `Option` field is `Some` of a number, `None` of a null.
#[derive(Clone, Copy)]
enum Slot {
    Num(f64, bool),
    Null,
}

impl<'de> Deserializer<'de> for Slot {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Slot::Num(v, true) => visitor.visit_f64(v),
            Slot::Num(v, false) => visit_num(v, visitor),
            Slot::Null => visitor.visit_unit(),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Slot::Null => visitor.visit_none(),
            Slot::Num(..) => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::{Contract, GpsLocation, Humidity, Setpoint, Temperature};
    use serde_json::{Map, Value};

    /// The flat slots of a JSON object of numbers (`None` if it has another field).
    fn slots(fields: &[&str], obj: &Map<String, Value>) -> Option<Vec<f64>> {
        let mut v = vec![f64::NAN; fields.len()];
        for (k, x) in obj {
            v[fields.iter().position(|f| f == k)?] = x.as_f64()?;
        }
        Some(v)
    }

    /// Every object the fast path takes gives the value the general path gives; returns
    /// whether it took it.
    fn same<T: Contract + PartialEq>(text: &str) -> bool {
        let fields = struct_fields::<T>().expect("a flat struct");
        let obj: Map<String, Value> = serde_json::from_str(text).unwrap();
        let Some(vals) = slots(fields, &obj) else { return false };
        match T::from_input(&FlatInput::new(fields, &vals).unwrap()) {
            Ok(fast) => {
                assert_eq!(Ok(fast), T::from_json_str(text).map_err(|e| e.to_string()), "{text}");
                true
            }
            Err(_) => false,
        }
    }

    #[test]
    fn the_built_in_contracts_are_flat_structs_in_field_order() {
        assert_eq!(struct_fields::<Temperature>(), Some(&["schema_version", "celsius", "timestamp"][..]));
        assert_eq!(struct_fields::<Setpoint>(), Some(&["target_celsius", "timestamp"][..]));
        assert!(struct_fields::<Humidity>().is_some());
        assert!(struct_fields::<GpsLocation>().is_some());
        assert_eq!(struct_fields::<serde_json::Value>(), None);
        assert_eq!(struct_fields::<Vec<u32>>(), None);
    }

    #[test]
    fn what_the_fast_path_takes_is_what_the_general_path_makes() {
        // Taken: current-version objects of numbers, with or without optional fields.
        for t in [
            r#"{"celsius":21.5,"timestamp":1700000000000}"#,
            r#"{"timestamp":5,"celsius":20.1}"#,
            r#"{"schema_version":2,"celsius":-0.0,"timestamp":0}"#,
            r#"{"celsius":21,"timestamp":9007199254740991}"#,
        ] {
            assert!(same::<Temperature>(t), "{t}");
        }
        assert!(same::<Setpoint>(r#"{"target_celsius":21,"timestamp":1}"#));
        assert!(same::<Humidity>(r#"{"percent":55.5,"timestamp":1}"#));
        assert!(same::<GpsLocation>(r#"{"latitude":48.2,"longitude":16.37,"timestamp":1}"#));
        assert!(same::<GpsLocation>(r#"{"latitude":48.2,"longitude":16.37,"altitude":200,"accuracy":3.5,"timestamp":1}"#));
        // Declined (the general path reports or migrates): violations, another version,
        // a missing field, a fraction where an integer goes.
        for t in [
            r#"{"schema_version":1,"celsius":21,"timestamp":1}"#,
            r#"{"schema_version":3,"celsius":21,"timestamp":1}"#,
            r#"{"celsius":21}"#,
            r#"{"celsius":21,"timestamp":1.5}"#,
            r#"{"celsius":21,"timestamp":-1}"#,
            r#"{"celsius":21,"timestamp":9007199254740992}"#,
            r#"{"celsius":1e39,"timestamp":1}"#,
        ] {
            assert!(!same::<Temperature>(t), "{t}");
        }
        assert!(!same::<Humidity>(r#"{"percent":101,"timestamp":1}"#));
        assert!(!same::<GpsLocation>(r#"{"latitude":91,"longitude":0,"timestamp":1}"#));
    }

    #[test]
    fn exact_as_text_refuses_what_json_parse_rounds_or_signs() {
        assert!(exact_as_text(&[2.0, 21.5, 1_795_000_000_000.0, f64::NAN, -3.0, 9_007_199_254_740_991.0]));
        assert!(exact_as_text(&[0.0, -0.5, 1e-300, 4_503_599_627_370_495.5]));
        assert!(!exact_as_text(&[9_007_199_254_740_992.0]));
        assert!(!exact_as_text(&[1.0, -9_007_199_254_740_992.0]));
        assert!(!exact_as_text(&[-0.0]));
        assert!(!exact_as_text(&[1e300]));
    }

    /// The decimals `ingest.js` takes to the flat path (at most 15 digits, no exponent;
    /// those with an all-zero fraction are whole, exact either way), which it reads as `M / 10^k` (M the digits, k the fraction
    /// digits: one correctly rounded division): the text path (serde_json's parser,
    /// which without `float_roundtrip` is exact only for these: the same division)
    /// reads each as a correct parse does (Rust's `str::parse`, as `JSON.parse`), for
    /// `f32` and `f64` fields alike (the same `f64`, then the same `as f32`).
    #[test]
    fn short_decimals_read_the_same_by_the_text_path_and_a_correct_parse() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut checked = 0;
        for _ in 0..200_000 {
            // -89.x .. 89.x with 1..=13 fraction digits (at most 15 digits), the last
            // one not 0, some with leading zeros after the point.
            let r = next();
            let k = 1 + (r % 13) as u32;
            let frac = (next() % 10u64.pow(k - 1)) * 10 + 1 + (r >> 8) % 9;
            let sign = if r & 1 << 40 != 0 { "-" } else { "" };
            let text = format!("{sign}{}.{:0w$}", (r >> 16) % 90, frac, w = k as usize);
            let want: f64 = text.parse().unwrap();
            let m = ((r >> 16) % 90 * 10u64.pow(k) + frac) as f64 / 10f64.powi(k as i32);
            assert_eq!(if sign.is_empty() { m } else { -m }.to_bits(), want.to_bits(), "{text}");
            let json = format!(r#"{{"latitude":{text},"longitude":{text},"timestamp":1}}"#);
            let t = GpsLocation::from_json_str(&json);
            let fields = struct_fields::<GpsLocation>().unwrap();
            let mut vals = vec![f64::NAN; fields.len()];
            for (f, v) in fields.iter().zip(vals.iter_mut()) {
                match *f {
                    "latitude" | "longitude" => *v = want,
                    "timestamp" => *v = 1.0,
                    _ => {}
                }
            }
            let flat = GpsLocation::from_input(&FlatInput::new(fields, &vals).unwrap());
            assert_eq!(t.is_ok(), flat.is_ok(), "{text}");
            if let (Ok(t), Ok(f)) = (t, flat) {
                assert_eq!(format!("{t:?}"), format!("{f:?}"), "{text}");
                checked += 1;
            }
            let c = format!(r#"{{"celsius":{text},"timestamp":1}}"#);
            let fields = struct_fields::<Temperature>().unwrap();
            let flat = Temperature::from_input(&FlatInput::new(fields, &[f64::NAN, want, 1.0]).unwrap());
            match (Temperature::from_json_str(&c), flat) {
                (Ok(t), Ok(f)) => assert_eq!(format!("{t:?}"), format!("{f:?}"), "{text}"),
                (t, f) => assert_eq!(t.is_ok(), f.is_ok(), "{text}"),
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    /// Why `ingest.js` sends longer decimals the text way: serde_json's default parser
    /// rounds twice for them, and some read differently from `JSON.parse`.
    #[test]
    fn long_decimals_can_read_differently_by_the_text_path() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut differ = 0;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let text = format!("0.{:017}", x % 100_000_000_000_000_000);
            let serde: f64 = serde_json::from_str(&text).unwrap();
            if serde.to_bits() != text.parse::<f64>().unwrap().to_bits() {
                differ += 1;
            }
        }
        assert!(differ > 0);
    }

    /// A slot marked a float (`21.0` in the text) reads as the text path reads the text:
    /// a float field takes it, an integer field (or the version) refuses it.
    #[test]
    fn float_marked_slots_read_as_the_text_path_reads_a_fraction() {
        let f = struct_fields::<Temperature>().unwrap();
        let read = |vals: &[f64], floats| Temperature::from_input(&FlatInput::with_marks(f, vals, Marks { floats, nulls: 0 }).unwrap()).ok();
        let text = |t: &str| Temperature::from_json_str(t).ok();
        // celsius 21.0 (bit 1): taken, as the text.
        assert_eq!(read(&[f64::NAN, 21.0, 5.0], 0b010), text(r#"{"celsius":21.0,"timestamp":5}"#));
        assert!(read(&[f64::NAN, 21.0, 5.0], 0b010).is_some());
        // timestamp 5.0 (bit 2), schema_version 2.0 (bit 0): refused, as the text.
        assert_eq!(text(r#"{"celsius":21,"timestamp":5.0}"#), None);
        assert_eq!(read(&[f64::NAN, 21.0, 5.0], 0b100), None);
        assert_eq!(text(r#"{"schema_version":2.0,"celsius":21,"timestamp":5}"#), None);
        assert_eq!(read(&[2.0, 21.0, 5.0], 0b001), None);
        // Unmarked, the same numbers are integers where the struct wants them.
        assert!(read(&[2.0, 21.0, 5.0], 0).is_some());
        assert_eq!(FlatInput::with_marks(f, &[2.0, 21.0, 5.0], Marks { floats: 0b001, nulls: 0 }).unwrap().field_u64("schema_version"), Some(None));
    }

    /// A field marked null reads as the text path reads `null`: an `Option` field is
    /// `None`, another refuses it; the version dispatch sees a present non-integer.
    #[test]
    fn null_marked_fields_read_as_the_text_path_reads_null() {
        let f = struct_fields::<GpsLocation>().unwrap();
        let at = |name: &str| f.iter().position(|x| *x == name).unwrap();
        let mut vals = vec![f64::NAN; f.len()];
        vals[at("latitude")] = 48.2;
        vals[at("longitude")] = 16.37;
        vals[at("timestamp")] = 1.0;
        let read = |vals: &[f64], nulls: u32| {
            GpsLocation::from_input(&FlatInput::with_marks(f, vals, Marks { floats: 0, nulls }).unwrap()).ok()
        };
        let text = |t: &str| GpsLocation::from_json_str(t).ok();
        let alt_null = read(&vals, 1 << at("altitude"));
        assert!(alt_null.is_some());
        assert_eq!(alt_null, text(r#"{"latitude":48.2,"longitude":16.37,"altitude":null,"timestamp":1}"#));
        vals[at("latitude")] = f64::NAN;
        assert_eq!(text(r#"{"latitude":null,"longitude":16.37,"timestamp":1}"#), None);
        assert_eq!(read(&vals, 1 << at("latitude")), None);
        let t = struct_fields::<Temperature>().unwrap();
        let input = FlatInput::with_marks(t, &[f64::NAN, 21.0, 5.0], Marks { floats: 0, nulls: 1 }).unwrap();
        assert_eq!(input.field_u64("schema_version"), Some(None));
        assert_eq!(Temperature::from_input(&input).ok(), None);
        assert_eq!(Temperature::from_json_str(r#"{"schema_version":null,"celsius":21,"timestamp":5}"#).ok(), None);
    }

    #[test]
    fn slots_must_match_the_fields() {
        let f = struct_fields::<Setpoint>().unwrap();
        assert!(FlatInput::new(f, &[1.0]).is_none());
        let input = FlatInput::new(f, &[21.0, f64::NAN]).unwrap();
        assert_eq!(input.field_u64("target_celsius"), Some(Some(21)));
        assert_eq!(input.field_u64("timestamp"), None);
        assert_eq!(input.field_u64("nope"), None);
        assert!(Setpoint::from_input(&input).is_err());
    }
}
