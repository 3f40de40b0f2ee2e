//! wss:// against a TLS server started here with a CA made at test time (rcgen): trust via a CA file,
//! untrusted and wrong-name certificates, insecure mode, and TLS/plain mix-ups.

use crate::servers;
use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sockscope::model::{ConnectRequest, Direction, Stage};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A CA (its PEM written to a file) and a server configuration whose certificate it signed.
pub struct TestPki {
    pub ca_file: PathBuf,
    /// The server's certificate and key as PEM files, for servers started as other programs.
    pub server_cert_file: PathBuf,
    pub server_key_file: PathBuf,
    server: Arc<rustls::ServerConfig>,
    /// The folder of those files: one per call, so tests running in parallel never read each other's (half
    /// written) files. Removed on drop.
    _dir: tempfile::TempDir,
}

impl TestPki {
    /// The server's configuration, offering `alpn` (e.g. h2 and http/1.1).
    pub fn server_config_with_alpn(&self, alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        let mut config = (*self.server).clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

/// Makes a CA and a server certificate for `names`.
pub fn pki(names: &[&str]) -> TestPki {
    pki_with(names, false, false).0
}

/// A wss echo server on 127.0.0.1.
pub async fn wss_echo(pki: &TestPki) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn echo_once(req: ConnectRequest) -> crate::servers::Transcript {
    crate::servers::echo_once_with(req, "over tls").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_file_makes_the_server_trusted() {
    let pki = pki(&["localhost"]);
    let addr = wss_echo(&pki).await;
    let mut req = ConnectRequest::new(format!("wss://localhost:{}/", addr.port()));
    req.tls.ca_file = Some(pki.ca_file.clone());
    let t = echo_once(req).await;
    assert!(t.opened, "{:?}", t.errors);
    let hs = t.handshake.expect("handshake");
    assert!(hs.timings.dns_ms.is_some() && hs.timings.tls_ms.is_some());
    assert!(hs.warnings.is_empty(), "{:?}", hs.warnings);
    assert!(
        t.messages
            .iter()
            .any(|m| m.direction == Direction::Received && &m.payload[..] == b"over tls")
    );
    assert!(t.closed.expect("closed").clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_issuer_is_a_tls_error_in_plain_words() {
    let pki = pki(&["localhost"]);
    let addr = wss_echo(&pki).await;
    let t = echo_once(ConnectRequest::new(format!(
        "wss://localhost:{}/",
        addr.port()
    )))
    .await;
    assert!(!t.opened);
    assert_eq!(t.errors[0].stage, Stage::Tls);
    assert!(
        t.errors[0].message.contains("certificate not trusted"),
        "{}",
        t.errors[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_refused() {
    let pki = pki(&["example.test"]);
    let addr = wss_echo(&pki).await;
    let mut req = ConnectRequest::new(format!("wss://localhost:{}/", addr.port()));
    req.tls.ca_file = Some(pki.ca_file.clone());
    let t = echo_once(req).await;
    assert_eq!(t.errors[0].stage, Stage::Tls);
    assert!(
        t.errors[0]
            .message
            .contains("not valid for the host name 'localhost'"),
        "{}",
        t.errors[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_connects_and_warns() {
    let pki = pki(&["example.test"]);
    let addr = wss_echo(&pki).await;
    let mut req = ConnectRequest::new(format!("wss://127.0.0.1:{}/", addr.port()));
    req.tls.insecure = true;
    let t = echo_once(req).await;
    assert!(t.opened, "{:?}", t.errors);
    let hs = t.handshake.expect("handshake");
    assert!(
        hs.warnings
            .iter()
            .any(|w| w.contains("verification is disabled")),
        "{:?}",
        hs.warnings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_to_a_plain_server_says_so() {
    let server = servers::echo().await;
    let t = echo_once(ConnectRequest::new(format!(
        "wss://127.0.0.1:{}/",
        server.local_addr.port()
    )))
    .await;
    assert_eq!(t.errors[0].stage, Stage::Tls);
    assert!(
        t.errors[0].message.contains("plain ws://"),
        "{}",
        t.errors[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_empty_ca_file_is_reported() {
    let pki = pki(&["localhost"]);
    let addr = wss_echo(&pki).await;
    let mut req = ConnectRequest::new(format!("wss://localhost:{}/", addr.port()));
    req.tls.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
    let t = echo_once(req.clone()).await;
    assert_eq!(t.errors[0].stage, Stage::Tls);
    assert!(
        t.errors[0].message.contains("could not read the CA file"),
        "{}",
        t.errors[0].message
    );
    let empty = pki.ca_file.with_file_name("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    req.tls.ca_file = Some(empty);
    let t = echo_once(req).await;
    assert!(
        t.errors[0].message.contains("holds no certificate"),
        "{}",
        t.errors[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_connects_over_wss_with_ca_and_fails_without() {
    let pki = pki(&["localhost"]);
    let addr = wss_echo(&pki).await;
    let url = format!("wss://localhost:{}/", addr.port());
    let ca = pki.ca_file.display().to_string();
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            servers::sockscope_command()
                .args(args)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run")
        })
    };
    let out = run(vec![
        "connect".into(),
        url.clone(),
        "--ca".into(),
        ca,
        "--send".into(),
        "tls!".into(),
        "--count".into(),
        "1".into(),
    ])
    .await
    .expect("join");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "tls!\n");
    let out = run(vec!["connect".into(), url.clone()])
        .await
        .expect("join");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: TLS: certificate not trusted"));
    let out = run(vec![
        "connect".into(),
        url,
        "-k".into(),
        "--send".into(),
        "x".into(),
        "--count".into(),
        "1".into(),
    ])
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("warning: TLS certificate verification is disabled")
    );
}

/// A CA plus a server certificate with chosen validity and names, and optionally a client-certificate check.
fn pki_with(
    names: &[&str],
    expired: bool,
    require_client_cert: bool,
) -> (TestPki, Option<(PathBuf, PathBuf)>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sockscope test CA 2");
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .expect("params");
    params.distinguished_name.push(DnType::CommonName, names[0]);
    if expired {
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 1);
    }
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &issuer).expect("signed");
    let folder = tempfile::Builder::new()
        .prefix("sockscope-tls-")
        .tempdir()
        .expect("temp dir");
    let dir = folder.path();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).expect("write");
    let server_cert_file = dir.join("server.pem");
    let server_key_file = dir.join("server.key");
    std::fs::write(&server_cert_file, cert.pem()).expect("write");
    std::fs::write(&server_key_file, key.serialize_pem()).expect("write");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let mut client_files = None;
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_cert.der().clone()).expect("root");
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("verifier");
        let client_params =
            CertificateParams::new(vec!["client.test".to_owned()]).expect("client params");
        let client_key = KeyPair::generate().expect("client key");
        let client_cert = client_params
            .signed_by(&client_key, &issuer)
            .expect("client cert");
        let cert_path = dir.join("client.pem");
        let key_path = dir.join("client.key");
        std::fs::write(&cert_path, client_cert.pem()).expect("write");
        std::fs::write(&key_path, client_key.serialize_pem()).expect("write");
        client_files = Some((cert_path, key_path));
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let server = builder
        .with_single_cert(vec![cert.der().clone()], key_der)
        .expect("server config");
    (
        TestPki {
            ca_file,
            server_cert_file,
            server_key_file,
            server: Arc::new(server),
            _dir: folder,
        },
        client_files,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_details_are_reported() {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let addr = wss_echo(&pki).await;
    let mut req = ConnectRequest::new(format!("wss://127.0.0.1:{}/", addr.port()));
    req.tls.ca_file = Some(pki.ca_file.clone());
    let t = echo_once(req).await;
    assert!(t.opened, "{:?}", t.errors);
    let tls = t.handshake.expect("handshake").tls.expect("tls info");
    assert_eq!(tls.version, "TLS 1.3");
    assert!(tls.cipher.starts_with("TLS13_"), "{}", tls.cipher);
    assert!(tls.key_exchange.is_some());
    assert_eq!(tls.certificates.len(), 1);
    let leaf = &tls.certificates[0];
    assert!(
        leaf.sans.contains(&"localhost".to_owned()) && leaf.sans.contains(&"127.0.0.1".to_owned()),
        "{:?}",
        leaf.sans
    );
    assert!(leaf.issuer.contains("sockscope test CA"));
    assert_eq!(leaf.sha256.len(), 32 * 3 - 1);
    assert!(leaf.days_left > 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_refused_and_flagged_when_insecure() {
    let (pki, _) = pki_with(&["localhost"], true, false);
    let addr = wss_echo(&pki).await;
    let mut req = ConnectRequest::new(format!("wss://localhost:{}/", addr.port()));
    req.tls.ca_file = Some(pki.ca_file.clone());
    let t = echo_once(req.clone()).await;
    assert_eq!(t.errors[0].stage, Stage::Tls);
    assert!(
        t.errors[0].message.contains("has expired"),
        "{}",
        t.errors[0].message
    );
    req.tls.insecure = true;
    let t = echo_once(req).await;
    assert!(t.opened);
    let warnings = t.handshake.expect("handshake").warnings;
    assert!(
        warnings.iter().any(|w| w.contains("certificate expired")),
        "{warnings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_a_client_certificate() {
    let (pki, client) = pki_with(&["localhost"], false, true);
    let (cert, key) = client.expect("client files");
    let addr = wss_echo(&pki).await;
    let mut req = ConnectRequest::new(format!("wss://localhost:{}/", addr.port()));
    req.tls.ca_file = Some(pki.ca_file.clone());
    let t = echo_once(req.clone()).await;
    assert!(!t.opened, "the server must insist on a client certificate");
    req.tls.client_cert_file = Some(cert);
    req.tls.client_key_file = Some(key);
    let t = echo_once(req).await;
    assert!(t.opened, "{:?}", t.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_override_names_the_certificate_to_expect() {
    let pki = pki(&["internal.test"]);
    let addr = wss_echo(&pki).await;
    let mut req = ConnectRequest::new(format!("wss://127.0.0.1:{}/", addr.port()));
    req.tls.ca_file = Some(pki.ca_file.clone());
    req.tls.sni = Some("internal.test".into());
    let t = echo_once(req).await;
    assert!(t.opened, "{:?}", t.errors);
    assert_eq!(
        t.handshake.expect("handshake").tls.expect("tls").sni,
        "internal.test"
    );
}
