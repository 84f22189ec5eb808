//! A client socket registered with the reactor for input only, so that its
//! writes never move its reads ahead of another client's.
//!
//! epoll keeps ready sockets in one list, in the order they became ready,
//! and reports each with its readiness at the time of the report. A socket
//! registered for both directions (as `tokio::net::TcpStream` is) joins the
//! list when an ACK frees room in its send buffer, which happens just after
//! every reply respub writes. If its next request arrives after another
//! client's, it is still reported first, now readable, and its request runs
//! first: a PUBLISH sent right after another connection's SUBSCRIBE missed
//! that subscriber whenever the publisher had just been answered. Redis
//! registers a client for writing only while it has output it could not
//! write, and so does this type: writes go straight to the socket, and only
//! a write that would block registers a duplicate descriptor (`dup`) for
//! output, dropped again once a write through it succeeds. The read
//! registration keeps its place in the list for input alone, and a client
//! costs one descriptor except while its socket buffer is full.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

/// The most one read asks for: what the connection's read loop asks for at
/// most (`connection.rs`).
const MAX_READ: usize = 64 * 1024;

/// A connected stream socket (TCP or Unix) registered for input, and for
/// output only while a write would block.
#[derive(Debug)]
pub struct Socket<T: AsRawFd> {
    read: AsyncFd<T>,
    /// A `dup` of the socket registered for output, while a write waits for
    /// room in the send buffer.
    write: Option<AsyncFd<T>>,
    /// `try_clone` of `T`, to make `write`.
    twin: fn(&T) -> io::Result<T>,
}

impl<T> Socket<T>
where
    T: AsRawFd,
{
    /// Only [`Socket::tcp`] and [`Socket::unix`] call this, with std's
    /// socket types: each owns its descriptor and reports the same one for
    /// its whole life, which is what tokio's safe registration (deprecated
    /// because it cannot check that for any `T`) requires.
    #[allow(deprecated)]
    fn register(fd: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(fd, interest)
    }

    fn new(stream: T, twin: fn(&T) -> io::Result<T>) -> io::Result<Self> {
        Ok(Self {
            read: Self::register(stream, Interest::READABLE)?,
            write: None,
            twin,
        })
    }

    /// The stream, for its addresses and socket options.
    pub fn get_ref(&self) -> &T {
        self.read.get_ref()
    }

    /// Runs the write `op` on the socket: directly, or once the output
    /// registration reports room if an earlier attempt would have blocked.
    fn poll_output<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            if let Some(write) = &self.write {
                let mut guard = ready!(write.poll_write_ready(cx))?;
                if let Ok(done) = guard.try_io(|fd| op(fd.get_ref())) {
                    // Room again: back to one registration, for input.
                    self.write = None;
                    return Poll::Ready(done);
                }
                continue;
            }
            match op(self.read.get_ref()) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    // Registering reports the socket at once if room has
                    // appeared since the attempt, so no wake-up is lost.
                    let twin = (self.twin)(self.read.get_ref())?;
                    self.write = Some(Self::register(twin, Interest::WRITABLE)?);
                }
                done => return Poll::Ready(done),
            }
        }
    }
}

impl Socket<std::net::TcpStream> {
    /// A TCP socket from accept(2).
    ///
    /// # Errors
    ///
    /// If the socket cannot be registered with the reactor.
    pub fn tcp(stream: std::net::TcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Self::new(stream, std::net::TcpStream::try_clone)
    }
}

impl Socket<std::os::unix::net::UnixStream> {
    /// A Unix socket from accept(2).
    ///
    /// # Errors
    ///
    /// If the socket cannot be registered with the reactor.
    pub fn unix(stream: std::os::unix::net::UnixStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Self::new(stream, std::os::unix::net::UnixStream::try_clone)
    }
}

impl<T> AsyncRead for Socket<T>
where
    T: AsRawFd + Unpin,
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.read.poll_read_ready(cx))?;
            // Safe code must zero what it reads into: at most one read's
            // worth, not all the spare capacity a large request left.
            let want = buf.remaining().min(MAX_READ);
            let unfilled = buf.initialize_unfilled_to(want);
            match guard.try_io(|fd| fd.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(err)) => return Poll::Ready(Err(err)),
                Err(_would_block) => {}
            }
        }
    }
}

impl<T> AsyncWrite for Socket<T>
where
    T: AsRawFd + AsFd + Unpin,
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_output(cx, |mut fd| fd.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_output(cx, |mut fd| fd.write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let fd = socket2::SockRef::from(self.read.get_ref());
        match fd.shutdown(std::net::Shutdown::Write) {
            Err(err) if err.kind() != io::ErrorKind::NotConnected => Poll::Ready(Err(err)),
            _ => Poll::Ready(Ok(())),
        }
    }
}
