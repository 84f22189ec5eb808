//! Event arguments: any `serde::Serialize` value, turned into the MessagePack that
//! notepack.io writes for the JavaScript value `JSON.parse(serde_json::to_string(v))` would
//! give, except that what serde serialises as bytes becomes MessagePack `bin` (a Node
//! `Buffer`), as a Node emitter sends a `Buffer` or `ArrayBuffer`.
//!
//! A serde_json intermediate cannot be used: it turns bytes into arrays of numbers before
//! anything can see them. So this is a small serde `Serializer` with serde_json's data model
//! (structs and maps as maps, unit variants as strings, externally tagged enums, non-string
//! map keys as strings) whose output is [`rmpv::Value`].
//!
//! At the top level a tuple is a list of arguments and `()` is none, as in socketioxide's
//! `emit`; any other value is one argument.

use std::{cell::Cell, fmt::Display};

use rmpv::Value as Mp;
use serde::{Serialize, ser};
use serde_json::{Map, Number, Value as Json};

use crate::codec::{js_string, json_to_mp};

/// Why arguments could not be serialised: a `Serialize` implementation failed, or a map
/// key is not a string, number or boolean (JSON object keys are strings).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(String);

impl ser::Error for ArgError {
    fn custom<T: Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// The arguments `args` stands for (see the module docs).
pub(crate) fn to_args<T: Serialize + ?Sized>(args: &T) -> Result<Vec<Mp>, ArgError> {
    let top = Cell::new(Top::Value);
    let value = args.serialize(ArgSerializer { top: Some(&top) })?;
    Ok(match (top.get(), value) {
        (Top::Tuple, Mp::Array(items)) => items,
        (Top::Unit, _) => Vec::new(),
        (_, value) => vec![value],
    })
}

/// What the top-level value turned out to be.
#[derive(Clone, Copy)]
enum Top {
    Value,
    Tuple,
    Unit,
}

/// A JavaScript number as notepack.io writes it: integral values in the smallest integer
/// form, the rest (NaN and infinities included) as float64.
fn number(f: f64) -> Mp {
    match Number::from_f64(f) {
        Some(n) => json_to_mp(&Json::Number(n), &[]),
        None => Mp::F64(f),
    }
}

/// The arguments as `JSON.stringify` shows them to a server-side event: binary becomes
/// what `Buffer.prototype.toJSON` gives, `{"type":"Buffer","data":[...]}`.
pub(crate) fn to_node_json(value: &Mp) -> Json {
    match value {
        Mp::Nil | Mp::Ext(..) => Json::Null,
        Mp::Boolean(b) => Json::Bool(*b),
        Mp::Integer(i) => i
            .as_u64()
            .map(Json::from)
            .or_else(|| i.as_i64().map(Json::from))
            .unwrap_or(Json::Null),
        Mp::F32(f) => Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number),
        Mp::F64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Mp::String(s) => Json::from(s.as_str().unwrap_or_default()),
        Mp::Binary(b) => serde_json::json!({"type": "Buffer", "data": b}),
        Mp::Array(items) => Json::Array(items.iter().map(to_node_json).collect()),
        Mp::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (k, v) in entries {
                map.insert(js_string(&to_node_json(k)), to_node_json(v));
            }
            Json::Object(map)
        }
    }
}

/// The integer methods of the serializer: every width is the same MessagePack integer.
macro_rules! integers {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<Mp, ArgError> {
            Ok(Mp::from(v))
        })*
    };
}

struct ArgSerializer<'a> {
    /// Set only for the top-level value, to tell tuples and `()` apart.
    top: Option<&'a Cell<Top>>,
}

const NESTED: ArgSerializer<'static> = ArgSerializer { top: None };

fn nested<T: Serialize + ?Sized>(v: &T) -> Result<Mp, ArgError> {
    v.serialize(NESTED)
}

impl ArgSerializer<'_> {
    fn mark(&self, kind: Top) {
        if let Some(top) = self.top {
            top.set(kind);
        }
    }
}

impl ser::Serializer for ArgSerializer<'_> {
    type Ok = Mp;
    type Error = ArgError;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Tagged<Seq>;
    type SerializeMap = Obj;
    type SerializeStruct = Obj;
    type SerializeStructVariant = Tagged<Obj>;

    fn serialize_bool(self, v: bool) -> Result<Mp, ArgError> {
        Ok(Mp::Boolean(v))
    }
    integers! {
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
    }
    fn serialize_f32(self, v: f32) -> Result<Mp, ArgError> {
        Ok(number(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<Mp, ArgError> {
        Ok(number(v))
    }
    fn serialize_char(self, v: char) -> Result<Mp, ArgError> {
        Ok(Mp::from(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Mp, ArgError> {
        Ok(Mp::from(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Mp, ArgError> {
        Ok(Mp::Binary(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Mp, ArgError> {
        Ok(Mp::Nil)
    }
    /// An `Option` is one value, even at the top: `Some(())` is one `null` argument.
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Mp, ArgError> {
        nested(v)
    }
    fn serialize_unit(self) -> Result<Mp, ArgError> {
        self.mark(Top::Unit);
        Ok(Mp::Nil)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Mp, ArgError> {
        Ok(Mp::Nil)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
    ) -> Result<Mp, ArgError> {
        Ok(Mp::from(v))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Mp, ArgError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Mp, ArgError> {
        Ok(Mp::Map(vec![(Mp::from(variant), nested(v)?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, ArgError> {
        Ok(Seq(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, ArgError> {
        self.mark(Top::Tuple);
        Ok(Seq(Vec::with_capacity(len)))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq, ArgError> {
        Ok(Seq(Vec::with_capacity(len)))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Tagged<Seq>, ArgError> {
        Ok(Tagged(variant, Seq(Vec::with_capacity(len))))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Obj, ArgError> {
        Ok(Obj::with_capacity(len.unwrap_or(0)))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Obj, ArgError> {
        Ok(Obj::with_capacity(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Tagged<Obj>, ArgError> {
        Ok(Tagged(variant, Obj::with_capacity(len)))
    }
}

/// An array being built.
pub(crate) struct Seq(Vec<Mp>);

impl Seq {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgError> {
        self.0.push(nested(v)?);
        Ok(())
    }
}

/// serde's three array-like builders, all building a [`Seq`].
macro_rules! seq_builders {
    ($($tr:ident::$method:ident),*) => {
        $(impl ser::$tr for Seq {
            type Ok = Mp;
            type Error = ArgError;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgError> {
                self.push(v)
            }
            fn end(self) -> Result<Mp, ArgError> {
                Ok(Mp::Array(self.0))
            }
        })*
    };
}

seq_builders!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

/// A map being built; keys become strings as in serde_json.
pub(crate) struct Obj {
    entries: Vec<(Mp, Mp)>,
    key: Option<Mp>,
}

impl Obj {
    fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
            key: None,
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), ArgError> {
        self.entries.push((Mp::from(key), nested(v)?));
        Ok(())
    }
}

/// A map key as serde_json writes it: strings as they are, numbers and booleans as text.
fn key_string(key: Mp) -> Result<Mp, ArgError> {
    match key {
        Mp::String(_) => Ok(key),
        Mp::Integer(_) | Mp::F64(_) | Mp::Boolean(_) => {
            Ok(Mp::from(js_string(&to_node_json(&key))))
        }
        _ => Err(ArgError("key must be a string".to_owned())),
    }
}

impl ser::SerializeMap for Obj {
    type Ok = Mp;
    type Error = ArgError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ArgError> {
        self.key = Some(key_string(nested(k)?)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ArgError("map value without a key".to_owned()))?;
        self.entries.push((key, nested(v)?));
        Ok(())
    }
    fn end(self) -> Result<Mp, ArgError> {
        Ok(Mp::Map(self.entries))
    }
}

impl ser::SerializeStruct for Obj {
    type Ok = Mp;
    type Error = ArgError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ArgError> {
        self.field(key, v)
    }
    fn end(self) -> Result<Mp, ArgError> {
        Ok(Mp::Map(self.entries))
    }
}

/// An externally tagged enum variant: `{variant: content}`.
pub(crate) struct Tagged<T>(&'static str, T);

impl ser::SerializeTupleVariant for Tagged<Seq> {
    type Ok = Mp;
    type Error = ArgError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgError> {
        self.1.push(v)
    }
    fn end(self) -> Result<Mp, ArgError> {
        Ok(Mp::Map(vec![(Mp::from(self.0), Mp::Array(self.1.0))]))
    }
}

impl ser::SerializeStructVariant for Tagged<Obj> {
    type Ok = Mp;
    type Error = ArgError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ArgError> {
        self.1.field(key, v)
    }
    fn end(self) -> Result<Mp, ArgError> {
        Ok(Mp::Map(vec![(Mp::from(self.0), Mp::Map(self.1.entries))]))
    }
}

#[cfg(test)]
mod tests;
