//! The open socket shared by a connection's writer and its reader task. `StreamExt::split` takes a lock for every
//! message read; here the reader takes everything that is ready under one lock (see `reader::read_loop`), and the
//! writer locks the socket for one poll at a time. Neither side holds the lock across an `await`, so a lock is
//! only ever held for the length of one poll: the other side waits at most that long.

use crate::engine::pipeline::Socket;
use futures_util::Sink;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio_tungstenite::tungstenite::{Error, Message};

/// The writing half: a `Sink` of messages.
pub struct Writer(Arc<Mutex<Socket>>);

/// The reading half: locks the socket for one poll at a time.
pub struct Reader(Arc<Mutex<Socket>>);

/// Splits `socket` into its writing and reading halves.
pub fn split(socket: Socket) -> (Writer, Reader) {
    let shared = Arc::new(Mutex::new(socket));
    (Writer(shared.clone()), Reader(shared))
}

fn lock(socket: &Mutex<Socket>) -> MutexGuard<'_, Socket> {
    // A panic inside a poll ends the connection task that held the lock (see `contain_panics`); the socket's
    // own state then reports the failure, so a poisoned lock is taken as is.
    socket.lock().unwrap_or_else(|e| e.into_inner())
}

impl Reader {
    /// The socket, for the length of one poll.
    pub fn lock(&self) -> MutexGuard<'_, Socket> {
        lock(&self.0)
    }
}

impl Writer {
    /// Flushes what was fed, then calls `then` before letting go of the socket: what `then` reports comes before
    /// anything the reader takes off the socket afterwards — a sent message is logged before its reply.
    pub async fn flush_then(&mut self, then: impl FnOnce()) -> Result<(), Error> {
        let mut then = Some(then);
        std::future::poll_fn(|cx| {
            let mut socket = lock(&self.0);
            let flushed = Pin::new(&mut *socket).poll_flush(cx);
            if let (Poll::Ready(Ok(())), Some(then)) = (&flushed, then.take()) {
                then();
            }
            flushed
        })
        .await
    }
}

impl Sink<Message> for Writer {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut *lock(&self.0)).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        Pin::new(&mut *lock(&self.0)).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut *lock(&self.0)).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut *lock(&self.0)).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::observer::{Arrivals, Observed};
    use crate::engine::stream::Transport;
    use futures_util::SinkExt;
    use tokio::io::AsyncReadExt;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::protocol::Role;

    #[tokio::test]
    async fn a_flushed_message_is_reported_while_the_reader_is_locked_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let client = tokio::net::TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (mut server, _) = listener.accept().await.expect("accept");
        let arrivals = Arc::new(Arrivals::new(std::time::Instant::now()));
        let stream = Observed::new(Transport::Plain(client), Vec::new(), None, arrivals);
        let socket = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
        let (mut writer, reader) = split(socket);
        writer.feed(Message::text("hi")).await.expect("fed");
        let mut reader_locked_out = None;
        writer
            .flush_then(|| reader_locked_out = Some(reader.0.try_lock().is_err()))
            .await
            .expect("flushed");
        assert_eq!(reader_locked_out, Some(true));
        assert!(reader.0.try_lock().is_ok(), "let go afterwards");
        let mut frame = [0u8; 8];
        server.read_exact(&mut frame).await.expect("frame");
        assert_eq!(frame[..2], [0x81, 0x82], "a masked text frame of 2 bytes");
    }
}
