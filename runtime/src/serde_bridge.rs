//! The serde bridge (feature `serde`): any `Serialize` type becomes a
//! Scheme value, and a Scheme value of the matching shape becomes any
//! `Deserialize` type.
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
//! struct Point { x: i64, y: i64, tags: Vec<String> }
//!
//! let mut rt = imp::Runtime::new().unwrap();
//! let p = Point { x: 1, y: 2, tags: vec!["a".into()] };
//! let v = imp::serde::to_value(&mut rt.scope(), &p).unwrap();
//! assert_eq!(rt.write(&v), "((x . 1) (y . 2) (tags . #(\"a\")))");
//! let move_x = rt.eval_str("(lambda (p) (cons (cons 'x 10) (cdr p)))").unwrap();
//! let moved: imp::Value = rt.call_value(&move_x, (v,)).unwrap();
//! let back: Point = imp::serde::from_value(&mut rt.scope(), &moved).unwrap();
//! assert_eq!(back, Point { x: 10, y: 2, tags: vec!["a".into()] });
//! ```
//!
//! | serde | Scheme |
//! |---|---|
//! | bool, integers, floats, char, string, bytes | `#t`/`#f`, exact integer, flonum, character, string, bytevector |
//! | `None`, `()`, unit struct | `()` |
//! | sequence, tuple | vector |
//! | struct | association list with symbol keys: `((x . 1) (y . 2))` |
//! | map | association list: `(("k" . 1))` |
//! | enum | unit variant: a symbol; others: `(variant . payload)` |
//!
//! Going back, a list of pairs also reads as a map or struct, any other
//! list as a sequence, and a symbol as a string.

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};

use imp_gc::Value as Raw;

use crate::convert::IntoValue;
use crate::num::Num;
use crate::obj;
use crate::{Error, Scope, Value};

/// Make the Scheme value of `x`.
///
/// ```
/// let mut rt = imp::Runtime::new().unwrap();
/// let v = imp::serde::to_value(&mut rt.scope(), &(1, "two", [3.5])).unwrap();
/// assert_eq!(rt.write(&v), "#(1 \"two\" #(3.5))");
/// let none = imp::serde::to_value(&mut rt.scope(), &None::<i32>).unwrap();
/// assert_eq!(rt.write(&none), "()");
/// ```
///
/// # Errors
/// [`Error::Type`] if `x`'s `Serialize` fails, [`Error::Heap`] if the
/// heap is exhausted.
pub fn to_value<T: Serialize + ?Sized>(cx: &mut Scope<'_>, x: &T) -> Result<Value, Error> {
    let node = x.serialize(NodeSer).map_err(|e| Error::Type(e.0))?;
    build(cx, node)
}

/// Make the Scheme value of `x` in SRFI-180's JSON mapping, the shape
/// `json-write` writes and `json-read` returns: a struct or a map is an
/// association list with symbol keys, a sequence a vector, `None` and
/// `()` the symbol `null`, an enum's unit variant its name as a string
/// and any other variant `((variant . payload))`, a character a string,
/// bytes a vector of integers.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Item { id: u32, tags: Vec<String>, parent: Option<u32> }
///
/// let mut rt = imp::Runtime::new().unwrap();
/// let item = Item { id: 7, tags: vec!["a".into()], parent: None };
/// let v = imp::serde::to_json_value(&mut rt.scope(), &item).unwrap();
/// assert_eq!(rt.write(&v), "((id . 7) (tags . #(\"a\")) (parent . null))");
/// let to_text = rt
///     .eval_str("(lambda (v) (let ((p (open-output-string))) (json-write v p) (get-output-string p)))")
///     .unwrap();
/// let text: String = rt.call_value(&to_text, (v,)).unwrap();
/// assert_eq!(text, r#"{"id":7,"tags":["a"],"parent":null}"#);
/// // And back, from what json-read makes of the text.
/// let read = rt.eval_str(r#"(json-read (open-input-string "{\"id\":7,\"tags\":[\"a\"],\"parent\":null}"))"#).unwrap();
/// let back: Item = imp::serde::from_value(&mut rt.scope(), &read).unwrap();
/// assert_eq!(back, item);
/// ```
///
/// # Errors
/// As [`to_value`].
pub fn to_json_value<T: Serialize + ?Sized>(cx: &mut Scope<'_>, x: &T) -> Result<Value, Error> {
    let node = x.serialize(NodeSer).map_err(|e| Error::Type(e.0))?;
    build(cx, json_node(node))
}

/// The JSON mapping of a serialized tree (`to_json_value`).
fn json_node(n: Node) -> Node {
    match n {
        Node::Nil => Node::Sym("null".into()),
        Node::Char(c) => Node::Str(c.to_string()),
        Node::Bytes(b) => Node::Vector(b.into_iter().map(|x| Node::Int(x.into())).collect()),
        Node::Sym(s) => Node::Str(s),
        Node::Vector(items) => Node::Vector(items.into_iter().map(json_node).collect()),
        Node::Alist(entries) => Node::Alist(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let k = match k {
                        Node::Str(s) | Node::Sym(s) => Node::Sym(s),
                        Node::Char(c) => Node::Sym(c.to_string()),
                        Node::Int(i) => Node::Sym(i.to_string()),
                        other => json_node(other),
                    };
                    (k, json_node(v))
                })
                .collect(),
        ),
        Node::Tagged(tag, payload) => Node::Alist(vec![(Node::Sym(tag), json_node(*payload))]),
        other => other,
    }
}

/// Make a `T` of the Scheme value `v`. The symbol `null` reads as `None`
/// and as `()` too, so the values of `json-read` (and of
/// [`to_json_value`]) come back.
///
/// ```
/// use std::collections::BTreeMap;
/// let mut rt = imp::Runtime::new().unwrap();
/// let v = rt.eval_str("'((\"a\" . 1) (\"b\" . 2))").unwrap();
/// let m: BTreeMap<String, i64> = imp::serde::from_value(&mut rt.scope(), &v).unwrap();
/// assert_eq!(m["b"], 2);
/// let e = imp::serde::from_value::<Vec<i64>>(&mut rt.scope(), &v).unwrap_err();
/// assert!(matches!(e, imp::Error::Type(_)));
/// ```
///
/// # Errors
/// [`Error::Type`] naming what did not fit.
pub fn from_value<T: DeserializeOwned>(cx: &mut Scope<'_>, v: &Value) -> Result<T, Error> {
    let raw = cx.raw(v)?;
    T::deserialize(De { cx, v: raw }).map_err(|e| Error::Type(e.0))
}

/// The bridge's error: a message.
#[derive(Debug)]
pub(crate) struct BridgeError(String);

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BridgeError {}

impl ser::Error for BridgeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        BridgeError(msg.to_string())
    }
}

impl de::Error for BridgeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        BridgeError(msg.to_string())
    }
}

// ---- serializing: a tree first, then Scheme objects -------------------------------

/// What a `Serialize` value is, before it becomes Scheme objects.
enum Node {
    Nil,
    Bool(bool),
    Int(i128),
    Float(f64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    Sym(String),
    Vector(Vec<Node>),
    /// An association list.
    Alist(Vec<(Node, Node)>),
    /// `(tag . payload)`.
    Tagged(String, Box<Node>),
}

fn build(cx: &mut Scope<'_>, n: Node) -> Result<Value, Error> {
    match n {
        Node::Nil => cx.hold_raw(Raw::NIL),
        Node::Bool(b) => b.into_value(cx),
        Node::Int(i) => match i64::try_from(i) {
            Ok(i) => i.into_value(cx),
            Err(_) => {
                let r = cx.vm.make_num(Num::Big(num_bigint::BigInt::from(i)));
                cx.hold_result(r)
            }
        },
        Node::Float(x) => x.into_value(cx),
        Node::Char(c) => c.into_value(cx),
        Node::Str(s) => s.into_value(cx),
        Node::Sym(s) => cx.symbol(&s),
        Node::Bytes(b) => {
            let r = cx.vm.bytevector(&b);
            cx.hold_result(r)
        }
        Node::Vector(items) => {
            let vals = items
                .into_iter()
                .map(|i| build(cx, i))
                .collect::<Result<Vec<_>, _>>()?;
            let base = cx.vm.stack.len();
            for v in &vals {
                let r = cx.raw(v)?;
                cx.vm.stack.push(r);
            }
            let r = cx.vm.vector_from_stack(base);
            cx.vm.stack.truncate(base);
            cx.hold_result(r)
        }
        Node::Alist(entries) => {
            let mut pairs = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let k = build(cx, k)?;
                let v = build(cx, v)?;
                pairs.push(cx.cons(&k, &v)?);
            }
            cx.list_of(&pairs)
        }
        Node::Tagged(tag, payload) => {
            let t = cx.symbol(&tag)?;
            let p = build(cx, *payload)?;
            cx.cons(&t, &p)
        }
    }
}

struct NodeSer;

struct SeqSer {
    items: Vec<Node>,
    tag: Option<String>,
}

struct MapSer {
    entries: Vec<(Node, Node)>,
    key: Option<Node>,
    tag: Option<String>,
}

fn tagged(tag: Option<String>, n: Node) -> Node {
    match tag {
        Some(t) => Node::Tagged(t, Box::new(n)),
        None => n,
    }
}

impl ser::Serializer for NodeSer {
    type Ok = Node;
    type Error = BridgeError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = SeqSer;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = MapSer;

    fn serialize_bool(self, v: bool) -> Result<Node, BridgeError> {
        Ok(Node::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Node, BridgeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Node, BridgeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Node, BridgeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Node, BridgeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i128(self, v: i128) -> Result<Node, BridgeError> {
        Ok(Node::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Node, BridgeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Node, BridgeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Node, BridgeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Node, BridgeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_f32(self, v: f32) -> Result<Node, BridgeError> {
        Ok(Node::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Node, BridgeError> {
        Ok(Node::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Node, BridgeError> {
        Ok(Node::Char(v))
    }
    fn serialize_str(self, v: &str) -> Result<Node, BridgeError> {
        Ok(Node::Str(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Node, BridgeError> {
        Ok(Node::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Node, BridgeError> {
        Ok(Node::Nil)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Node, BridgeError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node, BridgeError> {
        Ok(Node::Nil)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Node, BridgeError> {
        Ok(Node::Nil)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Node, BridgeError> {
        Ok(Node::Sym(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Node, BridgeError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Node, BridgeError> {
        Ok(Node::Tagged(
            variant.to_string(),
            Box::new(v.serialize(NodeSer)?),
        ))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, BridgeError> {
        Ok(SeqSer {
            items: Vec::with_capacity(len.unwrap_or(0)),
            tag: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, BridgeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer, BridgeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqSer, BridgeError> {
        Ok(SeqSer {
            items: Vec::with_capacity(len),
            tag: Some(variant.to_string()),
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSer, BridgeError> {
        Ok(MapSer {
            entries: Vec::new(),
            key: None,
            tag: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapSer, BridgeError> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<MapSer, BridgeError> {
        Ok(MapSer {
            entries: Vec::new(),
            key: None,
            tag: Some(variant.to_string()),
        })
    }
}

macro_rules! seq_impl {
    ($tr:ident, $m:ident) => {
        impl ser::$tr for SeqSer {
            type Ok = Node;
            type Error = BridgeError;
            fn $m<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), BridgeError> {
                self.items.push(v.serialize(NodeSer)?);
                Ok(())
            }
            fn end(self) -> Result<Node, BridgeError> {
                Ok(tagged(self.tag, Node::Vector(self.items)))
            }
        }
    };
}

seq_impl!(SerializeSeq, serialize_element);
seq_impl!(SerializeTuple, serialize_element);
seq_impl!(SerializeTupleStruct, serialize_field);
seq_impl!(SerializeTupleVariant, serialize_field);

impl ser::SerializeMap for MapSer {
    type Ok = Node;
    type Error = BridgeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), BridgeError> {
        self.key = Some(k.serialize(NodeSer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), BridgeError> {
        let k = self
            .key
            .take()
            .ok_or_else(|| BridgeError("a map value without a key".into()))?;
        self.entries.push((k, v.serialize(NodeSer)?));
        Ok(())
    }
    fn end(self) -> Result<Node, BridgeError> {
        Ok(tagged(self.tag, Node::Alist(self.entries)))
    }
}

macro_rules! struct_impl {
    ($tr:ident) => {
        impl ser::$tr for MapSer {
            type Ok = Node;
            type Error = BridgeError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), BridgeError> {
                self.entries
                    .push((Node::Sym(key.to_string()), v.serialize(NodeSer)?));
                Ok(())
            }
            fn end(self) -> Result<Node, BridgeError> {
                Ok(tagged(self.tag, Node::Alist(self.entries)))
            }
        }
    };
}

struct_impl!(SerializeStruct);
struct_impl!(SerializeStructVariant);

// ---- deserializing: straight from the heap (nothing allocates meanwhile) ---------

struct De<'a, 'b> {
    cx: &'a mut Scope<'b>,
    v: Raw,
}

impl<'a, 'b> De<'a, 'b> {
    fn at(&mut self, v: Raw) -> De<'_, 'b> {
        De { cx: self.cx, v }
    }

    /// Is the value the symbol `null` (JSON's null in SRFI-180's mapping)?
    fn is_json_null(&self) -> bool {
        let vm = &*self.cx.vm;
        vm.is(self.v, crate::obj::SYMBOL) && vm.symbol_name(self.v) == "null"
    }

    fn shown(&self) -> String {
        let mut s = crate::printer::print(self.cx.vm, self.v, crate::printer::Mode::Write);
        if s.chars().count() > 60 {
            s = s.chars().take(57).collect::<String>() + "...";
        }
        s
    }

    fn fail<T>(&self, expected: &str) -> Result<T, BridgeError> {
        Err(BridgeError(format!(
            "expected {expected}, got {}",
            self.shown()
        )))
    }

    /// The elements of a proper list, or `None`.
    fn list(&self) -> Option<Vec<Raw>> {
        self.cx.vm.list_to_vec(self.v)
    }

    /// A non-empty list whose elements are all pairs.
    fn alist(&self) -> Option<Vec<(Raw, Raw)>> {
        let items = self.list()?;
        if items.is_empty() || !items.iter().all(|p| self.cx.vm.is_pair(*p)) {
            return None;
        }
        Some(
            items
                .into_iter()
                .map(|p| (self.cx.vm.car(p), self.cx.vm.cdr(p)))
                .collect(),
        )
    }
}

impl<'de> de::Deserializer<'de> for De<'_, '_> {
    type Error = BridgeError;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, BridgeError> {
        let vm = &*self.cx.vm;
        let v = self.v;
        if v == Raw::TRUE || v == Raw::FALSE {
            return visitor.visit_bool(v == Raw::TRUE);
        }
        if v.is_nil() {
            return visitor.visit_unit();
        }
        if let Some(c) = v.as_char() {
            return visitor.visit_char(c);
        }
        if let Some(n) = vm.num(v) {
            return match n {
                Num::Fix(i) => visitor.visit_i64(i),
                Num::Big(b) => {
                    if let Ok(u) = u64::try_from(&b) {
                        visitor.visit_u64(u)
                    } else if let Ok(i) = i128::try_from(&b) {
                        visitor.visit_i128(i)
                    } else if let Ok(u) = u128::try_from(&b) {
                        visitor.visit_u128(u)
                    } else {
                        self.fail("an integer that fits 128 bits")
                    }
                }
                n => visitor.visit_f64(n.to_f64()),
            };
        }
        if vm.is(v, obj::STRING) {
            return visitor.visit_string(vm.string_text(v));
        }
        if vm.is(v, obj::SYMBOL) {
            return visitor.visit_string(vm.symbol_name(v));
        }
        if vm.is(v, obj::BYTEVECTOR) {
            return visitor.visit_byte_buf(vm.bytevector_bytes(v));
        }
        if vm.is(v, obj::VECTOR) {
            let items: Vec<Raw> = (0..vm.heap.len(v)).map(|i| vm.heap.get(v, i)).collect();
            return visitor.visit_seq(Seq {
                de: &mut self,
                items,
                at: 0,
            });
        }
        if let Some(entries) = self.alist() {
            return visitor.visit_map(Map {
                de: &mut self,
                entries,
                at: 0,
            });
        }
        if let Some(items) = self.list() {
            return visitor.visit_seq(Seq {
                de: &mut self,
                items,
                at: 0,
            });
        }
        self.fail("data (a number, string, vector, list, …)")
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BridgeError> {
        if self.v.is_nil() || self.is_json_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BridgeError> {
        if self.v.is_nil() || self.is_json_null() {
            visitor.visit_unit()
        } else {
            self.fail("()")
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, BridgeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, BridgeError> {
        if self.v.is_nil() {
            return visitor.visit_map(Map {
                de: &mut self,
                entries: Vec::new(),
                at: 0,
            });
        }
        match self.alist() {
            Some(entries) => visitor.visit_map(Map {
                de: &mut self,
                entries,
                at: 0,
            }),
            None => self.fail("an association list"),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BridgeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BridgeError> {
        let vm = &*self.cx.vm;
        let v = self.v;
        if vm.is(v, obj::SYMBOL) {
            return visitor.visit_enum(vm.symbol_name(v).into_deserializer());
        }
        // JSON's mapping: a unit variant's name as a string.
        if vm.is(v, obj::STRING) || vm.is(v, obj::WIDENED) {
            return visitor.visit_enum(vm.string_text(v).into_deserializer());
        }
        // JSON's mapping of any other variant: ((variant . payload)), an
        // object of one member.
        if vm.is_pair(v)
            && vm.cdr(v).is_nil()
            && vm.is_pair(vm.car(v))
            && vm.is(vm.car(vm.car(v)), obj::SYMBOL)
        {
            let entry = vm.car(v);
            let tag = vm.symbol_name(vm.car(entry));
            let payload = vm.cdr(entry);
            return visitor.visit_enum(Variant {
                de: self.at(payload),
                tag,
            });
        }
        if vm.is_pair(v) && vm.is(vm.car(v), obj::SYMBOL) {
            let tag = vm.symbol_name(vm.car(v));
            let payload = vm.cdr(v);
            return visitor.visit_enum(Variant {
                de: self.at(payload),
                tag,
            });
        }
        self.fail("a symbol, (variant . payload) or ((variant . payload))")
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit_struct seq tuple tuple_struct identifier ignored_any
    }
}

struct Seq<'x, 'a, 'b> {
    de: &'x mut De<'a, 'b>,
    items: Vec<Raw>,
    at: usize,
}

impl<'de> de::SeqAccess<'de> for Seq<'_, '_, '_> {
    type Error = BridgeError;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, BridgeError> {
        let Some(&v) = self.items.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        seed.deserialize(self.de.at(v)).map(Some)
    }
}

struct Map<'x, 'a, 'b> {
    de: &'x mut De<'a, 'b>,
    entries: Vec<(Raw, Raw)>,
    at: usize,
}

impl<'de> de::MapAccess<'de> for Map<'_, '_, '_> {
    type Error = BridgeError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, BridgeError> {
        let Some(&(k, _)) = self.entries.get(self.at) else {
            return Ok(None);
        };
        seed.deserialize(self.de.at(k)).map(Some)
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, BridgeError> {
        let Some(&(_, v)) = self.entries.get(self.at) else {
            return Err(BridgeError("a map key without a value".into()));
        };
        self.at += 1;
        seed.deserialize(self.de.at(v))
    }
}

struct Variant<'a, 'b> {
    de: De<'a, 'b>,
    tag: String,
}

impl<'de, 'a, 'b> de::EnumAccess<'de> for Variant<'a, 'b> {
    type Error = BridgeError;
    type Variant = De<'a, 'b>;
    fn variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, De<'a, 'b>), BridgeError> {
        let tag: de::value::StringDeserializer<BridgeError> = self.tag.into_deserializer();
        Ok((seed.deserialize(tag)?, self.de))
    }
}

impl<'de> de::VariantAccess<'de> for De<'_, '_> {
    type Error = BridgeError;
    fn unit_variant(self) -> Result<(), BridgeError> {
        Ok(())
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, BridgeError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, BridgeError> {
        de::Deserializer::deserialize_any(self, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BridgeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}
