//! The networking engine: tokio tasks that own connections and the embedded echo server. No egui here.
//!
//! The GUI talks to it through [`Engine`] (which owns a background runtime); the command line runs the same
//! connection task on its own runtime. Either way, commands go in through a [`ConnectionHandle`] and events come
//! out through an [`events::EventStream`].

pub mod connection;
pub mod echo;
pub mod events;
pub mod handshake;
pub mod observer;
pub mod pipeline;
pub mod proxy;
pub mod replay;
pub mod stream;
pub mod target;
pub mod tls;

pub use connection::Command;
pub use events::{Event, EventKind, EventSink, EventStream, Overflow, Waker};

use crate::model::{ConnId, ConnectRequest};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

static NEXT_CONN_ID: AtomicU32 = AtomicU32::new(1);

/// Talks to one connection task.
#[derive(Clone, Debug)]
pub struct ConnectionHandle {
    /// The connection's id, as found in its events.
    pub conn_id: ConnId,
    tx: mpsc::UnboundedSender<Command>,
}

impl ConnectionHandle {
    /// Queues a command; returns false when the connection has already ended. Never blocks.
    pub fn send(&self, command: Command) -> bool {
        self.tx.send(command).is_ok()
    }

    /// True while the connection task is running.
    pub fn is_alive(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// Starts a connection task on the current runtime.
pub fn spawn_connection(
    req: ConnectRequest,
    sink: EventSink,
) -> (ConnectionHandle, JoinHandle<()>) {
    let conn_id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(connection::run(conn_id, req, rx, sink));
    (ConnectionHandle { conn_id, tx }, task)
}

/// The GUI's engine: a background tokio runtime plus the event channel to the UI.
pub struct Engine {
    runtime: tokio::runtime::Runtime,
    sink: EventSink,
    tasks: Vec<(ConnectionHandle, JoinHandle<()>)>,
    echo: Option<echo::EchoServer>,
}

/// Memory the GUI's event queue may hold before message events are dropped (and counted).
pub const GUI_EVENT_BUDGET_BYTES: usize = 256 << 20;

impl Engine {
    /// Starts the runtime. `wake` is called (coalesced) whenever events arrive.
    pub fn start(wake: Option<Waker>) -> std::io::Result<(Self, EventStream)> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sockscope-engine")
            .enable_all()
            .build()?;
        let (sink, stream) = events::channel(GUI_EVENT_BUDGET_BYTES, Overflow::DropMessages, wake);
        Ok((
            Self {
                runtime,
                sink,
                tasks: Vec::new(),
                echo: None,
            },
            stream,
        ))
    }

    /// Opens a connection; its events arrive on the engine's event stream.
    pub fn connect(&mut self, req: ConnectRequest) -> ConnectionHandle {
        let _guard = self.runtime.enter();
        let (handle, task) = spawn_connection(req, self.sink.clone());
        self.tasks.retain(|(h, _)| h.is_alive());
        self.tasks.push((handle.clone(), task));
        handle
    }

    /// Runs `future` on the engine's runtime (replays, for instance). Never blocks.
    pub fn spawn<F>(&self, future: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(future);
    }

    /// Starts the embedded echo server on a free loopback port and returns its URL.
    pub fn start_echo_server(&mut self) -> std::io::Result<String> {
        let std_listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        std_listener.set_nonblocking(true)?;
        let _guard = self.runtime.enter();
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        let server = echo::EchoServer::from_listener(listener, echo::Verbosity::Quiet);
        let url = server.url();
        self.echo = Some(server);
        Ok(url)
    }

    /// Closes every open connection with 1001 "going away", waits up to `timeout` for them to finish, and stops.
    pub fn shutdown(mut self, timeout: Duration) {
        let tasks = std::mem::take(&mut self.tasks);
        for (handle, _) in &tasks {
            handle.send(Command::Close {
                code: 1001,
                reason: "going away".into(),
            });
        }
        self.runtime.block_on(async {
            let all = futures_util::future::join_all(tasks.into_iter().map(|(_, t)| t));
            let _ = tokio::time::timeout(timeout, all).await;
        });
        self.echo = None;
        self.runtime.shutdown_timeout(Duration::from_millis(100));
    }
}
