//! Certificates made while a test runs (never stored in the repository):
//! a CA, a server certificate for 127.0.0.1/localhost and a client
//! certificate, all signed by the CA, as PEM files in a directory.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};

pub struct Certs {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A client certificate of this CA that expired yesterday.
    pub expired_cert: PathBuf,
    pub expired_key: PathBuf,
}

fn named(mut params: CertificateParams, name: &str) -> CertificateParams {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params
}

impl Certs {
    /// Files `<prefix>-ca.crt`, `<prefix>.crt`, `<prefix>.key`,
    /// `<prefix>-client.crt`, `<prefix>-client.key` in `dir`.
    pub fn new(dir: &Path, prefix: &str) -> Certs {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = named(CertificateParams::new(Vec::<String>::new()).unwrap(), &format!("{prefix} test CA"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let write = |name: String, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let leaf = |name: &str, expired: bool| {
            let key = KeyPair::generate().unwrap();
            let mut params = named(CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap(), name);
            if expired {
                params.not_before = rcgen::date_time_ymd(2020, 1, 1);
                params.not_after = rcgen::date_time_ymd(2021, 1, 1);
            }
            (params.signed_by(&key, &ca, &ca_key).unwrap(), key)
        };
        let (server, server_key) = leaf("ferrokv server", false);
        let (client, client_key) = leaf("ferrokv client", false);
        let (expired, expired_key) = leaf("ferrokv expired client", true);
        Certs {
            ca: write(format!("{prefix}-ca.crt"), ca.pem()),
            cert: write(format!("{prefix}.crt"), server.pem()),
            key: write(format!("{prefix}.key"), server_key.serialize_pem()),
            client_cert: write(format!("{prefix}-client.crt"), client.pem()),
            client_key: write(format!("{prefix}-client.key"), client_key.serialize_pem()),
            expired_cert: write(format!("{prefix}-expired.crt"), expired.pem()),
            expired_key: write(format!("{prefix}-expired.key"), expired_key.serialize_pem()),
        }
    }

    /// The server arguments for these files (both servers take them).
    pub fn server_args(&self) -> Vec<String> {
        let s = |p: &PathBuf| p.to_str().unwrap().to_string();
        vec!["--tls-cert-file".into(), s(&self.cert), "--tls-key-file".into(), s(&self.key), "--tls-ca-cert-file".into(), s(&self.ca)]
    }

    /// redis-cli's arguments to connect with the client certificate.
    pub fn cli_args(&self) -> Vec<String> {
        let s = |p: &PathBuf| p.to_str().unwrap().to_string();
        vec!["--tls".into(), "--cacert".into(), s(&self.ca), "--cert".into(), s(&self.client_cert), "--key".into(), s(&self.client_key)]
    }
}

/// `key` (a PEM private key) as encrypted PKCS#8 with `password` (PBES2:
/// PBKDF2-SHA256 and AES-256-CBC), written to `to`.
pub fn encrypt_key(key: &Path, password: &str, to: &Path) {
    let text = std::fs::read_to_string(key).unwrap();
    let (label, der) = pkcs8::SecretDocument::from_pem(&text).unwrap();
    assert_eq!(label, "PRIVATE KEY", "a PKCS#8 key");
    let info = pkcs8::PrivateKeyInfo::try_from(der.as_bytes()).unwrap();
    let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[7u8; 16], &[9u8; 16]).unwrap();
    let encrypted = info.encrypt_with_params(params, password).unwrap();
    let pem = encrypted.to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF).unwrap();
    std::fs::write(to, pem.as_bytes()).unwrap();
}
