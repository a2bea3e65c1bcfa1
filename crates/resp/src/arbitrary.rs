//! A proptest strategy for frames of every RESP2 and RESP3 type, nested a
//! few levels: for this crate's round-trip tests and other crates' (the
//! `arbitrary` feature).

use bytes::Bytes;
use proptest::prelude::*;

use crate::Frame;

pub fn frame() -> impl Strategy<Value = Frame> {
    let leaf = prop_oneof![
        "[a-z]{0,8}".prop_map(|s| Frame::Simple(Bytes::from(s))),
        "[A-Z]{1,8}".prop_map(|s| Frame::Error(Bytes::from(s))),
        any::<i64>().prop_map(Frame::Integer),
        prop::collection::vec(any::<u8>(), 0..32).prop_map(|v| Frame::Bulk(Bytes::from(v))),
        Just(Frame::NullBulk),
        Just(Frame::NullArray),
        Just(Frame::Null),
        any::<bool>().prop_map(Frame::Boolean),
        (-1e300f64..1e300).prop_map(Frame::Double),
        "[0-9]{1,30}".prop_map(|s| Frame::BigNumber(Bytes::from(s))),
        "[a-z]{0,10}".prop_map(|s| Frame::Verbatim { format: *b"txt", text: Bytes::from(s) }),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
            prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Frame::Map),
        ]
    })
}
