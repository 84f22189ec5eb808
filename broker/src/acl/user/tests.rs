#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::acl::table::TABLE;

fn user(ops: &[&str]) -> User {
    let mut u = User::new(b"u", false);
    u.apply_all(ops).unwrap();
    u
}

fn describe(u: &User) -> String {
    String::from_utf8(u.describe()).unwrap()
}

#[test]
fn describes_users_as_redis_does() {
    assert_eq!(
        describe(&User::default_user(false)),
        "on nopass sanitize-payload ~* &* +@all"
    );
    assert_eq!(
        describe(&user(&[])),
        "off sanitize-payload resetchannels -@all"
    );
    let u = user(&[
        "on",
        ">p",
        "+@all",
        "resetchannels",
        "&news.*",
        "&chat",
        "-publish",
        "+publish",
        "-client|kill",
        "~foo",
        "%R~bar",
        "(+get ~x)",
    ]);
    assert_eq!(
        describe(&u),
        "on sanitize-payload #148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940 \
         ~foo %R~bar resetchannels &news.* &chat +@all +publish -client|kill \
         (~x resetchannels -@all +get)"
    );
    // A rule for a container replaces the rules for its subcommands.
    let u = user(&["-@all", "+client|list", "+client|kill", "-client"]);
    assert_eq!(u.selectors[0].describe_commands(), "-@all -client");
}

#[test]
fn rule_errors_have_redis_texts() {
    let mut u = User::new(b"x", false);
    let err = |u: &mut User, op: &str| u.apply_all(&[op]).unwrap_err();
    assert_eq!(
        err(&mut u, "bogus"),
        "Error in ACL SETUSER modifier 'bogus': Syntax error"
    );
    assert!(err(&mut u, "+client|foo").ends_with("Unknown command or category name in ACL"));
    assert!(err(&mut u, "+@nope").ends_with("Unknown command or category name in ACL"));
    assert!(err(&mut u, "<nope").ends_with("does not exist"));
    assert!(err(&mut u, "#abc").ends_with("lowercase hexadecimal characters"));
    assert_eq!(
        err(&mut u, "(+get"),
        "Unmatched parenthesis in acl selector starting at '(+get'."
    );
    assert!(
        u.apply_all(&["&x", "allchannels", "&y"])
            .unwrap_err()
            .contains("'&y'")
    );
    // All or nothing: the `&x` before the failure was not applied.
    assert!(u.selectors[0].channels.is_empty());
}

#[test]
fn channel_and_command_checks() {
    let u = user(&["on", "+@all", "resetchannels", "&news.*", "&chat"]);
    let pub_id = TABLE.id("publish").unwrap();
    let psub = TABLE.id("psubscribe").unwrap();
    let ch = |name: &'static str, pattern| ChannelArg {
        name: name.as_bytes(),
        pattern,
    };
    assert_eq!(u.check(pub_id, None, &[ch("chat", false)]), Ok(()));
    assert_eq!(u.check(pub_id, None, &[ch("news.x", false)]), Ok(()));
    assert_eq!(
        u.check(pub_id, None, &[ch("chat", false), ch("other", false)]),
        Err((Denied::Channel, 1))
    );
    assert_eq!(u.check(psub, None, &[ch("news.*", true)]), Ok(()));
    assert_eq!(
        u.check(psub, None, &[ch("news.x*", true)]),
        Err((Denied::Channel, 0))
    );
    let v = user(&["on", "+subscribe", "+ping", "allchannels"]);
    assert_eq!(v.check(pub_id, None, &[]), Err((Denied::Command, 0)));
    let sel = user(&["+select|0"]);
    let select = TABLE.id("select").unwrap();
    assert_eq!(sel.check(select, Some(b"0"), &[]), Ok(()));
    assert_eq!(
        sel.check(select, Some(b"1"), &[]),
        Err((Denied::Command, 0))
    );
}

#[test]
fn passwords() {
    let u = user(&["on", ">secret"]);
    assert!(u.password_ok(b"secret"));
    assert!(!u.password_ok(b"other"));
    let off = user(&["off", "nopass"]);
    assert!(!off.password_ok(b""));
    let hashed = user(&["on", &format!("#{}", hash_password(b"pw"))]);
    assert!(hashed.password_ok(b"pw"));
}
