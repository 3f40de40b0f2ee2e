//! TLS for `wss://`: rustls with the ring provider, trusting the web PKI roots plus the operating system's roots.

use crate::engine::errors::describe_tls_error;
use crate::model::{CertInfo, Stage, StageError, TlsInfo, TlsOptions};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

static DEFAULT_CONFIG: OnceLock<TlsConfig> = OnceLock::new();

/// A client configuration for `wss://` and the certificate verifier inside it. Each handshake wraps the verifier
/// in a [`RecordingVerifier`], so the chain the server sent is known even when verification fails.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    config: Arc<rustls::ClientConfig>,
    verifier: Arc<dyn ServerCertVerifier>,
}

impl TlsConfig {
    /// The configuration as built (its verifier records nothing).
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }

    /// A configuration for one handshake, whose verifier records the chain the server presents.
    fn recording(&self, alpn: &[&[u8]]) -> (Arc<rustls::ClientConfig>, Arc<RecordingVerifier>) {
        let recorder = Arc::new(RecordingVerifier {
            inner: self.verifier.clone(),
            chain: std::sync::Mutex::new(Vec::new()),
        });
        let mut config = (*self.config).clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config
            .dangerous()
            .set_certificate_verifier(recorder.clone());
        (Arc::new(config), recorder)
    }
}

/// The client configuration used for `wss://` connections, built once.
pub fn default_config() -> TlsConfig {
    DEFAULT_CONFIG.get_or_init(build_default_config).clone()
}

fn build_default_config() -> TlsConfig {
    // With no CA file there is nothing that can fail.
    build_config(&TlsOptions::default()).unwrap_or_else(|_| {
        let verifier: Arc<dyn ServerCertVerifier> = Arc::new(AcceptAnyCertificate(provider()));
        TlsConfig {
            config: Arc::new(empty_config()),
            verifier,
        }
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn empty_config() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        // The ring provider supports the safe default versions: an invariant of the build.
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

/// The configuration for `options`: the shared default, or one built for them (reads the CA file).
pub fn config_for(options: &TlsOptions) -> Result<TlsConfig, StageError> {
    if options.is_default() {
        Ok(default_config())
    } else {
        build_config(options)
    }
}

fn build_config(options: &TlsOptions) -> Result<TlsConfig, StageError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // The OS store may be missing or partly unreadable; the web PKI roots still apply then.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = &options.ca_file {
        let shown = path.display();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| {
                StageError::new(
                    Stage::Tls,
                    format!("could not read the CA file: {e} ({shown})"),
                )
            })?
            .collect::<Result<_, _>>()
            .map_err(|e| {
                StageError::new(
                    Stage::Tls,
                    format!("the CA file is not valid PEM: {e} ({shown})"),
                )
            })?;
        if certs.is_empty() {
            return Err(StageError::new(
                Stage::Tls,
                format!(
                    "the CA file holds no certificate (expected -----BEGIN CERTIFICATE-----) ({shown})"
                ),
            ));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                StageError::new(
                    Stage::Tls,
                    format!("a certificate in the CA file is not usable: {e} ({shown})"),
                )
            })?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3");
    let verifier: Arc<dyn ServerCertVerifier> = if options.insecure {
        Arc::new(AcceptAnyCertificate(provider()))
    } else {
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| StageError::new(Stage::Tls, format!("no usable trust store: {e}")))?
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    let mut config = match (&options.client_cert_file, &options.client_key_file) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert_path), Some(key_path)) => {
            let (chain, key) = load_client_identity(cert_path, key_path)?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                StageError::new(
                    Stage::Tls,
                    format!("the client certificate and key do not fit together: {e}"),
                )
            })?
        }
        _ => {
            return Err(StageError::new(
                Stage::Tls,
                "a client certificate needs both a certificate file and a key file",
            ));
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    Ok(TlsConfig {
        config: Arc::new(config),
        verifier,
    })
}

fn load_client_identity(
    cert_path: &std::path::Path,
    key_path: &std::path::Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), StageError> {
    let shown = cert_path.display();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| {
            StageError::new(
                Stage::Tls,
                format!("could not read the client certificate: {e} ({shown})"),
            )
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| {
            StageError::new(
                Stage::Tls,
                format!("the client certificate is not valid PEM: {e} ({shown})"),
            )
        })?;
    if chain.is_empty() {
        return Err(StageError::new(
            Stage::Tls,
            format!("the client certificate file holds no certificate ({shown})"),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        StageError::new(
            Stage::Tls,
            format!(
                "could not read a private key from the key file: {e} ({})",
                key_path.display()
            ),
        )
    })?;
    Ok((chain, key))
}

/// Describes the negotiated session: version, cipher, group, ALPN and the server's chain.
pub fn describe_session(conn: &rustls::ClientConnection, sni: &str, insecure: bool) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_else(|| "unknown".into());
    let key_exchange = conn
        .negotiated_key_exchange_group()
        .map(|g| format!("{:?}", g.name()));
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let handshake_kind = match conn.handshake_kind() {
        Some(rustls::HandshakeKind::Resumed) => "resumed",
        Some(_) => "full",
        None => "unknown",
    }
    .to_owned();
    let certificates = conn
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| describe_certificate(c.as_ref()))
        .collect();
    TlsInfo {
        version,
        cipher,
        key_exchange,
        alpn,
        sni: sni.to_owned(),
        insecure,
        handshake_kind,
        certificates,
        failure: None,
        certificate_refused: false,
    }
}

/// Subject, issuer, validity, SANs and fingerprint of one DER certificate.
pub fn describe_certificate(der: &[u8]) -> CertInfo {
    use sha2::Digest as _;
    let sha256 = sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return CertInfo {
            subject: "(certificate could not be parsed)".into(),
            sha256,
            ..CertInfo::default()
        };
    };
    let when = |t: &x509_parser::time::ASN1Time| {
        chrono::DateTime::from_timestamp(t.timestamp(), 0)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default()
    };
    let validity = cert.validity();
    let now = chrono::Utc::now().timestamp();
    let days_left = (validity.not_after.timestamp() - now).div_euclid(86_400);
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => sans.push((*d).to_owned()),
                x509_parser::extensions::GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => sans.push(
                        std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
                    ),
                    16 => {
                        let mut octets = [0u8; 16];
                        octets.copy_from_slice(bytes);
                        sans.push(std::net::Ipv6Addr::from(octets).to_string());
                    }
                    _ => {}
                },
                other => sans.push(other.to_string()),
            }
        }
    }
    CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: when(&validity.not_before),
        not_after: when(&validity.not_after),
        days_left,
        sans,
        sha256,
    }
}

/// `--insecure`: accepts any certificate, but still checks that the server holds its key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Checks a server's chain with another verifier, and keeps the chain it was shown (leaf first): a failed
/// handshake can then still show the certificates the server sent.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    chain: std::sync::Mutex<Vec<CertificateDer<'static>>>,
}

impl RecordingVerifier {
    fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut chain) = self.chain.lock() {
            *chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

/// A failed TLS handshake: what went wrong, and the chain the server sent, when it sent one (leaf first).
#[derive(Debug)]
pub struct TlsFailure {
    /// What failed, in plain words.
    pub error: StageError,
    /// The server's certificates.
    pub certificates: Vec<CertInfo>,
    /// True when the certificates were refused (a CA file or skipping verification may help).
    pub certificate_refused: bool,
}

/// Runs the TLS handshake over `tcp` for `host`.
pub async fn handshake(
    config: &TlsConfig,
    host: &str,
    tcp: TcpStream,
    alpn: &[&[u8]],
) -> Result<TlsStream<TcpStream>, TlsFailure> {
    let server_name = ServerName::try_from(host.to_owned()).map_err(|_| TlsFailure {
        error: StageError::new(
            Stage::Tls,
            format!("'{host}' is not a valid TLS server name"),
        ),
        certificates: Vec::new(),
        certificate_refused: false,
    })?;
    let (config, recorder) = config.recording(alpn);
    tokio_rustls::TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map_err(|e| {
            let certificates: Vec<CertInfo> = recorder
                .chain()
                .iter()
                .map(|c| describe_certificate(c.as_ref()))
                .collect();
            let certificate_refused = e
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>())
                .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)));
            // webpki reports a lone self-signed certificate as a bad signature or an unknown issuer; say what it is.
            let self_signed = match certificates.as_slice() {
                [only] if certificate_refused && only.subject == only.issuer => Some(only),
                _ => None,
            };
            let message = match self_signed {
                Some(cert) => format!(
                    "certificate not trusted: the server's certificate is self-signed ({}); trust it with a CA \
                     file, or connect insecurely",
                    cert.subject
                ),
                None => describe_tls_error(&e, host),
            };
            TlsFailure {
                error: StageError::new(Stage::Tls, message),
                certificates,
                certificate_refused,
            }
        })
}
