//! The byte stream under a WebSocket: plain TCP or TLS over TCP, with reads batched during a flood
//! (see [`super::pace`]).

use super::pace::{self, Change, Pacer};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A connected transport: `ws://` runs over plain TCP, `wss://` over TLS.
#[derive(Debug)]
pub struct Transport {
    io: Io,
    pacer: Pacer,
    /// Runs while the pacer has raised the socket's low-water mark.
    fallback: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The mark was lifted by the fallback timer; the next read decides whether it comes back.
    lifted: bool,
}

#[derive(Debug)]
enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// One stream of an HTTP/2 connection (RFC 8441); the connection runs in h2's task.
    H2(Box<super::h2::H2Stream>),
}

impl Transport {
    /// Plain TCP (`ws://`).
    pub fn plain(tcp: TcpStream) -> Self {
        Self::new(Io::Plain(tcp))
    }

    /// TLS over TCP (`wss://`).
    pub fn tls(tls: TlsStream<TcpStream>) -> Self {
        Self::new(Io::Tls(Box::new(tls)))
    }

    /// One HTTP/2 stream (the TCP socket is h2's: reads are not paced).
    pub fn h2(stream: super::h2::H2Stream) -> Self {
        let mut transport = Self::new(Io::H2(Box::new(stream)));
        transport.pacer = Pacer::disabled();
        transport
    }

    /// Whether this is an HTTP/2 stream.
    pub fn is_h2(&self) -> bool {
        matches!(self.io, Io::H2(_))
    }

    /// Over HTTP/2, ends the stream and says so: once the close handshake is complete the stream is done,
    /// whether or not the server ends its side (hypercorn does not).
    pub fn end_h2_stream(&mut self) -> bool {
        match &mut self.io {
            Io::H2(s) => {
                s.end();
                true
            }
            _ => false,
        }
    }

    fn new(io: Io) -> Self {
        Self {
            io,
            pacer: Pacer::default(),
            fallback: None,
            lifted: false,
        }
    }

    /// The TCP socket underneath (h2's own, for a stream).
    pub fn tcp(&self) -> Option<&TcpStream> {
        match &self.io {
            Io::Plain(s) => Some(s),
            Io::Tls(s) => Some(s.get_ref().0),
            Io::H2(_) => None,
        }
    }

    /// Tells the socket what the pacer decided. A socket that refuses (not Linux, or an old kernel) simply
    /// stays eager: pacing saves CPU, it is never needed for correctness.
    fn apply(&mut self, change: Option<Change>) {
        let Some(Change::LowWater(bytes)) = change else {
            return;
        };
        let refused = match self.tcp() {
            Some(tcp) => super::sockopt::set_recv_low_water(tcp, bytes).is_err(),
            None => true,
        };
        if refused {
            self.pacer = Pacer::disabled();
            self.fallback = None;
        }
    }

    /// The fallback fires [`pace::FALLBACK`] after the read at `now`.
    fn arm_fallback(&mut self, now: tokio::time::Instant) {
        let at = now + pace::FALLBACK;
        match &mut self.fallback {
            Some(sleep) => sleep.as_mut().reset(at),
            None => self.fallback = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Io::H2(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        let read = buf.filled().len() - before;
        match result {
            Poll::Ready(Ok(())) if read > 0 && this.pacer.enabled() => {
                // One clock reading per read, for the pacer's window and the fallback's deadline.
                let now = tokio::time::Instant::now();
                let change = this.pacer.on_read(now.into_std(), read);
                this.apply(change);
                if std::mem::take(&mut this.lifted) {
                    let change = this.pacer.resume();
                    this.apply(change);
                }
                if this.pacer.batching() {
                    this.arm_fallback(now);
                }
            }
            Poll::Pending if this.pacer.batching() => {
                if let Some(sleep) = &mut this.fallback
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    // Lifting the mark makes the kernel signal what is queued; the read above has registered
                    // this task's waker, so the reader comes straight back.
                    this.fallback = None;
                    this.lifted = true;
                    let change = this.pacer.on_fallback();
                    this.apply(change);
                }
            }
            _ => {}
        }
        result
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Io::H2(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Io::H2(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Io::H2(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Io::H2(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
            Io::H2(_) => false,
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Many small reads raise the low-water mark; a few bytes that then arrive under the mark are still read,
    /// by the fallback timer (without it this read would wait forever).
    #[tokio::test]
    async fn a_flood_raises_the_mark_and_what_follows_it_still_arrives() {
        let (client, mut server) = super::super::sockopt::tcp_pair().await;
        let mut transport = Transport::plain(client);

        server
            .write_all(&[1u8; 6400])
            .await
            .expect("loopback socket");
        let mut chunk = [0u8; 100];
        let mut got = 0;
        while got < 6400 {
            got += transport.read(&mut chunk).await.expect("loopback socket");
        }
        assert!(
            transport.pacer.batching(),
            "64 back-to-back reads mark a flood"
        );
        // Drain the socket, so that the reader waits on epoll (under the mark) when the next bytes come.
        let drained = tokio::time::timeout(Duration::ZERO, transport.read(&mut chunk)).await;
        assert!(drained.is_err(), "nothing more was queued");

        server
            .write_all(b"after the flood")
            .await
            .expect("loopback socket");
        let mut tail = Vec::new();
        while tail.len() < 15 {
            let n = tokio::time::timeout(Duration::from_secs(5), transport.read(&mut chunk))
                .await
                .expect("bytes under the mark are released by the fallback timer")
                .expect("loopback socket");
            tail.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(tail, b"after the flood");
    }
}
