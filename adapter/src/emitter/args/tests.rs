use std::collections::BTreeMap;

use bytes::Bytes;
use rmpv::Value as Mp;
use serde::Serialize;
use serde_json::json;

use super::{to_args, to_node_json};

#[derive(Serialize)]
enum Kind {
    Unit,
    New(u8),
    Tuple(u8, bool),
    Struct { a: i8 },
}

#[derive(Serialize)]
struct Everything {
    name: &'static str,
    n: i64,
    f: f64,
    whole: f64,
    none: Option<u8>,
    some: Option<u8>,
    list: Vec<u8>,
    kinds: Vec<Kind>,
    by_id: BTreeMap<u32, bool>,
    unit: (),
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
}

fn everything() -> Everything {
    Everything {
        name: "é",
        n: -40_000,
        f: 0.25,
        whole: 3.0,
        none: None,
        some: Some(7),
        list: vec![1, 2],
        kinds: vec![
            Kind::Unit,
            Kind::New(1),
            Kind::Tuple(2, true),
            Kind::Struct { a: -1 },
        ],
        by_id: BTreeMap::from([(10, true)]),
        unit: (),
        skipped: None,
    }
}

#[test]
fn without_binary_the_data_model_is_serde_json_s() {
    let args = to_args(&everything()).unwrap();
    assert_eq!(args.len(), 1);
    let mut expected = serde_json::to_value(everything()).unwrap();
    // JavaScript has one number type: 3.0 is the integer 3, on the wire and in JSON.
    expected["whole"] = json!(3);
    assert_eq!(to_node_json(&args[0]), expected);
}

#[test]
fn top_level_tuples_are_argument_lists() {
    assert!(to_args(&()).unwrap().is_empty());
    assert_eq!(to_args(&(1, "a")).unwrap(), [Mp::from(1), Mp::from("a")]);
    assert_eq!(
        to_args(&vec![1, 2]).unwrap(),
        [Mp::Array(vec![Mp::from(1), Mp::from(2)])]
    );
    assert_eq!(to_args(&None::<u8>).unwrap(), [Mp::Nil]);
    assert_eq!(to_args(&Some(())).unwrap(), [Mp::Nil]);
    // Nested tuples stay arrays.
    let nested = to_args(&((1, 2),)).unwrap();
    assert_eq!(nested, [Mp::Array(vec![Mp::from(1), Mp::from(2)])]);
}

#[test]
fn bytes_become_bin_anywhere_and_buffers_in_json() {
    #[derive(Serialize)]
    struct File {
        body: Bytes,
    }
    let args = to_args(&(
        Bytes::from_static(b"\x01"),
        File {
            body: Bytes::from_static(b"\x02"),
        },
    ))
    .unwrap();
    assert_eq!(args[0], Mp::Binary(vec![1]));
    assert_eq!(
        args[1],
        Mp::Map(vec![(Mp::from("body"), Mp::Binary(vec![2]))])
    );
    assert_eq!(
        to_node_json(&args[1]),
        json!({"body": {"type": "Buffer", "data": [2]}})
    );
}

#[test]
fn numbers_take_notepack_forms() {
    let args = to_args(&(
        2.0_f64,
        -0.0_f64,
        1.5_f32,
        f64::NAN,
        u64::from(u32::MAX) + 1,
    ))
    .unwrap();
    assert_eq!(args[0], Mp::from(2));
    assert_eq!(args[1], Mp::from(0));
    assert_eq!(args[2], Mp::F64(1.5));
    assert!(matches!(args[3], Mp::F64(f) if f.is_nan()));
    assert_eq!(args[4], Mp::from(4_294_967_296_u64));
    assert_eq!(to_node_json(&args[3]), json!(null));
}

#[test]
fn map_keys_must_be_scalars() {
    let ok = to_args(&BTreeMap::from([(true, 1)])).unwrap();
    assert_eq!(to_node_json(&ok[0]), json!({"true": 1}));
    let err = to_args(&BTreeMap::from([((1, 2), 1)])).unwrap_err();
    assert_eq!(err.to_string(), "key must be a string");
}
