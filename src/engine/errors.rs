//! The wording of errors from the libraries underneath — tungstenite, rustls and io — in plain words for the log,
//! the inspector and the command line, and the close code each protocol error calls for.

use crate::model::deflate::WireError;
use std::io;
use tokio_tungstenite::tungstenite;

/// What sockscope's own frame layer found wrong (permessage-deflate), carried through the library as an I/O
/// error.
pub fn wire_error(err: &tungstenite::Error) -> Option<&WireError> {
    match err {
        tungstenite::Error::Io(e) => e.get_ref()?.downcast_ref::<WireError>(),
        _ => None,
    }
}

/// Plain words for an error on an open connection.
pub fn describe_ws_error(err: &tungstenite::Error) -> String {
    use std::io::ErrorKind;
    use tungstenite::error::{CapacityError, ProtocolError};
    if let Some(wire) = wire_error(err) {
        return wire.message.clone();
    }
    match err {
        tungstenite::Error::Io(e)
            if let Some(h2) = e
                .get_ref()
                .and_then(|e| e.downcast_ref::<crate::engine::transport::h2::H2StreamError>()) =>
        {
            h2.0.clone()
        }
        tungstenite::Error::Io(e) => match e.kind() {
            ErrorKind::ConnectionReset => "the server reset the connection".into(),
            ErrorKind::UnexpectedEof => {
                "the server closed the TCP connection without a close frame".into()
            }
            ErrorKind::BrokenPipe => "the connection is broken (the server went away)".into(),
            _ => format!("I/O error: {e}"),
        },
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the server closed the TCP connection without a close frame".into()
        }
        tungstenite::Error::Protocol(p) => format!("protocol violation by the server: {p}"),
        tungstenite::Error::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            format!("the server sent a message of {size} bytes, over the limit of {max_size} bytes")
        }
        tungstenite::Error::Capacity(c) => format!("limit exceeded: {c}"),
        tungstenite::Error::Utf8(_) => {
            "the server sent a text message that is not valid UTF-8".into()
        }
        other => other.to_string(),
    }
}

/// The close code for a server's protocol error, when there is one to send.
pub fn fail_code(err: &tungstenite::Error) -> Option<u16> {
    if let Some(wire) = wire_error(err) {
        return Some(wire.code);
    }
    match err {
        tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        ) => None,
        tungstenite::Error::Protocol(_) => Some(1002),
        tungstenite::Error::Utf8(_) => Some(1007),
        tungstenite::Error::Capacity(_) => Some(1009),
        _ => None,
    }
}

/// Plain words for a failed TLS handshake.
pub fn describe_tls_error(err: &io::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return match err.kind() {
            io::ErrorKind::UnexpectedEof => {
                "the server closed the connection during the TLS handshake (is this a plain ws:// endpoint?)"
                    .to_owned()
            }
            io::ErrorKind::ConnectionReset => "the server reset the connection during the TLS handshake".to_owned(),
            _ => format!("TLS handshake failed: {err}"),
        };
    };
    match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer => "certificate not trusted: its issuer is not in the trust store \
                 (add the CA with a CA file, or connect insecurely)"
                .to_owned(),
            C::Expired | C::ExpiredContext { .. } => {
                "the server's certificate has expired".to_owned()
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet".to_owned()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("the server's certificate is not valid for the host name '{host}'")
            }
            C::Revoked => "the server's certificate has been revoked".to_owned(),
            C::BadSignature => "the server's certificate has a bad signature".to_owned(),
            other => {
                let text = format!("{other:?}");
                if text.contains("CaUsedAsEndEntity") {
                    "the server presents a CA certificate as its own (a self-signed certificate needs \
                     basicConstraints=critical,CA:FALSE)"
                        .to_owned()
                } else {
                    format!("the server's certificate was rejected: {other}")
                }
            }
        },
        rustls::Error::AlertReceived(alert) => {
            format!("the server refused the TLS handshake (alert: {alert:?})")
        }
        rustls::Error::InvalidMessage(_) => {
            "the server did not answer with TLS (is this a plain ws:// endpoint?)".to_owned()
        }
        rustls::Error::NoApplicationProtocol => {
            "the server supports no ALPN protocol we offered (http/1.1)".to_owned()
        }
        other => format!("TLS handshake failed: {other}"),
    }
}
