//! TLS for `wss://`: rustls with the ring provider, trusting the web PKI roots plus the operating system's roots.

use crate::model::{Stage, StageError};
use rustls::pki_types::ServerName;
use std::io;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

static DEFAULT_CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();

/// The client configuration used for `wss://` connections, built once.
pub fn default_config() -> Arc<rustls::ClientConfig> {
    DEFAULT_CONFIG.get_or_init(build_default_config).clone()
}

fn build_default_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // The OS store may be missing or partly unreadable; the web PKI roots still apply then.
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // The ring provider supports the safe default versions; failure here is a build-time invariant.
        .expect("ring supports TLS 1.2 and 1.3");
    let mut config = builder.with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    Arc::new(config)
}

/// Runs the TLS handshake over `tcp` for `host`.
pub async fn handshake(
    config: Arc<rustls::ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, StageError> {
    let server_name = ServerName::try_from(host.to_owned()).map_err(|_| {
        StageError::new(
            Stage::Tls,
            format!("'{host}' is not a valid TLS server name"),
        )
    })?;
    tokio_rustls::TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map_err(|e| StageError::new(Stage::Tls, describe_tls_error(&e, host)))
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
