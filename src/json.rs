//! JSON as the host's `JSON.parse` sees it, and compact JSON out as `JSON.stringify` writes it.
//!
//! `serde_json::Value` sorts object keys, which would lose the insertion order of `extraParams`
//! and `headers` (the order they go on the wire). This value keeps members in document order and
//! keeps duplicates; lookups take the last one, so a duplicate key behaves as in `JSON.parse`.
//! Numbers are `f64`, as in JavaScript.
//!
//! One JSON reader per side: natively (the core's tests, the fuzz targets) parsing is
//! serde_json's, recursion-limited so deeply nested input fails cleanly; in the WebAssembly
//! build it is the host's own `JSON.parse` (see `crate::wasm::js::read_json`), with the same
//! nesting limit, so serde_json and its number tables are not linked into the module.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::fmt::Write as _;

#[derive(Clone, Debug, PartialEq)]
/// A JSON value with the members of objects in document order (duplicates kept).
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as JavaScript holds it.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object's members, in document order.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The member `key` of an object (the last one when the key repeats).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// Members in document order, duplicates removed (the last value wins, at the position of the
    /// first occurrence, as `JSON.parse` builds an object).
    /// Linear in the number of members (an index by name), so a host object with a great many
    /// members costs no more than reading it.
    pub fn members(&self) -> Vec<(&str, &Value)> {
        let mut out: Vec<(&str, &Value)> = Vec::new();
        if let Value::Object(members) = self {
            let mut index: std::collections::HashMap<&str, usize> =
                std::collections::HashMap::with_capacity(members.len());
            for (k, v) in members {
                match index.get(k.as_str()) {
                    Some(&at) => {
                        if let Some(slot) = out.get_mut(at) {
                            slot.1 = v;
                        }
                    }
                    None => {
                        index.insert(k.as_str(), out.len());
                        out.push((k.as_str(), v));
                    }
                }
            }
        }
        out
    }

    /// The number of distinct member names, counting no further than `limit + 1`.
    pub fn member_count_up_to(&self, limit: usize) -> usize {
        let mut seen: Vec<&str> = Vec::new();
        if let Value::Object(members) = self {
            for (k, _) in members {
                if !seen.contains(&k.as_str()) {
                    seen.push(k.as_str());
                    if seen.len() > limit {
                        break;
                    }
                }
            }
        }
        seen.len()
    }
}

/// Parses JSON text as `JSON.parse` does; `None` for anything it would reject. Two things it
/// accepts and serde_json refuses are read on a second pass (see `relax`); nesting deeper than
/// 128 levels is refused (serde_json's recursion limit: a stack guard `JSON.parse` lacks).
#[cfg(not(target_arch = "wasm32"))]
pub fn parse(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes)
        .ok()
        .or_else(|| serde_json::from_slice(&relax(bytes)?).ok())
}

/// Parses JSON text with the host's `JSON.parse` (the WebAssembly build links no JSON parser).
#[cfg(target_arch = "wasm32")]
pub fn parse(bytes: &[u8]) -> Option<Value> {
    crate::wasm::read_json_text(std::str::from_utf8(bytes).ok()?)
}

/// The most nested arrays and objects a value may have (serde_json's recursion limit: a stack
/// guard `JSON.parse` lacks). Deeper input is refused as a whole. The host's `JSON.parse` is held
/// to it by the WebAssembly adapter; natively serde_json's own limit applies.
#[cfg(target_arch = "wasm32")]
pub(crate) const MAX_DEPTH: usize = 127;

/// Rewrites what `JSON.parse` accepts but serde_json refuses, or `None` when there is none:
/// a number beyond `f64` (JS reads `1e999` as `Infinity`, which every reader of this crate
/// treats as unusable, so it becomes `null`: an `expires_in` of `1e999` is then "absent", as
/// docs/behaviour.md says) and a `\u` escape of a lone surrogate (JS keeps it; a Rust string cannot,
/// so it becomes U+FFFD, as the host's string does when it crosses into the module).
#[cfg(not(target_arch = "wasm32"))]
fn relax(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'"' {
            out.push(b);
            rest = relax_string(tail, &mut out, &mut changed);
        } else if b == b'-' || b.is_ascii_digit() {
            let len = rest
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(rest.len());
            let (token, tail) = rest.split_at(len);
            if is_json_number(token) && serde_json::from_slice::<Value>(token).is_err() {
                out.extend_from_slice(b"null");
                changed = true;
            } else {
                out.extend_from_slice(token);
            }
            rest = tail;
        } else {
            out.push(b);
            rest = tail;
        }
    }
    changed.then_some(out)
}

/// Copies a string body up to and including its closing quote, replacing lone-surrogate
/// escapes; returns what follows it.
#[cfg(not(target_arch = "wasm32"))]
fn relax_string<'a>(mut rest: &'a [u8], out: &mut Vec<u8>, changed: &mut bool) -> &'a [u8] {
    let unit = |s: &[u8]| -> Option<u16> {
        let hex = std::str::from_utf8(s.get(..4)?).ok()?;
        u16::from_str_radix(hex, 16).ok()
    };
    while let Some((&b, tail)) = rest.split_first() {
        match b {
            b'"' => {
                out.push(b);
                return tail;
            }
            b'\\' if tail.first() == Some(&b'u') => {
                let after = tail.get(1..).unwrap_or_default();
                match unit(after) {
                    Some(0xD800..=0xDBFF) => {
                        let next = after.get(4..).unwrap_or_default();
                        let low = next
                            .strip_prefix(b"\\u")
                            .and_then(unit)
                            .filter(|l| (0xDC00..=0xDFFF).contains(l));
                        if low.is_some() {
                            out.extend_from_slice(rest.get(..12).unwrap_or_default());
                            rest = rest.get(12..).unwrap_or_default();
                        } else {
                            out.extend_from_slice(b"\\uFFFD");
                            *changed = true;
                            rest = next;
                        }
                    }
                    Some(0xDC00..=0xDFFF) => {
                        out.extend_from_slice(b"\\uFFFD");
                        *changed = true;
                        rest = after.get(4..).unwrap_or_default();
                    }
                    _ => {
                        out.extend_from_slice(rest.get(..2).unwrap_or(rest));
                        rest = tail.get(1..).unwrap_or_default();
                    }
                }
            }
            b'\\' => {
                out.extend_from_slice(rest.get(..2).unwrap_or(rest));
                rest = rest.get(2..).unwrap_or_default();
            }
            _ => {
                out.push(b);
                rest = tail;
            }
        }
    }
    rest
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, the JSON number grammar.
#[cfg(not(target_arch = "wasm32"))]
fn is_json_number(t: &[u8]) -> bool {
    let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
    let t = t.strip_prefix(b"-").unwrap_or(t);
    let int = digits(t);
    if int == 0 || (int > 1 && t.first() == Some(&b'0')) {
        return false;
    }
    let mut rest = t.get(int..).unwrap_or_default();
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = digits(frac);
        if n == 0 {
            return false;
        }
        rest = frac.get(n..).unwrap_or_default();
    }
    if let Some(exp) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exp = exp
            .strip_prefix(b"+")
            .or_else(|| exp.strip_prefix(b"-"))
            .unwrap_or(exp);
        let n = digits(exp);
        if n == 0 {
            return false;
        }
        rest = exp.get(n..).unwrap_or_default();
    }
    rest.is_empty()
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            members.push((k, v));
        }
        Ok(Value::Object(members))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// JavaScript's `\s` (what `String.prototype.trim` and the regex class remove).
#[cfg_attr(not(feature = "internals"), allow(unreachable_pub))] // for the tests and fuzz targets
pub fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

pub(crate) fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

/// A number field as servers send it: a JSON number, or a string matching
/// `^\s*[0-9]+(\.[0-9]+)?\s*$`. Anything else (negative strings, exponents, `NaN`) is `None`.
#[cfg_attr(not(feature = "internals"), allow(unreachable_pub))] // for the tests and fuzz targets
pub fn number_like(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) if n.is_finite() => Some(*n),
        Value::String(s) => {
            let t = js_trim(s);
            let (int, frac) = match t.split_once('.') {
                Some((i, f)) => (i, Some(f)),
                None => (t, None),
            };
            let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
            if digits(int) && frac.is_none_or(digits) {
                Some(decimal(int, frac.unwrap_or(""))).filter(|n| n.is_finite())
            } else {
                None
            }
        }
        _ => None,
    }
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The value of `int.frac` (ASCII digits only). Up to 15 significant digits this is exact, as
/// `Number()` is (one correctly rounded division of two exact values); longer inputs, which no
/// server sends for an interval or a lifetime, may differ from `Number()` in the last place.
/// Written out rather than `str::parse::<f64>` because that parser's tables alone are a tenth of
/// the WebAssembly module.
pub(crate) fn decimal(int: &str, frac: &str) -> f64 {
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    // The host reads long ones exactly as `Number()` does (no float parser linked here).
    #[cfg(target_arch = "wasm32")]
    if int.len() + frac.len() > 15 {
        let mut text = String::with_capacity(int.len() + frac.len() + 2);
        text.push('0');
        text.push_str(int);
        text.push('.');
        text.push_str(frac);
        return js_sys::Number::parse_float(&text);
    }
    let all = || {
        int.bytes()
            .chain(frac.bytes())
            .map(|b| b.wrapping_sub(b'0'))
    };
    if int.len() + frac.len() <= 15 {
        if let Some(scale) = POW10.get(frac.len()) {
            let m = all().fold(0u64, |a, d| a * 10 + u64::from(d));
            return m as f64 / scale;
        }
    }
    let m = all().fold(0f64, |a, d| a * 10.0 + f64::from(d));
    let exp = i32::try_from(frac.len()).unwrap_or(i32::MAX);
    m / 10f64.powi(exp)
}

/// Appends a number as JSON text that `JSON.parse` reads back as exactly `value`. Integers are
/// written as integers; other values with their exact decimal expansion (a binary fraction of
/// k bits has exactly k decimal digits), which avoids linking Rust's shortest-float formatter
/// (another tenth of the module). Non-finite values, which no caller passes, become `null`;
/// magnitudes of 2^64 and more (never produced either) saturate.
pub(crate) fn write_number(out: &mut String, value: f64) {
    if !value.is_finite() {
        out.push_str("null");
        return;
    }
    if value < 0.0 {
        out.push('-');
    }
    let v = value.abs();
    // Every double from 2^53 up is an integer, so `as u64` is exact below 2^64; the crate's
    // numbers stay far below (clock readings are capped at the largest JS date).
    let int = v.trunc();
    let _ = write!(out, "{}", int as u64);
    let frac = v - int; // exact
    if frac == 0.0 {
        return;
    }
    // frac = m / 2^k exactly; emit its k decimal digits.
    let bits = frac.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let (mant, shift) = if exp == 0 {
        (bits & ((1u64 << 52) - 1), 1074)
    } else {
        ((bits & ((1u64 << 52) - 1)) | (1u64 << 52), 1075 - exp)
    };
    let tz = mant.trailing_zeros().min(shift as u32);
    let (mut m, k) = (u128::from(mant >> tz), shift - tz as i32);
    if k > 120 {
        // A fraction below 2^-68, far finer than any time this crate writes: dropped.
        return;
    }
    out.push('.');
    let mask = (1u128 << k) - 1;
    for _ in 0..k {
        m *= 10;
        out.push(char::from(b'0' + ((m >> k) as u8)));
        m &= mask;
        if m == 0 {
            break;
        }
    }
}

/// Appends `s` as a JSON string literal, escaped exactly as `JSON.stringify` does.
#[cfg_attr(not(feature = "internals"), allow(unreachable_pub))] // for the tests and fuzz targets
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Builds one compact JSON object, members in the order they are added.
pub(crate) struct ObjectWriter {
    buf: String,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjectWriter {
    pub(crate) fn new() -> Self {
        ObjectWriter {
            buf: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        write_string(&mut self.buf, key);
        self.buf.push(':');
    }

    pub(crate) fn string(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        write_string(&mut self.buf, value);
        self
    }

    pub(crate) fn opt_string(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.string(key, v),
            None => self,
        }
    }

    /// A finite number (callers never pass NaN or infinities; they would be written as `null`).
    pub(crate) fn number(mut self, key: &str, value: f64) -> Self {
        self.key(key);
        write_number(&mut self.buf, value);
        self
    }

    pub(crate) fn opt_number(self, key: &str, value: Option<f64>) -> Self {
        match value {
            Some(v) => self.number(key, v),
            None => self,
        }
    }

    pub(crate) fn boolean(mut self, key: &str, value: bool) -> Self {
        self.key(key);
        self.buf.push_str(if value { "true" } else { "false" });
        self
    }

    /// A member whose value is already JSON text.
    pub(crate) fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key);
        self.buf.push_str(json);
        self
    }

    pub(crate) fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_last_one_wins_like_json_parse() {
        let v = parse(br#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(v.get("a"), Some(&Value::Number(3.0)));
        let members = v.members();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0], ("a", &Value::Number(3.0)));
    }

    #[test]
    fn object_members_keep_document_order() {
        let v = parse(br#"{"z":"1","a":"2","m":"3"}"#).unwrap();
        let keys: Vec<&str> = v.members().iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn rejects_what_json_parse_rejects() {
        for bad in [
            &b""[..],
            b"<html>",
            b"{",
            b"{\"a\":1,}",
            b"\xEF\xBB\xBF{}",
            b"{} x",
            b"NaN",
        ] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn numbers_beyond_f64_read_as_null_like_json_parse_infinity() {
        let v = parse(br#"{"a":1e999,"b":-1e400,"c":[1E+309],"d":"1e999","e":5}"#).unwrap();
        assert_eq!(v.get("a"), Some(&Value::Null));
        assert_eq!(v.get("b"), Some(&Value::Null));
        assert_eq!(v.get("c"), Some(&Value::Array(vec![Value::Null])));
        assert_eq!(v.get("d"), Some(&Value::String("1e999".into())));
        assert_eq!(v.get("e"), Some(&Value::Number(5.0)));
        let huge = format!(r#"{{"n":{}}}"#, "9".repeat(400));
        assert_eq!(parse(huge.as_bytes()).unwrap().get("n"), Some(&Value::Null));
        // What JSON.parse rejects stays rejected.
        for bad in [
            &b"{\"a\":01e999}"[..],
            b"{\"a\":1e999x}",
            b"[1e]",
            b"[-]",
            b"[1.e5]",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn lone_surrogate_escapes_read_as_the_replacement_character() {
        let v = parse(br#"["\ud800 x","\udc00","\ud83d\ude00","\\ud800","\ud800\u0041"]"#).unwrap();
        let strings: Vec<&str> = match &v {
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        assert_eq!(
            strings,
            [
                "\u{FFFD} x",
                "\u{FFFD}",
                "\u{1F600}",
                "\\ud800",
                "\u{FFFD}A"
            ]
        );
        assert_eq!(
            parse(br#"["\ud800"#),
            None,
            "an unterminated string stays invalid"
        );
    }

    #[test]
    fn deep_nesting_fails_cleanly() {
        let deep = "[".repeat(100_000);
        assert_eq!(parse(deep.as_bytes()), None);
    }

    #[test]
    fn number_like_accepts_numbers_and_plain_decimal_strings() {
        assert_eq!(number_like(&Value::Number(5.0)), Some(5.0));
        assert_eq!(number_like(&Value::String(" 5 ".into())), Some(5.0));
        assert_eq!(number_like(&Value::String("\u{A0}2.5\t".into())), Some(2.5));
        for bad in ["", "-5", "5.", ".5", "1e3", "0x10", "five", "5 5", "+5"] {
            assert_eq!(number_like(&Value::String(bad.into())), None, "{bad}");
        }
        assert_eq!(number_like(&Value::Bool(true)), None);
        assert_eq!(number_like(&Value::Null), None);
    }

    #[test]
    fn decimals_match_the_correctly_rounded_value() {
        for (int, frac) in [
            ("5", ""),
            ("2", "5"),
            ("0", "1"),
            ("0003600", ""),
            ("31536000", "000"),
            ("123", "456789012"),
        ] {
            let text = if frac.is_empty() {
                int.to_owned()
            } else {
                format!("{int}.{frac}")
            };
            assert_eq!(decimal(int, frac), text.parse::<f64>().unwrap(), "{text}");
        }
        assert_eq!(decimal(&"9".repeat(400), ""), f64::INFINITY);
        assert_eq!(decimal("0", &format!("{}1", "0".repeat(400))), 0.0);
        assert!((decimal("1", "00000000000000000001") - 1.0).abs() < 1e-15);
    }

    #[test]
    fn numbers_round_trip_exactly() {
        for v in [
            0.0,
            5000.0,
            2555.5,
            1_700_000_000_000.0,
            1_700_000_000_000.25,
            0.1,
            1.0 / 3.0,
            123.456,
            8.64e15,
            -2.5,
        ] {
            let mut out = String::new();
            write_number(&mut out, v);
            assert_eq!(out.parse::<f64>().unwrap(), v, "{out}");
        }
        let mut out = String::new();
        write_number(&mut out, 2555.5);
        assert_eq!(out, "2555.5");
        out.clear();
        write_number(&mut out, f64::NAN);
        assert_eq!(out, "null");
    }

    #[test]
    fn strings_are_escaped_like_json_stringify() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\n\u{01}\u{7f}é\u{2028}");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001\u{7f}é\u{2028}\"");
    }

    #[test]
    fn object_writer_is_compact_and_ordered() {
        let json = ObjectWriter::new()
            .string("token", "t")
            .opt_string("skip", None)
            .number("n", 1_700_000_000_000.0)
            .number("f", 2.5)
            .boolean("b", true)
            .finish();
        assert_eq!(json, r#"{"token":"t","n":1700000000000,"f":2.5,"b":true}"#);
    }
}
