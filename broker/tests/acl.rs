//! ACL users and channel permissions, against a real redis-server byte for
//! byte where Debian's 7.0.15 and Redis 7.2 agree, and against Redis 7.2's
//! texts (`on_7_2`) where 7.0.15 words them differently. Then what only
//! respub can show here: users from the configuration and an ACL file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::diff::{Barrier, Case, assert_cases, c};
use common::{Conn, RedisServer, TestServer};

const NO_CHANNEL: &[u8] = b"-NOPERM No permissions to access a channel\r\n";

fn no_command(user: &str, cmd: &str) -> Vec<u8> {
    format!("-NOPERM User {user} has no permissions to run the '{cmd}' command\r\n").into_bytes()
}

/// The reference's observed sequences (users `u` and `v`), revocation,
/// deletion, and the ACL subcommands' replies and errors.
fn cases() -> Vec<Case> {
    vec![
        channels_of_u(),
        commands_of_v(),
        auth_as_users(),
        deleting_users(),
        subcommands(),
    ]
}

/// Channel permissions of user `u`, narrowing them, and revocation.
fn channels_of_u() -> Case {
    (
        "channel permissions of user u",
        3,
        vec![
            c(0, "ACL SETUSER u on >p +@all resetchannels &news.* &chat"),
            c(1, "AUTH u p"),
            c(1, "ACL WHOAMI"),
            c(1, "SUBSCRIBE chat other").on_7_2(NO_CHANNEL),
            c(1, "PING"),
            c(1, "SUBSCRIBE news.*"),
            c(1, "SUBSCRIBE news.x"),
            c(1, "PSUBSCRIBE news.*"),
            c(1, "PSUBSCRIBE news.x*").on_7_2(NO_CHANNEL),
            c(1, "PSUBSCRIBE *").on_7_2(NO_CHANNEL),
            c(1, "SSUBSCRIBE other").on_7_2(NO_CHANNEL),
            c(1, "PUBLISH chat m"),
            c(1, "UNSUBSCRIBE nothing-checked-here"),
            c(2, "AUTH u p"),
            c(2, "PUBLISH other m").on_7_2(NO_CHANNEL),
            c(2, "SPUBLISH other m").on_7_2(NO_CHANNEL),
            c(2, "PUBLISH news.x m"),
            c(2, "PUBLISH chat m"),
            c(2, "PUBSUB CHANNELS"),
            // A superset keeps the subscriber connected...
            c(0, "ACL SETUSER u resetchannels &news.* &news.x &chat &more"),
            c(1, "PING"),
            // ...a narrower set disconnects it (it holds news.*).
            c(0, "ACL SETUSER u resetchannels &chat"),
            c(2, "PUBLISH news.x m").on_7_2(NO_CHANNEL),
            c(2, "PUBLISH chat m"),
        ],
    )
}

/// Command permissions of user `v`, and revocation.
fn commands_of_v() -> Case {
    (
        "command permissions of user v, and revocation",
        3,
        vec![
            c(
                0,
                "ACL SETUSER v on >p +subscribe +ping resetchannels allchannels",
            ),
            c(1, "AUTH v p"),
            c(1, "PUBLISH x m").on_7_2(&no_command("v", "publish")),
            c(1, "PSUBSCRIBE x*").on_7_2(&no_command("v", "psubscribe")),
            c(1, "CLIENT ID").on_7_2(&no_command("v", "client|id")),
            c(1, "SUBSCRIBE x"),
            c(2, "AUTH v p"),
            c(2, "PING"),
            c(0, "PUBLISH x hello"),
            c(0, "ACL SETUSER v resetchannels"),
            c(2, "PING"),
            c(0, "PUBLISH x gone"),
        ],
    )
}

/// AUTH and HELLO AUTH as ACL users.
fn auth_as_users() -> Case {
    (
        "AUTH and HELLO AUTH as ACL users",
        2,
        vec![
            c(0, "ACL SETUSER w on >one >two +@all &*"),
            c(0, "ACL SETUSER off1 off >p +@all"),
            c(1, "AUTH w one"),
            c(1, "AUTH w two"),
            c(1, "AUTH w three"),
            c(1, "AUTH off1 p"),
            c(1, "AUTH nobody p"),
            c(1, "HELLO 3 AUTH w two"),
            c(1, "ACL WHOAMI"),
            c(1, "RESET"),
            c(1, "ACL WHOAMI"),
            c(0, "ACL SETUSER w <one"),
            c(1, "AUTH w one"),
            c(0, "ACL SETUSER w <one"),
            c(0, "ACL SETUSER w nopass"),
            c(1, "AUTH w anything"),
            c(0, "ACL SETUSER w resetpass"),
            c(1, "AUTH w anything"),
        ],
    )
}

/// Deleting a user disconnects its clients.
fn deleting_users() -> Case {
    (
        "deleting a user disconnects its clients",
        3,
        vec![
            c(0, "ACL SETUSER d on nopass +@all &*"),
            c(1, "AUTH d x"),
            c(2, "AUTH d x"),
            c(1, "SUBSCRIBE a"),
            c(0, "ACL DELUSER d nobody"),
            c(0, "ACL DELUSER default"),
            c(0, "ACL DELUSER nobody"),
        ],
    )
}

/// The ACL subcommands' replies and errors.
fn subcommands() -> Case {
    (
        "ACL subcommands and their errors",
        1,
        vec![
            c(0, "ACL WHOAMI"),
            c(0, "ACL CAT"),
            c(0, "ACL CAT pubsub"),
            c(0, "ACL CAT PubSub"),
            c(0, "ACL CAT nope"),
            c(0, "ACL CAT pubsub extra"),
            c(0, "ACL GETUSER nobody"),
            c(0, "ACL SETUSER a\tb"),
            c(0, "ACL SETUSER x bogus"),
            c(0, "ACL SETUSER x +nosuchcommand"),
            c(0, "ACL SETUSER x +@nosuchcategory"),
            c(0, "ACL SETUSER x +client|nosuch"),
            c(0, "ACL SETUSER x -select|0"),
            c(0, "ACL SETUSER x +client|kill|x"),
            c(0, "ACL SETUSER x &a allchannels &b"),
            c(0, "ACL SETUSER x ~a allkeys ~b"),
            c(0, "ACL SETUSER x <nope"),
            c(0, "ACL SETUSER x #abc"),
            c(0, "ACL SETUSER x (+get"),
            c(0, "ACL SETUSER x %X~k"),
            c(0, "ACL USERS"),
            c(0, "ACL SETUSER x"),
            c(0, "ACL USERS"),
            c(0, "ACL DELUSER x"),
            c(0, "ACL LOAD"),
            c(0, "ACL SAVE"),
            c(0, "ACL GENPASS 0"),
            c(0, "ACL GENPASS 4097"),
            c(0, "ACL GENPASS x"),
            c(0, "ACL NOSUCH"),
            c(0, "ACL"),
            c(0, "ACL DRYRUN nobody ping"),
            c(0, "ACL DRYRUN default nosuch"),
            c(0, "ACL DRYRUN default ping"),
            c(0, "ACL DRYRUN default publish x"),
            c(0, "CLIENT KILL USER nobody"),
            c(0, "ACL HELP"),
            c(0, "ACL LOG x"),
            c(0, "ACL LOG 1 2"),
            c(0, "ACL LOG RESET"),
            c(0, "ACL LOG"),
        ],
    )
}

#[test]
fn acl_matches_redis_byte_for_byte() {
    let respub = TestServer::start();
    let redis = RedisServer::start();
    // The barrier is an unknown command: a marker channel would be refused
    // to users without channel permissions.
    assert_cases(respub.port, &redis, &cases(), Barrier::UnknownCommand);
}

fn lines(reply: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(reply)
        .split("\r\n")
        .filter(|l| !l.starts_with('*') && !l.starts_with('$') && !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `user` directives, hashed passwords, ACL LIST and GETUSER in Redis 7.2's
/// form (7.0.15 shows neither `sanitize-payload` nor rules in given order).
#[test]
fn users_from_the_configuration() {
    let hash = "148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940"; // "p"
    let text = format!(
        "user alice on #{hash} +@all -publish resetchannels &chat\nuser bob on >b +subscribe allchannels\n"
    );
    let (config, _) = respub_broker::Config::load(&text, &[]).unwrap();
    let server = TestServer::start_with(config);
    let mut admin = Conn::connect(server.port);
    assert_eq!(
        lines(&admin.call(&["ACL", "LIST"])),
        [
            format!("user alice on sanitize-payload #{hash} resetchannels &chat +@all -publish"),
            "user bob on sanitize-payload #3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d \
             &* -@all +subscribe"
                .to_owned(),
            "user default on nopass sanitize-payload ~* &* +@all".to_owned(),
        ]
    );
    assert_eq!(
        admin.call(&["ACL", "GETUSER", "alice"]),
        format!(
            "*12\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$16\r\nsanitize-payload\r\n$9\r\npasswords\r\n*1\r\n\
             $64\r\n{hash}\r\n$8\r\ncommands\r\n$18\r\n+@all -publish\r\n$4\r\nkeys\r\n$0\r\n\r\n\
             $8\r\nchannels\r\n$5\r\n&chat\r\n$9\r\nselectors\r\n*0\r\n"
        )
        .replace("$18\r\n+@all -publish", "$14\r\n+@all -publish")
        .into_bytes()
    );
    let mut alice = Conn::connect(server.port);
    assert_eq!(alice.call(&["AUTH", "alice", "p"]), b"+OK\r\n");
    assert_eq!(alice.call(&["SUBSCRIBE", "chat"]).len(), 33);
    let mut bob = Conn::connect(server.port);
    assert_eq!(bob.call(&["AUTH", "bob", "b"]), b"+OK\r\n");
    assert_eq!(
        bob.call(&["PUBLISH", "chat", "m"]),
        b"-NOPERM User bob has no permissions to run the 'publish' command\r\n"
    );
    // The denial is in ACL LOG and in INFO.
    let log = admin.call(&["ACL", "LOG", "1"]);
    let text = String::from_utf8_lossy(&log);
    for field in [
        "$7\r\ncommand\r\n",
        "$7\r\npublish\r\n",
        "$3\r\nbob\r\n",
        "$8\r\ntoplevel\r\n",
    ] {
        assert!(text.contains(field), "{field:?} not in {text}");
    }
    let info = admin.call(&["INFO", "stats"]);
    assert!(String::from_utf8_lossy(&info).contains("acl_access_denied_cmd:1\r\n"));
    // CONFIG SET requirepass changes the default user, as in Redis.
    assert_eq!(
        admin.call(&["CONFIG", "SET", "requirepass", "s3"]),
        b"+OK\r\n"
    );
    let mut fresh = Conn::connect(server.port);
    assert_eq!(
        fresh.call(&["PING"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(fresh.call(&["AUTH", "s3"]), b"+OK\r\n");
    assert_eq!(fresh.call(&["ACL", "WHOAMI"]), b"$7\r\ndefault\r\n");
}

#[test]
fn a_bad_user_directive_is_a_configuration_error() {
    let err = respub_broker::Config::load("port 7000\nuser x on +nosuch\n", &[]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("line 2"), "{text}");
    assert!(
        text.contains(
            "Error in user declaration '+nosuch': Unknown command or category name in ACL"
        ),
        "{text}"
    );
    let err = respub_broker::Config::load("user x on\nuser x off\n", &[]).unwrap_err();
    assert!(err.to_string().contains("Duplicate user found"), "{err}");
}

#[test]
fn acl_file_load_and_save() {
    let dir = std::env::temp_dir().join(format!("respub-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users.acl");
    std::fs::write(
        &path,
        "user default on nopass ~* &* +@all\nuser carol on >c resetchannels &news.* +@all\n",
    )
    .unwrap();
    let config = respub_broker::Config {
        aclfile: Some(path.clone()),
        ..respub_broker::Config::default()
    };
    let server = TestServer::start_with(config);
    let mut admin = Conn::connect(server.port);
    let mut carol = Conn::connect(server.port);
    assert_eq!(carol.call(&["AUTH", "carol", "c"]), b"+OK\r\n");
    assert_eq!(
        carol.call(&["SUBSCRIBE", "other"]),
        b"-NOPERM No permissions to access a channel\r\n"
    );
    assert_eq!(
        admin.call(&["ACL", "SETUSER", "dave", "on", ">d"]),
        b"+OK\r\n"
    );
    assert_eq!(admin.call(&["ACL", "SAVE"]), b"+OK\r\n");
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains("user dave on sanitize-payload #"), "{saved}");
    assert!(saved.contains("user carol on "), "{saved}");

    // A bad file changes nothing and says why.
    std::fs::write(&path, "user eve on +nosuch\nuser frank on\n").unwrap();
    let reply = String::from_utf8(admin.call(&["ACL", "LOAD"])).unwrap();
    assert!(
        reply.starts_with(&format!(
            "-ERR {}:1: Error in applying operation '+nosuch': Unknown command or category name in ACL."
        , path.display())),
        "{reply}"
    );
    assert!(reply.ends_with("no change to the previously active ACL rules was performed\r\n"));
    assert_eq!(carol.call(&["PING"]), b"+PONG\r\n");

    // A good one replaces the users, and disconnects the old users' clients.
    std::fs::write(&path, "user erin on >e +@all &*\n").unwrap();
    assert_eq!(admin.call(&["ACL", "LOAD"]), b"+OK\r\n");
    assert_eq!(carol.read_to_eof(), b"");
    assert_eq!(
        lines(&admin.call(&["ACL", "USERS"])),
        ["default".to_owned(), "erin".to_owned()]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What `run` fails with for `config`.
fn start_error(config: respub_broker::Config) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        respub_broker::run(listener, config, std::future::pending()).await
    });
    result.unwrap_err().to_string()
}

#[test]
fn users_and_an_acl_file_together_do_not_start() {
    let err = start_error(respub_broker::Config {
        aclfile: Some("/nonexistent/users.acl".into()),
        users: vec![vec!["x".to_owned(), "on".to_owned()]],
        ..respub_broker::Config::default()
    });
    assert!(
        err.contains("define either an ACL file or declare users"),
        "{err}"
    );
    let err = start_error(respub_broker::Config {
        aclfile: Some("/nonexistent/users.acl".into()),
        ..respub_broker::Config::default()
    });
    assert!(
        err.contains("opening file '/nonexistent/users.acl': No such file or directory"),
        "{err}"
    );
}
