//! What the load tester asks redis-sentinel: whether it is ready to fail a
//! master over, where the master is, and the events it announces.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::measure::Clock;
use crate::resp::{Conn, Frame};

/// The events the run's timeline is made of.
/// `+promoted-slave` is the leader's: it has seen the chosen replica report
/// `role:master`, and from then on it names that replica as the master, so
/// what follows it to the first delivery is the broker's and its clients'
/// part, without the phase of Sentinel's 1 s INFO polls.
const EVENTS: [&[u8]; 3] = [b"+odown", b"+promoted-slave", b"+switch-master"];

/// The field-value pairs of a `SENTINEL MASTER` or `SENTINEL REPLICAS`
/// entry.
fn fields(frame: &Frame) -> Vec<(&[u8], &[u8])> {
    let items = frame.items().unwrap_or_default();
    items
        .chunks(2)
        .filter_map(|pair| match pair {
            [k, v] => Some((k.as_bytes()?, v.as_bytes()?)),
            _ => None,
        })
        .collect()
}

fn field<'a>(fields: &[(&[u8], &'a [u8])], name: &str) -> Option<&'a [u8]> {
    fields
        .iter()
        .find(|(k, _)| *k == name.as_bytes())
        .map(|(_, v)| *v)
}

/// Whether the sentinel at `addr` monitors `name` as a healthy master with
/// `replicas` linked replicas and `sentinels` other sentinels: only then
/// can a failover happen (the quorum, a replica to promote).
pub(super) async fn ready(
    addr: SocketAddr,
    name: &str,
    replicas: usize,
    sentinels: usize,
) -> anyhow::Result<bool> {
    let mut conn = Conn::connect(addr, false).await?;
    let master = conn
        .command(&[b"SENTINEL", b"MASTER", name.as_bytes()])
        .await?;
    if let Frame::Error(e) = &master {
        bail!("SENTINEL MASTER: {}", String::from_utf8_lossy(e));
    }
    let m = fields(&master);
    let is = |k: &str, want: String| field(&m, k) == Some(want.as_bytes());
    if !(is("flags", "master".into())
        && is("num-slaves", replicas.to_string())
        && is("num-other-sentinels", sentinels.to_string()))
    {
        return Ok(false);
    }
    let listed = conn
        .command(&[b"SENTINEL", b"REPLICAS", name.as_bytes()])
        .await?;
    let entries = listed.items().unwrap_or_default();
    Ok(entries.len() == replicas
        && entries.iter().all(|e| {
            let f = fields(e);
            field(&f, "flags") == Some(b"slave") && field(&f, "master-link-status") == Some(b"ok")
        }))
}

/// Parses `ip` and `port` into an address.
pub(super) fn addr_of(ip: &[u8], port: &[u8]) -> Option<SocketAddr> {
    let ip = std::str::from_utf8(ip).ok()?.parse().ok()?;
    let port = std::str::from_utf8(port).ok()?.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// `SENTINEL get-master-addr-by-name`: where this sentinel says the master
/// is, `None` when it does not know the name.
pub(super) async fn master_addr(conn: &mut Conn, name: &str) -> anyhow::Result<Option<SocketAddr>> {
    let reply = conn
        .command(&[b"SENTINEL", b"get-master-addr-by-name", name.as_bytes()])
        .await?;
    match &reply {
        Frame::Null => Ok(None),
        Frame::Array(v) => match v.as_slice() {
            [ip, port] => Ok(addr_of(
                ip.as_bytes().unwrap_or_default(),
                port.as_bytes().unwrap_or_default(),
            )),
            _ => bail!("get-master-addr-by-name: unexpected reply {reply:?}"),
        },
        _ => bail!("get-master-addr-by-name: unexpected reply {reply:?}"),
    }
}

/// An event a sentinel published, when the load tester read it.
#[derive(Debug, Clone)]
pub(super) struct Event {
    /// `+odown` or `+switch-master`.
    pub(super) kind: Vec<u8>,
    /// Its text, e.g. `<name> <old ip> <old port> <new ip> <new port>`.
    pub(super) text: Vec<u8>,
    /// On the run's clock.
    pub(super) at_ns: u64,
}

/// Subscriptions to every sentinel's events, until `stop`.
#[derive(Debug)]
pub(super) struct Watch {
    events: Arc<Mutex<Vec<Event>>>,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Watch {
    /// Subscribes to [`EVENTS`] on every sentinel; returns once all are
    /// subscribed, so nothing after it goes unseen.
    pub(super) async fn start(
        addrs: &[SocketAddr],
        clock: &Arc<Clock>,
        stop: &CancellationToken,
    ) -> anyhow::Result<Self> {
        let events = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = JoinSet::new();
        for &addr in addrs {
            let mut conn = Conn::connect(addr, false).await?;
            let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
            args.extend(EVENTS);
            conn.writer.push(&args);
            conn.writer.flush().await?;
            for _ in EVENTS {
                let frame = conn.reader.read_frame().await?;
                let kind = frame.head();
                if kind != Some(b"subscribe") {
                    bail!("sentinel {addr}: SUBSCRIBE answered {frame:?}");
                }
            }
            let (events, clock, stop) = (Arc::clone(&events), Arc::clone(clock), stop.clone());
            tasks.spawn(async move {
                // The write half must stay open: dropping it shuts the
                // socket down, and the sentinel closes the connection.
                let Conn {
                    mut reader,
                    writer: _writer,
                } = conn;
                loop {
                    let frame = tokio::select! {
                        () = stop.cancelled() => return Ok(()),
                        f = reader.read_frame() => f.with_context(|| format!("sentinel {addr}"))?,
                    };
                    let at_ns = clock.now_ns();
                    if let Some([kind, channel, text]) = frame.items()
                        && kind.as_bytes() == Some(b"message")
                        && let Ok(mut list) = events.lock()
                    {
                        list.push(Event {
                            kind: channel.as_bytes().unwrap_or_default().to_vec(),
                            text: text.as_bytes().unwrap_or_default().to_vec(),
                            at_ns,
                        });
                    }
                }
            });
        }
        Ok(Self { events, tasks })
    }

    /// Waits for the subscriptions to end (after `stop`) and returns every
    /// event seen, in the order read.
    pub(super) async fn finish(mut self) -> anyhow::Result<Vec<Event>> {
        while let Some(joined) = self.tasks.join_next().await {
            joined.context("sentinel watcher")??;
        }
        let list = self.events.lock().map(|l| l.clone()).unwrap_or_default();
        Ok(list)
    }
}
