//! Conversions between the three data models that meet in this crate:
//!
//! * MessagePack as written by notepack.io 3.x (Node's default adapter parser), held as
//!   [`rmpv::Value`];
//! * JSON (requests and responses Node writes with `JSON.stringify`), held as
//!   [`serde_json::Value`];
//! * socketioxide's [`Value`]: for the common parser, the JSON text of the event
//!   array with binary attachments replaced by `{"_placeholder":true,"num":n}`.
//!
//! # Format
//!
//! notepack.io writes integers in their smallest MessagePack form and every other number as
//! float64; binary as `bin`; `Date` as the timestamp extension (type -1); `undefined` as nil.
//! The 2.x forms it still accepts are accepted here too: `d4 00 00` (undefined) and extension
//! type 0 (ArrayBuffer).

use std::collections::VecDeque;

use bytes::Bytes;
use rmpv::Value as Mp;
use serde_json::{Map, Number, Value as Json};
use socketioxide_core::{Str, Value};

/// A decoding failure of a payload coming from the wire.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not valid MessagePack.
    #[error("invalid msgpack: {0}")]
    Msgpack(String),
    /// The bytes are not valid JSON.
    #[error("invalid json: {0}")]
    Json(#[from] serde_json::Error),
    /// The payload decoded but does not have the expected shape.
    #[error("unexpected payload shape: {0}")]
    Shape(&'static str),
}

/// Decodes one MessagePack value.
pub(crate) fn decode_msgpack(bytes: &[u8]) -> Result<Mp, CodecError> {
    let mut rd = bytes;
    rmpv::decode::read_value(&mut rd).map_err(|e| CodecError::Msgpack(e.to_string()))
}

/// Encodes one MessagePack value the way notepack.io does (smallest integer forms).
pub(crate) fn encode_msgpack(value: &Mp) -> Bytes {
    let mut out = Vec::with_capacity(64);
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    Bytes::from(out)
}

/// Decodes a request or response payload: JSON when the first byte is `{`, MessagePack
/// otherwise, exactly as Node's adapters sniff it. The result is JSON with binary kept
/// aside as placeholders.
pub(crate) fn decode_sniffed(bytes: &[u8]) -> Result<(Json, VecDeque<Bytes>), CodecError> {
    if bytes.first() == Some(&b'{') {
        Ok((serde_json::from_slice(bytes)?, VecDeque::new()))
    } else {
        let mp = decode_msgpack(bytes)?;
        let mut bins = VecDeque::new();
        let json = mp_to_json(mp, &mut bins);
        Ok((json, bins))
    }
}

/// Converts MessagePack to JSON. Binary values are moved to `bins` and replaced by
/// socket.io placeholders, so the result can become a socketioxide [`Value`].
pub(crate) fn mp_to_json(value: Mp, bins: &mut VecDeque<Bytes>) -> Json {
    match value {
        Mp::Nil => Json::Null,
        Mp::Boolean(b) => Json::Bool(b),
        Mp::Integer(i) => {
            if let Some(v) = i.as_u64() {
                Json::Number(v.into())
            } else if let Some(v) = i.as_i64() {
                Json::Number(v.into())
            } else {
                Json::Null
            }
        }
        Mp::F32(f) => float_json(f64::from(f)),
        Mp::F64(f) => float_json(f),
        Mp::String(s) => Json::String(s.into_str().unwrap_or_default()),
        Mp::Binary(b) => placeholder(Bytes::from(b), bins),
        Mp::Array(items) => Json::Array(items.into_iter().map(|v| mp_to_json(v, bins)).collect()),
        Mp::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (k, v) in entries {
                let key = match k {
                    Mp::String(s) => s.into_str().unwrap_or_default(),
                    other => js_string(&mp_to_json(other, &mut VecDeque::new())),
                };
                map.insert(key, mp_to_json(v, bins));
            }
            Json::Object(map)
        }
        Mp::Ext(-1, data) => timestamp_json(&data),
        // notepack 2.x: `d4 00 00` is undefined, any other ext 0 is an ArrayBuffer.
        Mp::Ext(0, data) if data == [0] => Json::Null,
        Mp::Ext(0, data) => placeholder(Bytes::from(data), bins),
        Mp::Ext(_, _) => Json::Null,
    }
}

fn placeholder(bin: Bytes, bins: &mut VecDeque<Bytes>) -> Json {
    let num = bins.len();
    bins.push_back(bin);
    serde_json::json!({"_placeholder": true, "num": num})
}

/// JSON has no NaN or infinity; `JSON.stringify` turns them into `null`.
fn float_json(f: f64) -> Json {
    Number::from_f64(f).map_or(Json::Null, Json::Number)
}

/// The MessagePack timestamp extension, shown as `Date.prototype.toJSON` would.
fn timestamp_json(data: &[u8]) -> Json {
    let (secs, nanos): (i64, u32) = match data.len() {
        4 => (i64::from(u32::from_be_bytes(array(data, 0))), 0),
        8 => {
            let v = u64::from_be_bytes(array(data, 0));
            ((v & 0x3_ffff_ffff) as i64, (v >> 34) as u32)
        }
        12 => (
            i64::from_be_bytes(array(data, 4)),
            u32::from_be_bytes(array(data, 0)),
        ),
        _ => return Json::Null,
    };
    Json::String(iso8601(secs, nanos / 1_000_000))
}

fn array<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = data.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

/// Formats a Unix time as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian, UTC).
fn iso8601(secs: i64, millis: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days, after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Converts JSON to MessagePack the way notepack.io would encode the same JavaScript value:
/// integral numbers become integers, placeholders become `bin` values taken from `bins`.
pub(crate) fn json_to_mp(value: &Json, bins: &[Bytes]) -> Mp {
    match value {
        Json::Null => Mp::Nil,
        Json::Bool(b) => Mp::Boolean(*b),
        Json::Number(n) => {
            if let Some(v) = n.as_u64() {
                Mp::from(v)
            } else if let Some(v) = n.as_i64() {
                Mp::from(v)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
                    Mp::from(f as i64)
                } else {
                    Mp::F64(f)
                }
            }
        }
        Json::String(s) => Mp::from(s.as_str()),
        Json::Array(items) => Mp::Array(items.iter().map(|v| json_to_mp(v, bins)).collect()),
        Json::Object(map) => {
            if let Some(bin) = placeholder_bin(map, bins) {
                return Mp::Binary(bin.to_vec());
            }
            Mp::Map(
                map.iter()
                    .map(|(k, v)| (Mp::from(k.as_str()), json_to_mp(v, bins)))
                    .collect(),
            )
        }
    }
}

fn placeholder_bin<'a>(map: &Map<String, Json>, bins: &'a [Bytes]) -> Option<&'a Bytes> {
    if map.len() != 2 || map.get("_placeholder") != Some(&Json::Bool(true)) {
        return None;
    }
    let num = map.get("num")?.as_u64()?;
    bins.get(usize::try_from(num).ok()?)
}

/// Returns the JSON text JavaScript's `String(value)` gives for a room name: strings as they
/// are, numbers in their shortest form (`123`, `1.5`).
pub(crate) fn js_string(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e21)
                && n.is_f64()
            {
                return format!("{}", f as i64);
            }
            n.to_string()
        }
        Json::Null => "null".to_owned(),
        Json::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Reads a list of room names (strings or numbers).
pub(crate) fn rooms_of(value: Option<&Json>) -> Vec<String> {
    match value {
        Some(Json::Array(items)) => items.iter().map(js_string).collect(),
        _ => Vec::new(),
    }
}

/// Reads a boolean flag: anything but `true` (absent included) is `false`.
pub(crate) fn is_true(v: Option<&Json>) -> bool {
    v.and_then(Json::as_bool).unwrap_or(false)
}

/// Reads a string field; absent or not a string is `None`.
pub(crate) fn str_of(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str).map(str::to_owned)
}

/// Turns the JSON event array and its attachments into socketioxide's [`Value`]
/// (the common parser's representation).
pub(crate) fn json_to_value(json: &Json, bins: VecDeque<Bytes>) -> Value {
    let text = json.to_string();
    let bins = if bins.is_empty() { None } else { Some(bins) };
    Value::Str(Str::from(text), bins)
}

/// Turns socketioxide's [`Value`] into JSON plus attachments.
///
/// # Errors
/// Fails for values of the msgpack parser that are not a MessagePack array, and for text
/// that is not JSON.
pub(crate) fn value_to_json(value: &Value) -> Result<(Json, Vec<Bytes>), CodecError> {
    match value {
        Value::Str(text, bins) => {
            let json: Json = serde_json::from_str(text.as_str())?;
            let bins = bins
                .as_ref()
                .map(|b| b.iter().cloned().collect())
                .unwrap_or_default();
            Ok((json, bins))
        }
        Value::Bytes(bytes) => {
            let mp = decode_msgpack(bytes)?;
            let mut bins = VecDeque::new();
            let json = mp_to_json(mp, &mut bins);
            Ok((json, bins.into_iter().collect()))
        }
    }
}

/// Builds a MessagePack map from string keys.
pub(crate) fn mp_map<const N: usize>(entries: [(&str, Mp); N]) -> Mp {
    Mp::Map(entries.into_iter().map(|(k, v)| (Mp::from(k), v)).collect())
}

/// Builds a MessagePack array of strings.
pub(crate) fn mp_strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Mp {
    Mp::Array(items.into_iter().map(Mp::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn broadcast_envelope_matches_notepack_bytes() {
        // io.emit("hello", "world") from uid ABCDEF, as recorded from Node.
        let msg = Mp::Array(vec![
            Mp::from("ABCDEF"),
            mp_map([
                ("type", Mp::from(2)),
                ("data", mp_strings(["hello", "world"])),
                ("nsp", Mp::from("/")),
            ]),
            mp_map([
                ("rooms", Mp::Array(vec![])),
                ("except", Mp::Array(vec![])),
                ("flags", Mp::Map(vec![])),
            ]),
        ]);
        let expected = concat!(
            "93",
            "a6414243444546",
            "83",
            "a474797065",
            "02",
            "a464617461",
            "92a568656c6c6fa5776f726c64",
            "a36e7370",
            "a12f",
            "83",
            "a5726f6f6d73",
            "90",
            "a6657863657074",
            "90",
            "a5666c616773",
            "80"
        );
        assert_eq!(hex(&encode_msgpack(&msg)), expected);
    }

    #[test]
    fn integers_use_the_smallest_form_and_fractions_float64() {
        let json = serde_json::json!([0, 127, 128, 65536, -1, -33, 1.5, 2.0]);
        let bytes = encode_msgpack(&json_to_mp(&json, &[]));
        assert_eq!(
            hex(&bytes),
            "98007fcc80ce00010000ffd0dfcb3ff800000000000002"
        );
    }

    #[test]
    fn binary_round_trips_through_placeholders() {
        let bin = Bytes::from_static(&[1, 2, 3]);
        let json = serde_json::json!(["ev", {"_placeholder": true, "num": 0}]);
        let mp = json_to_mp(&json, std::slice::from_ref(&bin));
        assert_eq!(hex(&encode_msgpack(&mp)), "92a26576c403010203");
        let mut bins = VecDeque::new();
        let back = mp_to_json(mp, &mut bins);
        assert_eq!(back, json);
        assert_eq!(bins, [bin]);
    }

    #[test]
    fn dates_and_legacy_forms_decode_like_node() {
        // 2000-06-13T00:00:00.000Z as notepack writes it.
        let date = decode_msgpack(&[0xd6, 0xff, 0x39, 0x45, 0x79, 0x80]).unwrap();
        assert_eq!(
            mp_to_json(date, &mut VecDeque::new()),
            Json::from("2000-06-13T00:00:00.000Z")
        );
        let undefined = decode_msgpack(&[0xd4, 0x00, 0x00]).unwrap();
        assert_eq!(mp_to_json(undefined, &mut VecDeque::new()), Json::Null);
    }

    #[test]
    fn numeric_rooms_read_as_javascript_strings() {
        let rooms = serde_json::json!([123, 1.5, "a"]);
        assert_eq!(rooms_of(Some(&rooms)), ["123", "1.5", "a"]);
    }

    #[test]
    fn sniffing_follows_the_first_byte() {
        let (json, _) = decode_sniffed(br#"{"requestId":"x"}"#).unwrap();
        assert_eq!(json["requestId"], "x");
        let mp = encode_msgpack(&mp_map([("requestId", Mp::from("y"))]));
        let (json, _) = decode_sniffed(&mp).unwrap();
        assert_eq!(json["requestId"], "y");
    }
}
