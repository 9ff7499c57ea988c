//! [`Json`]: a small JSON value for option parsing and the contracts' first pass, used
//! instead of `serde_json::Value` (whose `BTreeMap` map and `Deserializer` impls cost
//! ~10 KB gzipped of wasm).
//!
//! It keeps `Value`'s observable behaviour: it is parsed by serde_json's own parser
//! (same syntax errors, same numbers), object keys are kept sorted with the last of
//! duplicate keys winning (`Value`'s map is a `BTreeMap`), it displays as `Value` does
//! (compact JSON, keys in that order). Types are read from it on a tape
//! ([`crate::tape::TextTape`]), by the one typed reader, which visits what `&Value`'s
//! deserializer visits (so types parse with `Value`'s order and error messages) and
//! reports the path of a failure as `serde_path_to_error` does. One difference: a struct
//! is read from an object only, never from an array (serde's tuple form).

use core::fmt;
use serde::de::{self, Deserialize, Deserializer, Expected, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::ser::{Serialize, Serializer};

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// A non-negative integer (`Value`'s `PosInt`).
    U64(u64),
    /// A negative integer.
    I64(i64),
    F64(f64),
    Str(String),
    Arr(Vec<Json>),
    /// Sorted by key, keys unique.
    Obj(Vec<(String, Json)>),
}

/// The most characters of one piece of input (a key, a string value, a field name) an
/// error text quotes; longer pieces are cut, with `…` appended.
pub const EXCERPT_CHARS: usize = 200;

/// The most characters of a whole error message built from a serde message (a safety
/// net over [`EXCERPT_CHARS`] for messages whose pieces are not cut one by one).
pub const MESSAGE_CHARS: usize = 600;

/// `d` as text, at most `max_chars` characters, with `…` appended when it was cut.
/// Formatting stops at the cut, so quoting a 40 MB input costs no more than its excerpt.
pub fn excerpt(d: &dyn fmt::Display, max_chars: usize) -> String {
    struct Capped {
        out: String,
        left: usize,
        cut: bool,
    }
    impl fmt::Write for Capped {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let mut taken = 0;
            for (at, _) in s.char_indices() {
                if taken == self.left {
                    self.out.push_str(s.get(..at).unwrap_or(""));
                    self.cut = true;
                    return Err(fmt::Error);
                }
                taken += 1;
            }
            self.left -= taken;
            self.out.push_str(s);
            Ok(())
        }
    }
    let mut w = Capped { out: String::new(), left: max_chars, cut: false };
    let _ = fmt::write(&mut w, format_args!("{d}"));
    if w.cut {
        w.out.push('…');
    }
    w.out
}

/// A value as an error text quotes it: scalars as JSON writes them, strings cut to
/// [`EXCERPT_CHARS`], arrays and objects by kind only (never the whole input).
pub struct Shown<'a>(pub &'a Json);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Json::Str(s) => DebugStr(&excerpt(s, EXCERPT_CHARS)).fmt(f),
            Json::Arr(_) => f.write_str("an array"),
            Json::Obj(_) => f.write_str("an object"),
            scalar => scalar.fmt(f),
        }
    }
}

/// Parses JSON text (trailing characters other than whitespace are an error).
pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
    serde_json::from_str(text)
}

impl Json {
    /// `Value::get` for a string key: `None` unless an object with `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok().map(|i| &m[i].1),
            _ => None,
        }
    }

    /// `Value::as_u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::U64(n) => Some(*n),
            _ => None,
        }
    }

    /// `Value::as_str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// serde's description of the value, as `Value::unexpected` gives it.
    pub fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Json::Null => Unexpected::Unit,
            Json::Bool(b) => Unexpected::Bool(*b),
            Json::U64(n) => Unexpected::Unsigned(*n),
            Json::I64(n) => Unexpected::Signed(*n),
            Json::F64(f) => Unexpected::Float(*f),
            Json::Str(s) => Unexpected::Str(s),
            Json::Arr(_) => Unexpected::Seq,
            Json::Obj(_) => Unexpected::Map,
        }
    }
}

/// Inserts into a sorted object, replacing the value of an existing key.
pub(crate) fn insert(m: &mut Vec<(String, Json)>, key: String, value: Json) {
    match m.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
        Ok(i) => m[i].1 = value,
        Err(i) => m.insert(i, (key, value)),
    }
}

/// Removes `key` from a sorted object.
pub(crate) fn remove(m: &mut Vec<(String, Json)>, key: &str) -> Option<Json> {
    let i = m.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
    Some(m.remove(i).1)
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
        Ok(if n < 0 { Json::I64(n) } else { Json::U64(n as u64) })
    }
    fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
        Ok(Json::U64(n))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Json, E> {
        Ok(Json::F64(f))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Json, E> {
        Ok(Json::Str(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::Str(s))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Json::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut v = Vec::new();
        while let Some(e) = seq.next_element()? {
            v.push(e);
        }
        Ok(Json::Arr(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut m: Vec<(String, Json)> = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value()?;
            m.push((k, v));
        }
        // Sorted, the last of equal keys kept (O(n log n) whatever the input order).
        if !m.windows(2).all(|w| w[0].0 < w[1].0) {
            m = merge_sort_by(m, &|a: &(String, Json), b: &(String, Json)| a.0 < b.0);
            m.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    core::mem::swap(&mut later.1, &mut kept.1);
                }
                same
            });
        }
        Ok(Json::Obj(m))
    }
}

/// `v` sorted by `less`, stably (equal items keep their order): a merge sort, because
/// `slice::sort_by` / `sort_by_key` link a general sort (~1-2 KB gzipped of wasm per use).
/// Object keys here, a backfill's history by `ts` (`js::backfill`).
pub(crate) fn merge_sort_by<T>(mut v: Vec<T>, less: &impl Fn(&T, &T) -> bool) -> Vec<T> {
    if v.len() < 2 {
        return v;
    }
    let right = merge_sort_by(v.split_off(v.len() / 2), less);
    let left = merge_sort_by(v, less);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut right = right.into_iter().peekable();
    for a in left {
        while let Some(b) = right.next_if(|b| less(b, &a)) {
            out.push(b);
        }
        out.push(a);
    }
    out.extend(right);
    out
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::U64(n) => s.serialize_u64(*n),
            Json::I64(n) => s.serialize_i64(*n),
            Json::F64(f) => s.serialize_f64(*f),
            Json::Str(v) => s.serialize_str(v),
            Json::Arr(v) => s.collect_seq(v),
            Json::Obj(m) => s.collect_map(m.iter().map(|(k, v)| (k, v))),
        }
    }
}

/// The error of deserializing from a `&Json`: the message serde_json gives for a `Value`.
///
/// Its own type rather than `serde_json::Error` so that no serde error message is
/// formatted through `Unexpected`'s `Display`, whose (never used) float arm would bring
/// `core`'s float formatting (~7 KB gzipped) into the wasm module: floats are written as
/// serde_json writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// serde's list of expected names (its private `OneOf`): `` `a` ``, `` `a` or `b` ``,
/// `` one of `a`, `b`, `c` ``.
struct OneOf(&'static [&'static str]);

impl fmt::Display for OneOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [a] => write!(f, "`{a}`"),
            [a, b] => write!(f, "`{a}` or `{b}`"),
            names => {
                f.write_str("one of ")?;
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{n}`")?;
                }
                Ok(())
            }
        }
    }
}

/// serde's messages, with the input they quote cut to [`EXCERPT_CHARS`] (and the whole
/// message to [`MESSAGE_CHARS`]): a 40 MB field name or string is not echoed back.
impl de::Error for Error {
    #[cold]
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(excerpt(&msg, MESSAGE_CHARS))
    }
    #[cold]
    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let variant = excerpt(&variant, EXCERPT_CHARS);
        match expected {
            [] => Error(format!("unknown variant `{variant}`, there are no variants")),
            _ => Error(format!("unknown variant `{variant}`, expected {}", OneOf(expected))),
        }
    }
    #[cold]
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let field = excerpt(&field, EXCERPT_CHARS);
        match expected {
            [] => Error(format!("unknown field `{field}`, there are no fields")),
            _ => Error(format!("unknown field `{field}`, expected {}", OneOf(expected))),
        }
    }
    #[cold]
    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Error(format!("invalid type: {}, expected {}", Unexp(unexp), exp))
    }
    #[cold]
    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Error(format!("invalid value: {}, expected {}", Unexp(unexp), exp))
    }
}

/// `Unexpected` as serde_json describes it (`null`, floats as JSON writes them).
struct Unexp<'a>(Unexpected<'a>);

impl fmt::Display for Unexp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Unexpected::*;
        match self.0 {
            Bool(b) => write!(f, "boolean `{b}`"),
            Unsigned(i) => write!(f, "integer `{i}`"),
            Signed(i) => write!(f, "integer `{i}`"),
            Float(x) => write!(f, "floating point `{}`", float(x)),
            Char(c) => write!(f, "character `{c}`"),
            Str(s) => write!(f, "string {}", DebugStr(&excerpt(&s, EXCERPT_CHARS))),
            Bytes(_) => f.write_str("byte array"),
            Unit => f.write_str("null"),
            Option => f.write_str("Option value"),
            NewtypeStruct => f.write_str("newtype struct"),
            Seq => f.write_str("sequence"),
            Map => f.write_str("map"),
            Enum => f.write_str("enum"),
            UnitVariant => f.write_str("unit variant"),
            NewtypeVariant => f.write_str("newtype variant"),
            TupleVariant => f.write_str("tuple variant"),
            StructVariant => f.write_str("struct variant"),
            Other(other) => f.write_str(other),
        }
    }
}

/// A string as `{:?}` writes it (quoted, escaped), without `str`'s `Debug` impl (which
/// brings `core`'s slice-error panic path along): every character as
/// `char::escape_debug` escapes it, except that `'` stays as it is.
pub(crate) struct DebugStr<'a>(pub &'a str);

impl fmt::Display for DebugStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '\'' => f.write_char(c)?,
                _ => {
                    for e in c.escape_debug() {
                        f.write_char(e)?;
                    }
                }
            }
        }
        f.write_char('"')
    }
}

/// A float as serde_json writes it (`1.0`, `1e39`; `NaN`, `inf`, `-inf` as `std`
/// does), without `core`'s float formatting.
pub(crate) fn float(x: f64) -> String {
    match serde_json::Number::from_f64(x) {
        Some(n) => n.to_string(),
        None if x.is_nan() => "NaN".into(),
        None if x > 0.0 => "inf".into(),
        None => "-inf".into(),
    }
}

/// Powers of ten a `f64` holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// The `f64` nearest to `x`'s shortest decimal (what `JSON.parse` of serde_json's text
/// of `x` gives: `20.1f32` is `20.1`, not `20.100000381469727`). Clinger's fast path (digits < 2^53, |exponent| <= 22: one rounding);
/// anything else through serde_json's parser.
pub fn f32_number(x: f32) -> f64 {
    if !x.is_finite() {
        return f64::NAN;
    }
    if let Some(v) = f32_short(x) {
        return v;
    }
    // serde_json's text of an f32 (it writes it with zmij's `format_finite`, as here):
    // its shortest decimal, on the stack.
    let mut buf = zmij::Buffer::new();
    let s = buf.format_finite(x);
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (mant, exp) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()),
        None => (body, Some(0)),
    };
    let mut digits: u64 = 0;
    let mut frac: i32 = 0;
    let mut seen_dot = false;
    let mut ok = exp.is_some();
    for c in mant.bytes() {
        match c {
            b'.' => seen_dot = true,
            b'0'..=b'9' => {
                digits = digits * 10 + u64::from(c - b'0');
                if seen_dot {
                    frac += 1;
                }
                if digits >= 1 << 53 {
                    ok = false;
                    break;
                }
            }
            _ => ok = false,
        }
    }
    let e = exp.unwrap_or(0) - frac;
    if ok && (-22..=22).contains(&e) {
        let m = digits as f64;
        let v = if e >= 0 { m * POW10[e as usize] } else { m / POW10[(-e) as usize] };
        return if neg { -v } else { v };
    }
    // Through the `Json` parser, not `from_str::<f64>`: serde_json's typed errors would
    // bring `core`'s float formatting into the wasm module.
    match parse(s) {
        Ok(Json::F64(v)) => v,
        Ok(Json::U64(v)) => v as f64,
        Ok(Json::I64(v)) => v as f64,
        _ => f64::from(x),
    }
}

/// [`f32_number`] without formatting, for most values (`None`: not decided here): the
/// shortest decimal is `m / 10^d` for the smallest `d` at which a decimal of `d`
/// fractional digits rounds to `x`, when that decimal is the only one of its scale that
/// does (then it has the fewest significant digits, so it is the one a shortest-decimal
/// writer picks). A decimal rounds to `x` when its `f64` lies strictly between the
/// midpoints to `x`'s neighbours (exact in `f64`); one on a midpoint is not decided
/// here. `m / 10^d` is what `JSON.parse` gives for the text: `m < 2^53` and `10^d`
/// are exact, so the division rounds once.
fn f32_short(x: f32) -> Option<f64> {
    let a = x.abs();
    if a == 0.0 {
        return Some(f64::from(x));
    }
    if a >= 16_777_216.0 {
        return None;
    }
    let (b, af) = (a.to_bits(), f64::from(a));
    let lo = (af + f64::from(f32::from_bits(b - 1))) / 2.0;
    let hi = (af + f64::from(f32::from_bits(b + 1))) / 2.0;
    // A decimal `k / p` that rounds to `x` is within the wider half-gap of `a * p`; the
    // integer nearest to it is `m`, and `m - 1`, `m + 1` are no nearer.
    let reach = (af - lo).max(hi - af) * (1.0 + 1e-9);
    for p in &POW10[..12] {
        let t = af * p;
        let m = t.round();
        if m >= 9_007_199_254_740_991.0 {
            return None;
        }
        let r = reach * p + t * 1e-15;
        if (t - m).abs() > r {
            continue;
        }
        // Within `r` of `t` (< 1/2): `m` only; `m - 1` and `m + 1` are at least 1/2 away.
        let ks = [m - 1.0, m, m + 1.0];
        let mut found = None;
        for &k in if r < 0.5 { &ks[1..2] } else { &ks[..] } {
            let c = k / p;
            if c == lo || c == hi {
                return None;
            }
            if lo < c && c < hi {
                if found.is_some() {
                    return None;
                }
                found = Some(c);
            }
        }
        if let Some(c) = found {
            return Some(if x < 0.0 { -c } else { c });
        }
    }
    None
}

/// The path of the first (innermost) failure (shared by the deserializers with built-in
/// path tracking: this one and `js::value`'s).
pub(crate) struct Track(core::cell::RefCell<Option<String>>);

impl Track {
    pub(crate) fn new() -> Self {
        Track(core::cell::RefCell::new(None))
    }

    /// The path recorded, `""` if none.
    pub(crate) fn path(self) -> String {
        self.0.into_inner().unwrap_or_default()
    }

    /// Records `chain` as the failure's path unless an inner one was recorded first.
    pub(crate) fn trigger(&self, chain: &Chain<'_, '_>, e: Error) -> Error {
        let mut path = self.0.borrow_mut();
        if path.is_none() {
            *path = Some(chain.render());
        }
        e
    }
}

/// Where a deserializer is, from the root.
pub(crate) enum Chain<'de, 'c> {
    Root,
    Seq { parent: &'c Chain<'de, 'c>, index: usize },
    /// An object key, or an enum variant.
    Key { parent: &'c Chain<'de, 'c>, key: &'de str },
}

impl Chain<'_, '_> {
    /// serde_path_to_error's `Path` display, `""` for the root; each key cut to
    /// [`EXCERPT_CHARS`].
    fn render(&self) -> String {
        let mut segments = Vec::new();
        let mut at = self;
        loop {
            match at {
                Chain::Root => break,
                Chain::Seq { parent, index } => {
                    segments.push(format!("[{index}]"));
                    at = parent;
                }
                Chain::Key { parent, key } => {
                    segments.push(excerpt(key, EXCERPT_CHARS));
                    at = parent;
                }
            }
        }
        let mut out = String::new();
        for (i, seg) in segments.iter().rev().enumerate() {
            if i > 0 && !seg.starts_with('[') {
                out.push('.');
            }
            out.push_str(seg);
        }
        out
    }
}

/// Compact JSON, as `Value`'s `Display`.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn f32_number_is_the_shortest_decimal_parsed() {
        let want = |x: f32| serde_json::from_str::<f64>(&serde_json::to_string(&x).unwrap()).unwrap();
        for x in [20.1f32, 21.5, 0.0, -0.0, -0.1, 1e-7, f32::MIN_POSITIVE, 1e-45, f32::MAX, 100.0, 16_777_216.0, 0.3] {
            assert_eq!(f32_number(x).to_bits(), want(x).to_bits(), "{x:e}");
        }
        assert_eq!(f32_number(20.1), 20.1);
        // Every exponent, a spread of mantissas (a xorshift over the bit patterns).
        let mut bits = 0x9e37_79b9u32;
        for _ in 0..200_000 {
            bits ^= bits << 13;
            bits ^= bits >> 17;
            bits ^= bits << 5;
            let x = f32::from_bits(bits);
            if x.is_finite() {
                assert_eq!(f32_number(x).to_bits(), want(x).to_bits(), "{x:e} ({bits:#x})");
            }
        }
        assert!(f32_number(f32::NAN).is_nan());
    }

    #[test]
    fn f32_short_decides_what_the_formatter_would() {
        let want = |x: f32| serde_json::from_str::<f64>(&serde_json::to_string(&x).unwrap()).unwrap();
        // Taken for everyday readings, then the shortest decimal's f64.
        for x in [20.1f32, -3.7, 0.25, 1013.25, 55.5, 48.2082, 16.3738, 1.0, 16_777_215.0] {
            assert_eq!(f32_short(x).map(f64::to_bits), Some(want(x).to_bits()), "{x:e}");
        }
        // Every decimal of up to 4 fractional digits in -100..100, and a stride over
        // every bit pattern in [2^-20, 2^24) (where the fast path answers): the same f64
        // as through the formatter, or undecided.
        let mut taken = 0;
        let mut check = |x: f32| {
            if let Some(v) = f32_short(x) {
                taken += 1;
                assert_eq!(v.to_bits(), want(x).to_bits(), "{x:e} ({:#x})", x.to_bits());
            }
        };
        for k in -1_000_000..=1_000_000 {
            check((f64::from(k) / 1e4) as f32);
        }
        let (from, to) = ((2.0f32).powi(-20).to_bits(), 16_777_216f32.to_bits());
        for b in (from..to).step_by(331) {
            check(f32::from_bits(b));
            check(-f32::from_bits(b));
        }
        assert!(taken > 2_000_000, "{taken}");
    }

    /// Parses `text` both ways: same result or same error, same display.
    fn same(text: &str) {
        let v = serde_json::from_str::<Value>(text);
        let j = parse(text);
        match (v, j) {
            (Ok(v), Ok(j)) => {
                assert_eq!(v.to_string(), j.to_string(), "{text}");
                if let Value::Object(m) = &v {
                    for (k, x) in m {
                        assert_eq!(x.to_string(), j.get(k).unwrap().to_string());
                        assert_eq!(x.as_u64(), j.get(k).unwrap().as_u64());
                        assert_eq!(x.as_str(), j.get(k).unwrap().as_str());
                    }
                }
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
            (v, j) => panic!("{text}: {v:?} vs {j:?}"),
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        x: u8,
        f: Option<f32>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Kind {
        Unit,
        New(u8),
        Tuple(u8, String),
        Struct { a: bool },
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
        list: Vec<u8>,
        #[serde(default)]
        kinds: Vec<Kind>,
        #[serde(default)]
        nested: Vec<Vec<Inner>>,
        #[serde(default)]
        map: std::collections::BTreeMap<String, Inner>,
    }

    /// The result (`Debug`), or the path and message, as serde_path_to_error gives them
    /// for the `Value`.
    fn via_value(text: &str) -> String {
        let v: Value = serde_json::from_str(text).unwrap();
        match serde_path_to_error::deserialize::<_, Outer>(v) {
            Ok(o) => format!("{o:?}"),
            Err(e) => format!("{} | {}", e.path(), e.inner()),
        }
    }

    fn with_path<T: serde::de::DeserializeOwned>(j: Json) -> Result<T, (String, Error)> {
        crate::tape::TextTape::new(j).tape().input(0).deserialize()
    }

    fn via_json(text: &str) -> String {
        let j = parse(text).unwrap();
        match with_path::<Outer>(j) {
            Ok(o) => format!("{o:?}"),
            Err((p, e)) => format!("{} | {e}", if p.is_empty() { "." } else { &p }),
        }
    }

    #[test]
    fn paths_and_messages_match_serde_path_to_error_on_value() {
        for text in [
            r#"{"inner":{"x":1},"list":[1,2]}"#,
            r#"{"inner":{"x":"no"},"list":[]}"#,
            r#"{"inner":{"x":1,"f":"no"},"list":[]}"#,
            r#"{"inner":{"x":1,"f":1e39},"list":[]}"#,
            r#"{"inner":{"x":1.5},"list":[]}"#,
            r#"{"inner":{"x":-1},"list":[]}"#,
            r#"{"inner":{"x":300},"list":[]}"#,
            r#"{"inner":{},"list":[]}"#,
            r#"{"inner":{"x":1,"y":2},"list":[]}"#,
            r#"{"inner":{"x":1},"list":[1,300]}"#,
            r#"{"inner":{"x":1},"list":{}}"#,
            r#"{"inner":{"x":1},"list":[],"nested":[[{"x":1}],[{"x":2},{"x":"q"}]]}"#,
            r#"{"inner":{"x":1},"list":[],"map":{"a":{"x":1},"b":{"z":1}}}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":["Unit",{"New":3},{"Tuple":[1,"a"]},{"Struct":{"a":true}}]}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":["Nope"]}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":[{"New":"x"}]}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":[{"Tuple":[1]}]}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":[{"Tuple":5}]}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":[{"Struct":{"a":1}}]}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":[{"Struct":[true]}]}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":[{"Unit":1}]}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":["New"]}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":[{"Unit":null,"New":1}]}"#,
            r#"{"inner":{"x":1},"list":[],"kinds":[5]}"#,
            r#"{"list":[1],"inner":{"x":1},"list":[2,"x"]}"#,
            r#"5"#,
            r#"null"#,
        ] {
            assert_eq!(via_json(text), via_value(text), "{text}");
        }
        // The one difference: no struct from an array (which `Value` reads as a tuple).
        for (text, want) in [
            (r#"{"inner":[1],"list":[]}"#, "inner | invalid type: sequence, expected struct Inner"),
            (r#"{"inner":{"x":1},"list":[],"nested":[[[1]]]}"#, "nested[0][0] | invalid type: sequence, expected struct Inner"),
            (r#"[{"x":1},[1]]"#, ". | invalid type: sequence, expected struct Outer"),
        ] {
            assert_eq!(via_json(text), want, "{text}");
        }
    }

    #[test]
    fn excerpts_cut_long_input_only() {
        assert_eq!(excerpt(&"abc", 3), "abc");
        assert_eq!(excerpt(&"abcd", 3), "abc…");
        assert_eq!(excerpt(&"ééé€", 2), "éé…");
        assert_eq!(excerpt(&format_args!("{}{}", "ab", "cd"), 3), "abc…");
        let huge = "y".repeat(1 << 20);
        let e: Result<Outer, _> = with_path(parse(&format!(r#"{{"inner":{{"x":"{huge}"}},"list":[]}}"#)).unwrap());
        let (path, e) = e.unwrap_err();
        assert_eq!(path, "inner.x");
        assert_eq!(e.to_string(), format!("invalid type: string \"{}…\", expected u8", &huge[..EXCERPT_CHARS]));
        let (path, e) = with_path::<Outer>(parse(&format!(r#"{{"inner":{{"x":1,"{huge}":2}},"list":[]}}"#)).unwrap()).unwrap_err();
        assert_eq!(path, format!("inner.{}…", &huge[..EXCERPT_CHARS]));
        assert_eq!(e.to_string(), format!("unknown field `{}…`, expected `x` or `f`", &huge[..EXCERPT_CHARS]));
        let (_, e) = with_path::<Outer>(parse(&format!(r#"{{"inner":{{"x":1}},"list":[],"kinds":["{huge}"]}}"#)).unwrap()).unwrap_err();
        assert!(e.to_string().starts_with("unknown variant `yyy") && e.to_string().ends_with("…`, expected one of `Unit`, `New`, `Tuple`, `Struct`"));
        assert_eq!(Shown(&Json::Str(huge.clone())).to_string().chars().count(), EXCERPT_CHARS + 3);
        assert_eq!(Shown(&parse("[1]").unwrap()).to_string(), "an array");
        assert_eq!(Shown(&parse("-1.5").unwrap()).to_string(), "-1.5");
    }

    #[test]
    fn debug_str_is_str_debug() {
        let mut s = String::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            for text in [c.to_string(), format!("a{c}"), format!("{c}{c}b")] {
                assert_eq!(DebugStr(&text).to_string(), format!("{text:?}"), "U+{:04X}", c as u32);
            }
            s.push(c);
        }
        assert_eq!(DebugStr(&s).to_string(), format!("{s:?}"));
    }

    #[test]
    fn behaves_like_serde_json_value() {
        for text in [
            "null", "true", "0", "-0", "-1", "1.5", "1e39", "1e999", "18446744073709551616", "-9223372036854775809",
            "\"a\\u0041\\n\"", "[]", "[1,[2,{}]]", r#"{"b":1,"a":[true,null],"b":2}"#, r#"{"z":{"y":1,"x":2}}"#,
            " { } ", "{", "[1,]", "{\"a\" 1}", "1 2", "", "nul", "\"\\x\"", "[1e5, 100.0, 0.1, -2.5e-7]",
        ] {
            same(text);
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        same(&deep);
        // Many keys in scrambled order, with duplicates (the last one wins).
        let keys: Vec<String> = (0..500u32).map(|i| format!("\"k{}\":{i}", (i * 7919) % 211)).collect();
        same(&format!("{{{}}}", keys.join(",")));
    }
}
