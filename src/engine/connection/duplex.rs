//! The open socket shared by a connection's writer and its reader task. `StreamExt::split` takes a lock for every
//! message read; here the reader takes everything that is ready under one lock (see `reader::read_loop`), and the
//! writer locks the socket for one poll at a time. Neither side holds the lock across an `await`, so a lock is
//! only ever held for the length of one poll: the other side waits at most that long.

use crate::engine::pipeline::Socket;
use futures_util::{Sink, SinkExt};
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
    /// Sends `messages` and calls `then` once the last has been flushed, before letting go of the socket: what
    /// `then` reports comes before anything the reader takes off the socket afterwards — a sent message is logged
    /// before its reply.
    ///
    /// The last message is handed over, flushed and reported under one hold of the lock: the library writes some
    /// frames out as soon as it is given them (a close frame always, a large message when its buffer fills), so
    /// letting go between handing over and reporting would let the reader log a quick reply first.
    pub async fn send_then(
        &mut self,
        messages: Vec<Message>,
        then: impl FnOnce(),
    ) -> Result<(), Error> {
        let mut messages = messages.into_iter();
        let mut last = messages.next_back();
        for message in messages {
            self.feed(message).await?;
        }
        let mut then = Some(then);
        std::future::poll_fn(|cx| {
            let mut socket = lock(&self.0);
            if let Some(message) = last.take() {
                match Pin::new(&mut *socket).poll_ready(cx) {
                    Poll::Ready(Ok(())) => Pin::new(&mut *socket).start_send(message)?,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        last = Some(message);
                        return Poll::Pending;
                    }
                }
            }
            let flushed = Pin::new(&mut *socket).poll_flush(cx);
            // Taken only once flushed: a flush that has to wait must not lose the report.
            if let Poll::Ready(Ok(())) = &flushed
                && let Some(then) = then.take()
            {
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
        let stream = Observed::new(Transport::plain(client), Vec::new(), None, arrivals);
        let socket = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
        let (mut writer, reader) = split(socket);
        let mut reader_locked_out = None;
        writer
            .send_then(vec![Message::text("hi")], || {
                reader_locked_out = Some(reader.0.try_lock().is_err())
            })
            .await
            .expect("flushed");
        assert_eq!(reader_locked_out, Some(true));
        assert!(reader.0.try_lock().is_ok(), "let go afterwards");
        let mut frame = [0u8; 8];
        server.read_exact(&mut frame).await.expect("frame");
        assert_eq!(frame[..2], [0x81, 0x82], "a masked text frame of 2 bytes");
    }

    /// Regression: a close frame (and any frame the library writes out when handed it) used to be written while
    /// `feed` held the lock, and reported only once `flush_then` took it again; in between, the reader could log
    /// the server's quick reply before our close. A thread holding the reading half checks, each time it gets the
    /// lock, that every frame already on the wire has been reported.
    #[test]
    fn no_frame_is_on_the_wire_unreported_while_the_reader_holds_the_lock() {
        use crate::engine::events::{EventKind, Overflow, channel};
        use crate::engine::observer::Observer;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        // The far end swallows whatever arrives.
        std::thread::spawn(move || {
            let (mut server, _) = listener.accept().expect("accept");
            let _ = std::io::copy(&mut server, &mut std::io::sink());
        });
        let (sink, mut events) = channel(64 << 20, Overflow::DropMessages, None);
        let (mut writer, reader) = runtime.block_on(async {
            let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let started = std::time::Instant::now();
            let observer = Arc::new(Observer::new(1, sink, started));
            let arrivals = Arc::new(Arrivals::new(started));
            let stream = Observed::new(
                Transport::plain(client),
                Vec::new(),
                Some(observer),
                arrivals,
            );
            // With no write buffer the library writes every frame out as soon as it is handed over, as it
            // always does with a close frame.
            let config = WebSocketConfig::default().write_buffer_size(0);
            split(WebSocketStream::from_raw_socket(stream, Role::Client, Some(config)).await)
        });
        let reported = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (reported, done) = (reported.clone(), done.clone());
            std::thread::spawn(move || {
                let mut on_the_wire = 0usize;
                let mut unreported_seen = 0usize;
                while !done.load(Ordering::Acquire) {
                    let Ok(_socket) = reader.0.try_lock() else {
                        continue;
                    };
                    while let Some(event) = events.try_recv() {
                        if let EventKind::Frames(frames) = event.kind {
                            on_the_wire += frames.len();
                        }
                    }
                    if on_the_wire > reported.load(Ordering::Acquire) {
                        unreported_seen += 1;
                    }
                }
                unreported_seen
            })
        };
        runtime.block_on(async {
            for n in 0..2000u32 {
                let reported = reported.clone();
                writer
                    .send_then(vec![Message::text(n.to_string())], move || {
                        reported.fetch_add(1, Ordering::AcqRel);
                    })
                    .await
                    .expect("sent");
            }
        });
        done.store(true, Ordering::Release);
        let unreported_seen = watcher.join().expect("watcher");
        assert_eq!(
            unreported_seen, 0,
            "the reader held the lock while a written frame was not yet reported"
        );
    }
}
