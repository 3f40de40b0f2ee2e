//! The one socket option std, socket2 and rustix do not offer: the receive low-water mark (`SO_RCVLOWAT`), used
//! by [`super::pace`]. This is the crate's only `unsafe`: one `setsockopt` call on a borrowed descriptor.
#![allow(unsafe_code)]

use std::io;

/// Sets the socket's receive low-water mark: epoll reports it readable once `bytes` are queued (or at end of
/// stream or an error). Linux lifts the mark's effect at once when it is lowered, signalling data already queued.
#[cfg(target_os = "linux")]
pub fn set_recv_low_water(socket: &impl std::os::fd::AsFd, bytes: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let fd = socket.as_fd();
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4);
    // SAFETY: `fd` is borrowed from a live socket for the whole call, so the descriptor is open and is the one
    // meant. The option value points at a `c_int` on this stack frame that outlives the call, and `len` is its
    // size, which is what SOL_SOCKET/SO_RCVLOWAT reads. setsockopt writes nothing through these pointers.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&raw const value).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Elsewhere the mark is not used (pacing stays off).
#[cfg(not(target_os = "linux"))]
pub fn set_recv_low_water<T>(_socket: &T, _bytes: usize) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "SO_RCVLOWAT is used on Linux only",
    ))
}

/// A connected pair of loopback TCP sockets (client, server), for the pacing tests.
#[cfg(all(test, target_os = "linux"))]
pub(super) async fn tcp_pair() -> (tokio::net::TcpStream, tokio::net::TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback socket");
    let addr = listener.local_addr().expect("loopback socket");
    let (client, accepted) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let (server, _) = accepted.expect("accept");
    (client.expect("connect"), server)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;

    /// What pacing relies on: above the mark a few bytes do not make the socket readable; lowering the mark
    /// makes it readable at once, with nothing more arriving.
    #[tokio::test]
    async fn the_mark_holds_back_readiness_and_lowering_it_releases_it() {
        let (client, mut server) = tcp_pair().await;
        set_recv_low_water(&client, 1000).expect("loopback socket");
        server.write_all(&[7u8; 10]).await.expect("loopback socket");
        let early = tokio::time::timeout(Duration::from_millis(100), client.readable()).await;
        assert!(
            early.is_err(),
            "10 bytes under a 1000-byte mark must not wake the reader"
        );
        set_recv_low_water(&client, 1).expect("loopback socket");
        tokio::time::timeout(Duration::from_secs(5), client.readable())
            .await
            .expect("lowering the mark signals the queued bytes")
            .expect("loopback socket");
        let mut buf = [0u8; 64];
        assert_eq!(client.try_read(&mut buf).expect("loopback socket"), 10);
    }
}
