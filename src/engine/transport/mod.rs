//! How bytes reach the server and come back: the target URL, the staged connect (DNS, TCP, proxy, TLS, the HTTP
//! upgrade by hand), the byte stream under the WebSocket with its frame observer, and read pacing during floods.

pub mod h2;
pub mod handshake;
pub mod observer;
pub mod pace;
pub mod pipeline;
pub mod proxy;
mod sockopt;
pub mod stream;
pub mod target;
pub mod tls;
