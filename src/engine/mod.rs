//! The networking engine: tokio tasks that own connections and the embedded echo server. No egui here.
//!
//! The GUI talks to it through [`Engine`] (which owns a background runtime); the command line runs the same
//! connection task on its own runtime. Either way, commands go in through a [`ConnectionHandle`] and events come
//! out through an [`events::EventStream`].

pub mod connection;
pub mod errors;
pub mod events;
pub mod load;
pub mod replay;
pub mod server;
pub(crate) mod task;
pub mod transport;

pub use server::echo;
use task::catch_panic;
pub use transport::{handshake, observer, pace, pipeline, proxy, stream, target, tls};

pub use connection::Command;
pub use events::{Event, EventKind, EventSink, EventStream, Overflow, Waker};

use crate::model::{CloseInfo, ConnId, ConnState, ConnectRequest, Initiator, Stage, StageError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

static NEXT_CONN_ID: AtomicU32 = AtomicU32::new(1);

/// Talks to one connection task.
#[derive(Clone, Debug)]
pub struct ConnectionHandle {
    /// The connection's id, as found in its events.
    pub conn_id: ConnId,
    tx: mpsc::UnboundedSender<connection::Queued>,
    /// Bytes that [`ConnectionHandle::send_within_budget`] may have waiting in the command queue.
    budget: Arc<Semaphore>,
}

/// How many payload bytes `send_within_budget` lets wait in a connection's command queue.
pub const COMMAND_BUDGET_BYTES: usize = 8 << 20;

impl ConnectionHandle {
    /// Queues a command; returns false when the connection has already ended. Never blocks.
    pub fn send(&self, command: Command) -> bool {
        self.tx.send(connection::Queued::now(command)).is_ok()
    }

    /// Queues a command once the commands already waiting hold fewer than [`COMMAND_BUDGET_BYTES`] of payload:
    /// the caller waits while the connection cannot write (a peer that does not read). `connect --echo` and
    /// `--stdin` send this way, so a peer that floods and never reads slows down instead of filling memory.
    /// Returns false when the connection has already ended.
    pub async fn send_within_budget(&self, command: Command) -> bool {
        let bytes = command.payload_len().clamp(1, COMMAND_BUDGET_BYTES);
        let Ok(permit) = self.budget.clone().acquire_many_owned(bytes as u32).await else {
            return false;
        };
        self.tx
            .send(connection::Queued::within(command, permit))
            .is_ok()
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
    let run = connection::run(conn_id, req, rx, sink.clone());
    let task = tokio::spawn(contain_panics(conn_id, sink, run));
    let budget = Arc::new(Semaphore::new(COMMAND_BUDGET_BYTES));
    (
        ConnectionHandle {
            conn_id,
            tx,
            budget,
        },
        task,
    )
}

/// Runs a connection's future; if it panics, the connection alone ends, reported as an internal error and a
/// broken close, and the app (and every other connection) carries on.
async fn contain_panics(
    conn_id: ConnId,
    sink: EventSink,
    run: impl std::future::Future<Output = ()>,
) {
    let Err(what) = catch_panic(run).await else {
        return;
    };
    tracing::error!("connection {conn_id} panicked: {what}");
    let message = format!(
        "sockscope hit a bug and ended this connection ({what}); other connections are unaffected"
    );
    sink.emit(
        conn_id,
        EventKind::Error(StageError::new(Stage::Internal, message)),
    )
    .await;
    let closed = CloseInfo {
        code: None,
        reason: String::new(),
        clean: false,
        initiated_by: Initiator::None,
    };
    sink.emit(conn_id, EventKind::Closed(closed)).await;
    sink.emit(conn_id, EventKind::State(ConnState::Closed))
        .await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_connection_is_reported_and_ends_alone() {
        let (sink, mut events) = events::channel(1 << 20, Overflow::Wait, None);
        let doomed = tokio::spawn(contain_panics(7, sink.clone(), async {
            panic!("boom in a test");
        }));
        let healthy = tokio::spawn(contain_panics(8, sink, async {}));
        assert!(doomed.await.is_ok(), "the panic does not escape the task");
        assert!(healthy.await.is_ok());
        let mut seen = Vec::new();
        while let Some(event) = events.recv().await {
            seen.push(event);
        }
        assert!(seen.iter().all(|e| e.conn_id == 7));
        let Some(EventKind::Error(error)) = seen.first().map(|e| &e.kind) else {
            panic!("an error comes first: {seen:?}");
        };
        assert_eq!(error.stage, Stage::Internal);
        assert!(
            error.message.contains("boom in a test"),
            "{}",
            error.message
        );
        assert!(matches!(
            seen[1].kind,
            EventKind::Closed(CloseInfo { clean: false, .. })
        ));
        assert!(matches!(seen[2].kind, EventKind::State(ConnState::Closed)));
    }
}
