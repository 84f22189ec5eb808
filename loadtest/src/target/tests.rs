//! Targets parsed, started and stopped: spawned servers never outlive
//! their guard.

use super::*;

/// A redis-server target to spawn; the test fails if it is not installed.
fn spawned_redis() -> Target {
    let bin = ServerKind::Redis
        .locate(None)
        .expect("redis-server is not installed: run the README's test command, which installs it");
    Target {
        name: "redis-server".into(),
        source: Source::Spawn {
            kind: ServerKind::Redis,
            bin,
        },
    }
}

#[tokio::test]
async fn spawned_redis_is_stopped_when_the_guard_drops() {
    let target = spawned_redis();
    let running = target.start().await.unwrap();
    let pid = running.pid().unwrap();
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    assert!(proc_dir.exists());
    let mut conn = Conn::connect(running.addr, false).await.unwrap();
    assert_eq!(
        conn.command(&[b"CONFIG", b"GET", b"save"]).await.unwrap(),
        Frame::Array(vec![Frame::Bulk("save".into()), Frame::Bulk("".into())])
    );
    drop(running);
    // Drop kills and reaps the child: its /proc entry is gone at once.
    assert!(!proc_dir.exists(), "redis-server {pid} still running");
}

#[tokio::test]
async fn spawned_redis_is_stopped_when_an_error_unwinds() {
    let target = spawned_redis();
    let mut seen_pid = None;
    let result: anyhow::Result<()> = async {
        let running = target.start().await?;
        seen_pid = running.pid();
        bail!("scenario failed")
    }
    .await;
    assert!(result.is_err());
    let pid = seen_pid.unwrap();
    assert!(!PathBuf::from(format!("/proc/{pid}")).exists());
}

#[tokio::test]
async fn spawned_redis_is_stopped_when_the_run_is_cancelled() {
    // Ctrl-C in main drops the benchmark future mid-flight; model that
    // by racing a future that holds the guard against an already-ready one.
    let target = spawned_redis();
    let (pid_tx, pid_rx) = tokio::sync::oneshot::channel();
    let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel::<()>();
    let run = async {
        let running = target.start().await?;
        let _ = pid_tx.send(running.pid());
        std::future::pending::<()>().await;
        anyhow::Ok(())
    };
    let interrupt = async {
        let pid = pid_rx.await;
        let _ = cancel_tx.send(());
        pid
    };
    let (pid, _) = tokio::join!(interrupt, async {
        tokio::select! {
            r = run => r,
            _ = cancel_rx => Ok(()),
        }
    });
    let pid = pid.unwrap().unwrap();
    assert!(!PathBuf::from(format!("/proc/{pid}")).exists());
}

#[test]
fn missing_valkey_gives_a_clear_message() {
    let err = ServerKind::Valkey
        .locate(Some(Path::new("/nonexistent/valkey-server")))
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    if ServerKind::Valkey.locate(None).is_err() {
        let err = ServerKind::Valkey.locate(None).unwrap_err().to_string();
        assert!(err.contains("valkey-server not found"), "{err}");
    }
}

#[test]
fn parses_external_targets() {
    let t = Target::parse_external("a=127.0.0.1:6379").unwrap();
    assert_eq!(t.name, "a");
    assert!(Target::parse_external("127.0.0.1:6379").is_err());
}
