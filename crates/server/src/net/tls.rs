//! The node's TLS: the configuration built from the `tls-*` directives
//! (`ferrokv_tls` builds it), rebuilt when one of them is set
//! so new certificates apply to the next connections without a restart,
//! and the handshake of a connection on the TLS port.

use std::sync::Arc;

use ferrokv_tls::{Configs, Settings, TlsError};
use parking_lot::RwLock;

use crate::config::Config;

#[derive(Default)]
pub struct Tls {
    configs: RwLock<Option<Arc<Configs>>>,
}

/// The `tls-*` directives as the builder takes them.
pub fn settings(c: &Config) -> Settings {
    Settings {
        cert_file: c.tls_cert_file.clone(),
        key_file: c.tls_key_file.clone(),
        key_file_pass: c.tls_key_file_pass.clone(),
        client_cert_file: c.tls_client_cert_file.clone(),
        client_key_file: c.tls_client_key_file.clone(),
        client_key_file_pass: c.tls_client_key_file_pass.clone(),
        ca_cert_file: c.tls_ca_cert_file.clone(),
        ca_cert_dir: c.tls_ca_cert_dir.clone(),
        auth_clients: c.tls_auth_clients,
        protocols: c.tls_protocols.clone(),
        ciphers: c.tls_ciphers.clone(),
        ciphersuites: c.tls_ciphersuites.clone(),
    }
}

/// TLS is configured only when something uses it, as Redis does.
pub fn wanted(c: &Config) -> bool {
    c.tls_port != 0 || c.tls_replication
}

impl Tls {
    /// Builds the configuration from `c`; on error the one in use stays.
    pub fn reload(&self, c: &Config) -> Result<(), TlsError> {
        if !wanted(c) {
            *self.configs.write() = None;
            return Ok(());
        }
        let built = Configs::build(&settings(c))?;
        *self.configs.write() = Some(Arc::new(built));
        Ok(())
    }

    /// What the TLS port serves (the newest certificates).
    pub fn server(&self) -> Option<Arc<rustls::ServerConfig>> {
        self.configs.read().as_ref().map(|c| c.server.clone())
    }

    /// What outgoing links present (a replica to its primary).
    pub fn client(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.configs.read().as_ref().map(|c| c.client.clone())
    }
}
