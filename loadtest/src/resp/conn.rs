//! A connection: the pipelined writer and the buffered frame reader over
//! the two halves of a `TcpStream`.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::{Frame, parse};

/// Read buffer growth step: large enough that one `read` drains a burst of
/// small deliveries, small enough for ten thousand idle connections.
const READ_CHUNK: usize = 16 * 1024;

/// Appends one command, as a RESP array of bulk strings, to `out`.
pub(super) fn encode_command(out: &mut BytesMut, args: &[&[u8]]) {
    out.put_u8(b'*');
    out.put_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    out.put_slice(b"\r\n");
    for arg in args {
        out.put_u8(b'$');
        out.put_slice(itoa::Buffer::new().format(arg.len()).as_bytes());
        out.put_slice(b"\r\n");
        out.put_slice(arg);
        out.put_slice(b"\r\n");
    }
}

/// The reading half of a connection, with its buffer.
#[derive(Debug)]
pub(crate) struct Reader {
    half: OwnedReadHalf,
    buf: BytesMut,
}

impl Reader {
    /// Reads more bytes into the buffer; an error on EOF, because every
    /// connection the load tester opens is closed by the load tester.
    pub(crate) async fn fill(&mut self) -> anyhow::Result<usize> {
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
        let n = self.half.read_buf(&mut self.buf).await?;
        if n == 0 {
            bail!("connection closed by the server");
        }
        Ok(n)
    }

    /// The bytes read and not yet consumed.
    pub(crate) fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// Drops `n` decoded bytes from the front of the buffer.
    pub(crate) fn consume(&mut self, n: usize) {
        self.buf.advance(n);
    }

    /// Reads one general frame, waiting for more bytes as needed.
    pub(crate) async fn read_frame(&mut self) -> anyhow::Result<Frame> {
        loop {
            if let Some((frame, n)) = parse(&self.buf)? {
                self.buf.advance(n);
                return Ok(frame);
            }
            self.fill().await?;
        }
    }
}

/// The writing half of a connection: commands accumulate in `buf` and go
/// out in one `write_all` per [`Writer::flush`], which is what pipelining is.
#[derive(Debug)]
pub(crate) struct Writer {
    half: OwnedWriteHalf,
    buf: BytesMut,
}

impl Writer {
    /// Queues a command without sending it.
    pub(crate) fn push(&mut self, args: &[&[u8]]) {
        encode_command(&mut self.buf, args);
    }

    /// The pending output, for callers that encode commands themselves.
    pub(crate) fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes queued and not yet flushed.
    pub(crate) fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Sends everything queued.
    pub(crate) async fn flush(&mut self) -> anyhow::Result<()> {
        if !self.buf.is_empty() {
            self.half.write_all(&self.buf).await?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// A connection to a RESP server.
#[derive(Debug)]
pub(crate) struct Conn {
    /// Replies and pushes.
    pub(crate) reader: Reader,
    /// Pipelined commands.
    pub(crate) writer: Writer,
}

impl Conn {
    /// Connects with `TCP_NODELAY` (the load tester batches itself) and,
    /// for RESP3, switches protocol with `HELLO 3`.
    pub(crate) async fn connect(addr: SocketAddr, resp3: bool) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut conn = Conn {
            reader: Reader {
                half: r,
                buf: BytesMut::with_capacity(1024),
            },
            writer: Writer {
                half: w,
                buf: BytesMut::with_capacity(1024),
            },
        };
        if resp3 {
            let reply = conn.command(&[b"HELLO", b"3"]).await?;
            if let Frame::Error(e) = reply {
                bail!("HELLO 3 refused: {}", String::from_utf8_lossy(&e));
            }
        }
        Ok(conn)
    }

    /// Sends one command and reads one reply.
    pub(crate) async fn command(&mut self, args: &[&[u8]]) -> anyhow::Result<Frame> {
        self.writer.push(args);
        self.writer.flush().await?;
        self.reader.read_frame().await
    }
}
