//! One client connection: bytes in, commands run, frames out.
//!
//! The reader half runs in this task: it decodes requests, runs them and
//! queues their replies. The writer half runs in its own task draining the
//! client's outbound queue, so a slow socket never stops this task from
//! reading, and a publisher never waits for either.
//!
//! The connection ends when the peer closes, on QUIT (after the `+OK` is
//! written), on a protocol error (after the error is written), when the
//! client is killed (CLIENT KILL, output limits: nothing more is written),
//! or at server shutdown (queued output is flushed first).

use std::sync::Arc;

use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::client::{BLOCKED, Client};
use crate::cmd;
use crate::parse::{DecodeLimits, Decoder};
use crate::session::{Close, Postponed, Session, Shared};
use crate::stats::Stats;

/// The most a single read asks for (a publisher streaming requests).
const MAX_READ: usize = 64 * 1024;

/// The read buffer of a connection that sends little (most subscribers):
/// small, because an idle subscriber should cost as little as possible.
const IDLE_READ: usize = 2 * 1024;

/// A publisher's batch of requests is cut into slices of queued bytes:
/// after each, the writers it woke run before the rest is fanned out.
/// Without it, a batch of a few hundred PUBLISHes to a channel with 10,000
/// subscribers queues hundreds of megabytes before the first byte is
/// written (Redis, reading 16 KiB per turn, writes every turn). A slice is
/// at least this many bytes...
const FANOUT_SLICE: usize = 1024 * 1024;

/// ...and at least this many per writer it wakes (Redis' reply buffer
/// size), so that each write carries a good batch: with 1,000 subscribers,
/// 1 MiB slices meant a write per subscriber every 1 KiB, and ten times
/// the system calls (the woken writers run in the order they were woken,
/// every one of them between two slices)...
const SLICE_PER_WRITER: usize = 16 * 1024;

/// ...and at most this many, whatever the number of subscribers.
const SLICE_MAX: usize = 64 * 1024 * 1024;

/// Whether the fan-out queued since the writers last ran fills a slice.
fn slice_full(fanout: &crate::registry::Fanout) -> bool {
    let limit = (fanout.wake.len() * SLICE_PER_WRITER).clamp(FANOUT_SLICE, SLICE_MAX);
    fanout.queued_bytes >= limit
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Write what is queued, then close.
    Flush,
    /// Close now, dropping queued output.
    Drop,
}

/// Serves one client until it disconnects or is disconnected. The client
/// must already be in `shared.clients`; it is removed at the end.
pub async fn serve<S>(stream: S, client: Arc<Client>, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let writer_task = {
        let client = Arc::clone(&client);
        let stats = Arc::clone(&shared.stats);
        crate::runtime::spawn_writer(shared.writers.as_ref(), async move {
            let result = client
                .out
                .drain_into(&mut writer, &stats.net_output_bytes)
                .await;
            if let Err(err) = &result {
                tracing::debug!(client = client.id, %err, "write failed");
                client.kill.cancel();
            }
            let _ = writer.shutdown().await;
        })
    };

    let mut session = Session::new(Arc::clone(&client), Arc::clone(&shared));
    let end = read_loop(&mut reader, &mut session).await;

    session.drop_subscriptions();
    session.stop_monitoring();
    if session.replica() {
        shared.replication.detach(client.id);
    }
    shared.clients.remove(client.id);
    match end {
        End::Flush => client.out.close_after_flush(),
        End::Drop => client.out.close_now(),
    }
    // The writer ends once the queue is flushed or dropped; a peer that
    // stops reading is cut off by the kill token.
    tokio::select! {
        _ = writer_task => {}
        () = client.kill.cancelled() => client.out.close_now(),
    }
}

/// How a batch of requests read from the socket ended.
enum Batch {
    /// Everything complete in the buffer ran; read more.
    Read,
    /// A slice of a large fan-out ran; let the writers run, then go on.
    Sliced,
    /// The connection ends.
    End(End),
    /// This request is held by `CLIENT PAUSE`.
    Held(Vec<Bytes>, Postponed),
}

/// Runs every complete request in `buf`, in order, until one ends the
/// connection, is held, or a fan-out slice is full.
fn run_batch(decoder: &mut Decoder, buf: &mut BytesMut, session: &mut Session) -> Batch {
    let config = session.shared.config.load();
    let limits = DecodeLimits {
        max_bulk_len: config.proto_max_bulk_len,
        unauthenticated: !session.authenticated,
    };
    session.track_latency = config.latency_tracking;
    session.slowlog_us = config.slowlog_log_slower_than;
    session.latency_ms = config.latency_monitor_threshold;
    loop {
        match decoder.decode(buf, limits) {
            Ok(Some(args)) => {
                let argv = args.iter().map(Bytes::len).sum();
                session.client.argv_mem.store(argv, Ordering::Relaxed);
                cmd::execute(session, &args);
                if let Some(held) = session.postponed.take() {
                    return Batch::Held(args, held);
                }
                session.flush();
                if session.close == Close::AfterReply {
                    return Batch::End(End::Flush);
                }
                if slice_full(&session.fanout) {
                    return Batch::Sliced;
                }
            }
            Ok(None) => return Batch::Read,
            Err(err) => {
                tracing::debug!(client = session.client.id, %err, "protocol error");
                session.error(&err.reply_text());
                session.flush();
                return Batch::End(End::Flush);
            }
        }
    }
}

/// Publishes the read buffer's state for `CLIENT LIST`, once per read.
fn publish_qbuf(client: &Client, buf: &BytesMut) {
    let mut meta = client.meta.lock();
    meta.qbuf = buf.len();
    meta.qbuf_free = buf.capacity() - buf.len();
}

async fn read_loop<R>(reader: &mut R, session: &mut Session) -> End
where
    R: AsyncRead + Unpin,
{
    let client = Arc::clone(&session.client);
    let shared = Arc::clone(&session.shared);
    let mut buf = BytesMut::with_capacity(IDLE_READ);
    // How much the next read asks for: grows while reads fill the buffer (a
    // busy publisher), back to IDLE_READ once reads are small again.
    let mut read_size = IDLE_READ;
    let mut decoder = Decoder::new();
    loop {
        let batch = run_batch(&mut decoder, &mut buf, session);
        session.end_run();
        // Everything this batch queued leaves now, in one write per client.
        session.wake_all();
        match batch {
            Batch::End(end) => return end,
            Batch::Sliced => {
                // Let the writers send what this slice queued before fanning
                // out the rest of the batch.
                tokio::task::yield_now().await;
                continue;
            }
            Batch::Held(args, held) => {
                if let Some(end) = hold(reader, &mut buf, session, &args, held).await {
                    return end;
                }
                session.wake_all();
                continue;
            }
            Batch::Read => {}
        }
        let config = shared.config.load_full();
        if buf.len() > config.client_query_buffer_limit {
            tracing::warn!(
                client = client.id,
                "closing client that reached max query buffer length"
            );
            return End::Drop;
        }
        if buf.is_empty() && read_size == IDLE_READ && buf.capacity() > 2 * MAX_READ {
            // A large request grew the buffer; do not keep it while idle.
            buf = BytesMut::with_capacity(IDLE_READ);
        }
        if buf.capacity() - buf.len() < read_size {
            buf.reserve(read_size);
        }
        publish_qbuf(&client, &buf);
        // Between requests, the arguments of one still arriving.
        client.argv_mem.store(decoder.argv_len(), Ordering::Relaxed);
        let room = buf.capacity() - buf.len();
        // One read per client per turn of the reactor, as Redis' event
        // loop reads each ready client once: reading again straight away
        // would run this client's next requests before those of clients
        // whose bytes arrived earlier but are still waiting to be polled
        // (with io-threads, a writer thread sends the reply while this
        // loop runs, and a quick client's next request is already here).
        tokio::task::yield_now().await;
        tokio::select! {
            biased;
            () = client.kill.cancelled() => return End::Drop,
            () = shared.shutdown.cancelled() => return End::Flush,
            read = reader.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => return End::Drop,
                Ok(n) => {
                    // Once per read, not per command: reading the clock per
                    // request showed in profiles of pipelined publishers.
                    client.touch();
                    Stats::add(&shared.stats.net_input_bytes, n as u64);
                    read_size = if n >= room {
                        (read_size * 4).min(MAX_READ)
                    } else if n < IDLE_READ / 2 {
                        IDLE_READ
                    } else {
                        read_size
                    };
                }
            },
        }
    }
}

/// Waits for `CLIENT PAUSE` to end, then runs the held request (or for
/// WAIT's acknowledgements, then answers it); `Some` if
/// the connection ends instead. Meanwhile the socket is still read, as
/// Redis reads a blocked client: its input is buffered (and run after the
/// held request, in order), and a peer that closes is dropped with its
/// request unrun.
async fn hold<R>(
    reader: &mut R,
    buf: &mut BytesMut,
    session: &mut Session,
    args: &[Bytes],
    mut held: Postponed,
) -> Option<End>
where
    R: AsyncRead + Unpin,
{
    let client = Arc::clone(&session.client);
    let shared = Arc::clone(&session.shared);
    client.set_flag(BLOCKED, true);
    publish_qbuf(&client, buf);
    let end = loop {
        // WAIT answers with the count once it has it; a paused command runs
        // again once the pause is over.
        let Postponed {
            may_replicate,
            acks,
        } = held;
        let wait = async {
            match acks {
                Some(acks) => Some(shared.replication.acks(acks).await),
                None => {
                    shared.pause.wait(may_replicate).await;
                    None
                }
            }
        };
        tokio::pin!(wait);
        let mut answer = None;
        let ended = loop {
            tokio::select! {
                biased;
                () = client.kill.cancelled() => break Some(End::Drop),
                () = shared.shutdown.cancelled() => break Some(End::Flush),
                acked = &mut wait => {
                    answer = acked;
                    break None;
                }
                read = reader.read_buf(buf) => match read {
                    Ok(0) | Err(_) => break Some(End::Drop),
                    Ok(n) => {
                        Stats::add(&shared.stats.net_input_bytes, n as u64);
                        if buf.len() > shared.config.load().client_query_buffer_limit {
                            break Some(End::Drop);
                        }
                        publish_qbuf(&client, buf);
                    }
                },
            }
        };
        if ended.is_some() {
            break ended;
        }
        if let Some(n) = answer {
            session.reply().int(n);
            break None;
        }
        cmd::execute(session, args);
        session.end_run();
        match session.postponed.take() {
            // Paused again before this connection's turn came.
            Some(again) => held = again,
            None => break None,
        }
    };
    client.set_flag(BLOCKED, false);
    if end.is_some() {
        return end;
    }
    session.flush();
    (session.close == Close::AfterReply).then_some(End::Flush)
}

/// What [`replay`] observed.
#[doc(hidden)]
#[derive(Debug)]
pub struct Replay {
    /// Everything the server wrote before the connection ended.
    pub output: Vec<u8>,
    /// Whether the registry was empty once the connection had ended.
    pub registry_empty: bool,
}

/// Runs `input` through one real connection (decoder, commands, registry,
/// outbound queue) over an in-memory pipe, then closes the client's side.
/// For the fuzz targets and the corpus replay test: the connection must
/// end and leave no subscription behind, whatever the bytes.
///
/// # Errors
///
/// If the runtime cannot start, or the connection does not end within 10 s.
#[doc(hidden)]
pub fn replay(input: &[u8]) -> std::io::Result<Replay> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let shared = Arc::new(Shared::new(
            crate::Config::default(),
            0,
            tokio_util::sync::CancellationToken::new(),
        ));
        let client = Arc::new(Client::new(
            shared.clients.next_id(),
            "replay:0".into(),
            "replay:0".into(),
            Arc::clone(&shared.stats),
        ));
        shared.clients.insert(Arc::clone(&client));
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let flushing = Arc::clone(&shared);
        tokio::spawn(async move { flushing.flusher.run(flushing.shutdown.clone()).await });
        let server = tokio::spawn(serve(theirs, client, Arc::clone(&shared)));
        let (mut rd, mut wr) = tokio::io::split(ours);
        let input = input.to_vec();
        let writer = tokio::spawn(async move {
            let _ = wr.write_all(&input).await;
            let _ = wr.shutdown().await;
        });
        let mut output = Vec::new();
        let read = async {
            let _ = rd.read_to_end(&mut output).await;
            let _ = writer.await;
            let _ = server.await;
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), read)
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "the connection did not end")
            })?;
        Ok(Replay {
            output,
            registry_empty: shared.registry.is_empty(),
        })
    })
}
