#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::*;

fn opts(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn file_then_options() {
    let file = "# comment\nport 7000\nmaxclients 50\nsave 900 1\nappendonly no\n\nclient-output-buffer-limit pubsub 1mb 256kb 10\n";
    let (c, warnings) = Config::load(
        file,
        &opts(&["--port", "7001", "--bind", "127.0.0.1", "::1"]),
    )
    .unwrap();
    assert_eq!(c.port, 7001);
    assert_eq!(c.maxclients, 50);
    assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
    assert_eq!(
        c.output_limit_pubsub,
        OutputLimit {
            hard: 1024 * 1024,
            soft: 256 * 1024,
            soft_seconds: Duration::from_secs(10)
        }
    );
    assert_eq!(warnings.len(), 2);
    assert!(warnings[0].contains("'save'"));
}

#[test]
fn errors_name_the_line_like_redis() {
    let err = Config::load("port 7391\nfoo bar\n", &[]).unwrap_err();
    assert_eq!((err.line, err.text.as_str()), (2, "foo bar"));
    assert_eq!(
        err.error.to_string(),
        "Bad directive or wrong number of arguments"
    );
    let err = Config::load("port 7391\nport\n", &[]).unwrap_err();
    assert_eq!(err.error.to_string(), "wrong number of arguments");
    let err = Config::load("", &opts(&["--port", "7391", "--maxclients", "x"])).unwrap_err();
    assert_eq!(err.text, "maxclients \"x\"");
    assert_eq!(
        err.error.to_string(),
        "argument couldn't be parsed into an integer"
    );
    let shown = err.to_string();
    assert!(shown.contains("*** FATAL CONFIG FILE ERROR"));
    assert!(shown.contains(">>> 'maxclients \"x\"'"));
}

#[test]
fn tls_and_protected_mode_directives() {
    let file = "tls-port 6380\ntls-cert-file /etc/respub/server.crt\ntls-key-file /etc/respub/server.key\n\
                tls-ca-cert-dir /etc/respub/ca\ntls-auth-clients OPTIONAL\ntls-protocols \"TLSv1.2 TLSv1.3\"\n\
                tls-ciphers DEFAULT:!MEDIUM\ntls-session-caching no\nprotected-mode no\n";
    let (c, warnings) = Config::load(file, &opts(&["--port", "0"])).unwrap();
    assert_eq!((c.port, c.tls_port), (0, 6380));
    assert_eq!(c.tls_auth_clients, TlsAuthClients::Optional);
    assert_eq!(c.tls_ca_cert_file, None);
    assert_eq!(c.get("tls-ca-cert-dir").unwrap(), "/etc/respub/ca");
    assert_eq!(c.get("tls-key-file").unwrap(), "/etc/respub/server.key");
    assert_eq!(c.get("tls-ca-cert-file").unwrap(), "");
    assert_eq!(c.get("tls-auth-clients").unwrap(), "optional");
    assert_eq!(c.get("tls-protocols").unwrap(), "TLSv1.2 TLSv1.3");
    assert_eq!(c.get("protected-mode").unwrap(), "no");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("line 7: 'tls-ciphers' is OpenSSL tuning"));
    assert_eq!(Config::default().get("protected-mode").unwrap(), "yes");
    assert_eq!(Config::default().get("tls-auth-clients").unwrap(), "yes");

    let err = Config::load("port 1\ntls-auth-clients maybe\n", &[]).unwrap_err();
    assert_eq!(err.line, 2);
    assert_eq!(
        err.error.to_string(),
        "argument(s) must be one of the following: no, yes, optional"
    );
    let err = Config::load("tls-protocols \"TLSv1.2 SSLv3\"\n", &[]).unwrap_err();
    assert_eq!(
        (err.line, err.text.as_str()),
        (1, "tls-protocols \"TLSv1.2 SSLv3\"")
    );
    assert!(
        err.error
            .to_string()
            .starts_with("Invalid tls-protocols specified.")
    );
    let err = Config::load("", &opts(&["--protected-mode", "maybe"])).unwrap_err();
    assert_eq!(err.error.to_string(), "argument must be 'yes' or 'no'");
    let err = Config::load("tls-port x\n", &[]).unwrap_err();
    assert_eq!(
        err.error.to_string(),
        "argument couldn't be parsed into an integer"
    );

    let mut c = Config::default();
    assert_eq!(
        c.apply("protected-mode", &opts(&["NO"]), true),
        Ok(Applied::Set)
    );
    assert!(!c.protected_mode);
    // The TLS directives change at runtime, as in Redis 7; the OpenSSL
    // tuning respub ignores does not.
    for name in [
        "tls-port",
        "tls-cert-file",
        "tls-key-file",
        "tls-ca-cert-dir",
    ] {
        assert_eq!(
            c.apply(name, &opts(&["1"]), true),
            Ok(Applied::Set),
            "{name}"
        );
    }
    assert_eq!(c.tls_port, 1);
    assert!(matches!(
        c.apply("tls-auth-clients", &opts(&["1"]), true),
        Err(DirectiveError::Invalid(_))
    ));
    // Kept for CONFIG GET, without effect (rustls has no cipher strings).
    assert_eq!(
        c.apply("tls-ciphers", &opts(&["DEFAULT"]), true),
        Ok(Applied::Ignored)
    );
    assert_eq!(c.get("tls-ciphers").unwrap(), "DEFAULT");
}

#[test]
fn memory_units() {
    assert_eq!(parse_memory("32mb"), Some(32 * 1024 * 1024));
    assert_eq!(parse_memory("1GB"), Some(1 << 30));
    assert_eq!(parse_memory("512k"), Some(512_000));
    assert_eq!(parse_memory("100"), Some(100));
    assert_eq!(parse_memory("10xb"), None);
    // memtoull's quirks: no digits is 0, overflow saturates.
    assert_eq!(parse_memory("mb"), Some(0));
    assert_eq!(parse_memory("99999999999999999999"), Some(u64::MAX));
    assert_eq!(parse_memory("-1"), None);
}

#[test]
fn config_set_semantics() {
    let mut c = Config::default();
    assert_eq!(c.apply("timeout", &opts(&["5"]), true), Ok(Applied::Set));
    // The server moves its listeners for these two (see listen.rs).
    assert_eq!(c.apply("port", &opts(&["1"]), true), Ok(Applied::Set));
    assert_eq!(c.apply("bind", &opts(&["* -::*"]), true), Ok(Applied::Set));
    assert_eq!(c.bind, ["*", "-::*"]);
    assert_eq!(
        c.apply("daemonize", &opts(&["yes"]), true),
        Err(DirectiveError::Immutable)
    );
    assert_eq!(
        c.apply("dir", &opts(&["/"]), true),
        Err(DirectiveError::Protected)
    );
    assert_eq!(c.apply("save", &opts(&[""]), true), Ok(Applied::Ignored));
    assert_eq!(c.apply("hz", &opts(&["20"]), true), Ok(Applied::Ignored));
    assert_eq!(c.get("hz").unwrap(), "20");
    assert_eq!(
        c.apply("rdbchecksum", &opts(&["no"]), true),
        Err(DirectiveError::Immutable)
    );
    assert_eq!(
        c.apply(
            "client-output-buffer-limit",
            &opts(&["pubsub 32mb 8mb 60 normal 0 0 0"]),
            true
        ),
        Ok(Applied::Set)
    );
    assert_eq!(
        c.get("client-output-buffer-limit").unwrap(),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    // A bad class leaves every limit as it was.
    let before = c.clone().output_limit_pubsub;
    assert!(
        c.apply(
            "client-output-buffer-limit",
            &opts(&["pubsub 1 1 1 bogus 0 0 0"]),
            true
        )
        .is_err()
    );
    assert_eq!(c.output_limit_pubsub, before);
}

/// Directives accepted unused are checked as Redis checks them, and
/// CONFIG GET shows what they were given, in Redis' canonical form.
#[test]
fn unused_directives_keep_checked_values() {
    let mut c = Config::default();
    let set = |c: &mut Config, name: &str, value: &str| c.apply(name, &opts(&[value]), true);
    let invalid = |text: &str| Err(DirectiveError::Invalid(text.to_owned()));
    assert_eq!(set(&mut c, "maxmemory", "1gb"), Ok(Applied::Ignored));
    assert_eq!(c.get("maxmemory").unwrap(), "1073741824");
    assert_eq!(
        set(&mut c, "maxmemory", "-1"),
        invalid("argument must be a memory value")
    );
    assert_eq!(set(&mut c, "maxmemory-clients", "5%"), Ok(Applied::Ignored));
    assert_eq!(c.get("maxmemory-clients").unwrap(), "5%");
    assert_eq!(
        set(&mut c, "maxmemory-clients", "101%"),
        invalid("percentage argument must be less or equal to 100")
    );
    assert_eq!(
        set(&mut c, "maxmemory-policy", "ALLKEYS-LRU"),
        Ok(Applied::Ignored)
    );
    assert_eq!(c.get("maxmemory-policy").unwrap(), "allkeys-lru");
    assert_eq!(
        set(&mut c, "hz", "05"),
        invalid("argument couldn't be parsed into an integer")
    );
    assert_eq!(set(&mut c, "hz", "100000"), Ok(Applied::Ignored));
    assert_eq!(c.get("hz").unwrap(), "500");
    assert_eq!(
        set(&mut c, "repl-timeout", "0"),
        invalid("argument must be between 1 and 2147483647 inclusive")
    );
    // An alias shares its target's value.
    assert_eq!(
        set(&mut c, "hash-max-ziplist-entries", "7"),
        Ok(Applied::Ignored)
    );
    assert_eq!(c.get("hash-max-listpack-entries").unwrap(), "7");
    assert_eq!(set(&mut c, "save", "+60 05 10 0"), Ok(Applied::Ignored));
    assert_eq!(c.get("save").unwrap(), "60 5 10 0");
    assert_eq!(
        set(&mut c, "save", "0 1"),
        invalid("Invalid save parameters")
    );
    assert_eq!(
        set(&mut c, "proc-title-template", "{title} {nosuch}"),
        invalid("template format is invalid or contains unknown variables")
    );
    assert_eq!(
        set(&mut c, "proc-title-template", " {title} "),
        invalid("template format is invalid or contains unknown variables")
    );
    assert_eq!(
        set(&mut c, "loadmodule", "x.so"),
        Err(DirectiveError::Unknown)
    );
    assert_eq!(c.get("loadmodule"), None);
}

/// A file's `save` lines add up, as redis.conf's do; `save ""` clears them.
#[test]
fn save_lines_of_a_file_add_up() {
    let (c, _) = Config::load("save 900 1\nsave 300 10\n", &[]).unwrap();
    assert_eq!(c.get("save").unwrap(), "900 1 300 10");
    let (c, _) = Config::load("save 900 1\nsave \"\"\n", &[]).unwrap();
    assert_eq!(c.get("save").unwrap(), "");
}
