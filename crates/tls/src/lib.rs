//! TLS for every link (the node's TLS port, replication links, the
//! sentinel's port and links), with rustls (no OpenSSL): building the server and client configurations from Redis's
//! `tls-*` directives, the streams both sides use, and the one rule that
//! differs from rustls's defaults: like Redis (OpenSSL's SSL_VERIFY_PEER),
//! a peer's certificate is checked against the CA, not against the host
//! name the replica dialled.

use std::io::BufReader;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme, SupportedProtocolVersion};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// ALPN of the gRPC replication stream on a TLS port: a RESP client offers
/// none, so the node tells the two apart without reading a byte.
pub const ALPN_H2: &[u8] = b"h2";

/// Whether clients must show a certificate (`tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthClients {
    No,
    #[default]
    Yes,
    Optional,
}

/// The `tls-*` directives that shape a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub cert_file: String,
    pub key_file: String,
    pub key_file_pass: String,
    pub client_cert_file: String,
    pub client_key_file: String,
    pub client_key_file_pass: String,
    pub ca_cert_file: String,
    pub ca_cert_dir: String,
    pub auth_clients: AuthClients,
    /// `TLSv1.2 TLSv1.3` (empty: both).
    pub protocols: String,
    /// TLS 1.2 suites, OpenSSL or IANA names separated by `:`.
    pub ciphers: String,
    /// TLS 1.3 suites, separated by `:`.
    pub ciphersuites: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("Failed to load certificate: {path}: {reason}")]
    Certificate { path: String, reason: String },
    #[error("Failed to load private key: {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("Failed to load CA certificate(s) file/directory: {0}")]
    Ca(String),
    #[error("No tls-cert-file configured!")]
    NoCertificate,
    #[error("No tls-key-file configured!")]
    NoKey,
    #[error("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!")]
    NoCa,
    /// OpenSSL's legacy encrypted PEM (`Proc-Type: 4,ENCRYPTED`).
    #[error("Failed to configure TLS: legacy encrypted PEM keys are not supported; convert the key to encrypted PKCS#8 (openssl pkcs8 -topk8 -v2 aes-256-cbc) or decrypt it")]
    EncryptedKey,
    #[error("Invalid tls-protocols specified. Use a combination of 'TLSv1.2' and 'TLSv1.3'.")]
    Protocols,
    #[error("Failed to configure ciphers: {0}")]
    Ciphers(String),
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
}

/// The configurations a node's settings give: what its TLS port serves,
/// and what its outgoing links (a replica to its primary) present.
pub struct Configs {
    pub server: Arc<ServerConfig>,
    pub client: Arc<ClientConfig>,
}

impl Configs {
    pub fn build(s: &Settings) -> Result<Configs, TlsError> {
        if s.cert_file.is_empty() {
            return Err(TlsError::NoCertificate);
        }
        if s.key_file.is_empty() {
            return Err(TlsError::NoKey);
        }
        let provider = Arc::new(provider(s)?);
        let versions = versions(&s.protocols)?;
        let roots = roots(s)?;
        let (certs, key) = (certificates(&s.cert_file)?, private_key(&s.key_file, &s.key_file_pass)?);
        let builder = ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(&versions)?;
        let verifier = match (s.auth_clients, roots.clone()) {
            (AuthClients::No, _) => WebPkiClientVerifier::no_client_auth(),
            (_, None) => return Err(TlsError::NoCa),
            (AuthClients::Yes, Some(r)) => WebPkiClientVerifier::builder_with_provider(r, provider.clone()).build().map_err(|e| TlsError::Ca(e.to_string()))?,
            (AuthClients::Optional, Some(r)) => {
                WebPkiClientVerifier::builder_with_provider(r, provider.clone()).allow_unauthenticated().build().map_err(|e| TlsError::Ca(e.to_string()))?
            }
        };
        let mut server = builder.with_client_cert_verifier(verifier).with_single_cert(certs, key)?;
        server.alpn_protocols = vec![ALPN_H2.to_vec()];
        let (client_certs, client_key) = if s.client_cert_file.is_empty() {
            (certificates(&s.cert_file)?, private_key(&s.key_file, &s.key_file_pass)?)
        } else {
            (certificates(&s.client_cert_file)?, private_key(&s.client_key_file, &s.client_key_file_pass)?)
        };
        let verify: Arc<dyn ServerCertVerifier> = match roots {
            Some(r) => Arc::new(ChainOnly(
                rustls::client::WebPkiServerVerifier::builder_with_provider(r, provider.clone()).build().map_err(|e| TlsError::Ca(e.to_string()))?,
            )),
            None => return Err(TlsError::NoCa),
        };
        let client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)?
            .dangerous()
            .with_custom_certificate_verifier(verify)
            .with_client_auth_cert(client_certs, client_key)?;
        Ok(Configs { server: Arc::new(server), client: Arc::new(client) })
    }
}

/// A client's configuration (redis-cli's `--tls --cacert [--cert --key]`):
/// the CA to check the server's chain with and, if given, a certificate to
/// show.
pub fn client_config(ca_file: &str, identity: Option<(&str, &str)>) -> Result<Arc<ClientConfig>, TlsError> {
    let settings = Settings { ca_cert_file: ca_file.to_string(), ..Settings::default() };
    let provider = Arc::new(provider(&settings)?);
    let roots = roots(&settings)?.ok_or(TlsError::NoCa)?;
    let verify = Arc::new(ChainOnly(
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone()).build().map_err(|e| TlsError::Ca(e.to_string()))?,
    ));
    let builder = ClientConfig::builder_with_provider(provider).with_protocol_versions(&versions("")?)?.dangerous().with_custom_certificate_verifier(verify);
    let config = match identity {
        Some((cert, key)) => builder.with_client_auth_cert(certificates(cert)?, private_key(key, "")?)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn provider(s: &Settings) -> Result<CryptoProvider, TlsError> {
    // ring, deprecated in rustls for its lack of post-quantum key exchange,
    // builds with cc alone (aws-lc needs cmake); Redis 7.0's OpenSSL
    // offers no post-quantum groups either.
    #[allow(deprecated)]
    let mut provider = rustls::crypto::ring::default_provider();
    let wanted: Vec<String> = [&s.ciphers, &s.ciphersuites].iter().flat_map(|l| l.split(':')).map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
    if wanted.is_empty() {
        return Ok(provider);
    }
    let (tls12, tls13): (Vec<_>, Vec<_>) = provider.cipher_suites.iter().partition(|c| c.version() == &rustls::version::TLS12);
    let keep = |suites: Vec<&rustls::SupportedCipherSuite>, list: &str| -> Vec<rustls::SupportedCipherSuite> {
        if list.trim().is_empty() {
            return suites.into_iter().copied().collect();
        }
        suites.into_iter().filter(|c| list.split(':').any(|n| suite_named(c, n.trim()))).copied().collect()
    };
    for name in &wanted {
        if !provider.cipher_suites.iter().any(|c| suite_named(c, name)) {
            return Err(TlsError::Ciphers(format!("unknown cipher '{name}'")));
        }
    }
    let mut suites = keep(tls13, &s.ciphersuites);
    suites.extend(keep(tls12, &s.ciphers));
    provider.cipher_suites = suites;
    Ok(provider)
}

/// IANA names (`TLS_AES_128_GCM_SHA256`) and OpenSSL's for TLS 1.2
/// (`ECDHE-RSA-AES128-GCM-SHA256`).
fn suite_named(suite: &rustls::SupportedCipherSuite, name: &str) -> bool {
    // rustls names TLS 1.3 suites TLS13_…; IANA (and OpenSSL) TLS_….
    let debug = format!("{:?}", suite.suite());
    let iana = debug.strip_prefix("TLS13_").map_or(debug.clone(), |rest| format!("TLS_{rest}"));
    if iana.eq_ignore_ascii_case(name) {
        return true;
    }
    let openssl = iana.strip_prefix("TLS_").unwrap_or(&iana).replace("_WITH_", "_").replace('_', "-").replace("AES-128", "AES128").replace("AES-256", "AES256");
    openssl.eq_ignore_ascii_case(name)
}

fn versions(protocols: &str) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
    if protocols.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut versions = Vec::new();
    for p in protocols.split_whitespace() {
        match p.to_ascii_lowercase().as_str() {
            "tlsv1.2" => versions.push(&rustls::version::TLS12),
            "tlsv1.3" => versions.push(&rustls::version::TLS13),
            _ => return Err(TlsError::Protocols),
        }
    }
    Ok(versions)
}

fn roots(s: &Settings) -> Result<Option<Arc<RootCertStore>>, TlsError> {
    if s.ca_cert_file.is_empty() && s.ca_cert_dir.is_empty() {
        return Ok(None);
    }
    let mut roots = RootCertStore::empty();
    let mut files = Vec::new();
    if !s.ca_cert_file.is_empty() {
        files.push(Path::new(&s.ca_cert_file).to_path_buf());
    }
    if !s.ca_cert_dir.is_empty() {
        let dir = std::fs::read_dir(&s.ca_cert_dir).map_err(|e| TlsError::Ca(format!("{}: {e}", s.ca_cert_dir)))?;
        files.extend(dir.flatten().map(|e| e.path()).filter(|p| p.is_file()));
    }
    for file in files {
        let path = file.display().to_string();
        for cert in certificates(&path).map_err(|e| TlsError::Ca(e.to_string()))? {
            roots.add(cert).map_err(|e| TlsError::Ca(format!("{path}: {e}")))?;
        }
    }
    if roots.is_empty() {
        return Err(TlsError::Ca("no certificate found".into()));
    }
    Ok(Some(Arc::new(roots)))
}

fn certificates(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError::Certificate { path: path.to_string(), reason };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let certs: Vec<_> = rustls_pemfile_certs(&mut BufReader::new(file)).map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("no certificate in the file".into()));
    }
    Ok(certs)
}

fn rustls_pemfile_certs(r: &mut dyn std::io::BufRead) -> std::io::Result<Vec<CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let mut text = Vec::new();
    r.read_to_end(&mut text)?;
    CertificateDer::pem_slice_iter(&text).collect::<Result<Vec<_>, _>>().map_err(|e| std::io::Error::other(format!("{e:?}")))
}

/// The key of a PEM file: PKCS#8, PKCS#1 or SEC1, or an encrypted PKCS#8
/// key (`ENCRYPTED PRIVATE KEY`, PBES2) opened with `pass`, as Redis's
/// `tls-key-file-pass` opens it.
fn private_key(path: &str, pass: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let fail = |reason: String| TlsError::Key { path: path.to_string(), reason };
    let text = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let pem = std::str::from_utf8(&text).map_err(|e| fail(e.to_string()))?;
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        if pass.is_empty() {
            return Err(fail("the key is encrypted and no password is configured".into()));
        }
        let (_, der) = pkcs8::Document::from_pem(pem).map_err(|e| fail(e.to_string()))?;
        let encrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_bytes()).map_err(|e| fail(e.to_string()))?;
        let plain = encrypted.decrypt(pass).map_err(|_| fail("wrong password or damaged key".into()))?;
        return Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()));
    }
    if pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(TlsError::EncryptedKey);
    }
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| fail(format!("{e:?}")))
}

/// Checks the chain against the CA and ignores the host name, as Redis
/// (OpenSSL's SSL_VERIFY_PEER without a host check) does for its links.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_answer_to_iana_and_openssl_names() {
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        let named = |n: &str| provider.cipher_suites.iter().any(|c| suite_named(c, n));
        for name in [
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
        ] {
            assert!(named(name), "{name}");
        }
        assert!(!named("NO_SUCH_SUITE"));
        assert!(versions("TLSv1.2 TLSv1.3").is_ok() && versions("TLSv1.1").is_err());
    }
}

#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { .. })) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A link to a peer: plain TCP or TLS over it.
pub enum Io {
    Plain(TcpStream),
    Server(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Io {
    fn tcp(&self) -> &TcpStream {
        match self {
            Io::Plain(s) => s,
            Io::Server(s) => s.get_ref().0,
            Io::Client(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Server(s) => Pin::new(s).poll_read(cx, buf),
            Io::Client(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Server(s) => Pin::new(s).poll_write(cx, buf),
            Io::Client(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Server(s) => Pin::new(s).poll_flush(cx),
            Io::Client(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Server(s) => Pin::new(s).poll_shutdown(cx),
            Io::Client(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

impl tonic::transport::server::Connected for Io {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.tcp().connect_info()
    }
}

/// How long a peer has to finish its handshake.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The server side of a handshake, bounded by [`HANDSHAKE_TIMEOUT`]; the
/// error is the line to log (with the peer's address added by the caller).
pub async fn accept(config: &Arc<ServerConfig>, tcp: TcpStream) -> Result<tokio_rustls::server::TlsStream<TcpStream>, String> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tokio_rustls::TlsAcceptor::from(config.clone()).accept(tcp)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the TLS handshake timed out".into()),
    }
}

/// Opens a link to `addr`, over TLS when `tls` is given (offering the
/// gRPC ALPN when `grpc`).
pub async fn connect(addr: &str, tls: Option<&Arc<ClientConfig>>, grpc: bool) -> std::io::Result<Io> {
    let tcp = TcpStream::connect(addr).await?;
    let _ = tcp.set_nodelay(true);
    let Some(config) = tls else {
        return Ok(Io::Plain(tcp));
    };
    let config = if grpc {
        let mut c = (**config).clone();
        c.alpn_protocols = vec![ALPN_H2.to_vec()];
        Arc::new(c)
    } else {
        config.clone()
    };
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_matches(['[', ']']);
    let name = ServerName::try_from(host.to_string()).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let stream = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await?;
    Ok(Io::Client(Box::new(stream)))
}
