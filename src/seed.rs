//! `--seed <template>` of both binaries: a container's read-only template
//! becomes a writable config file in its volume, once, so CONFIG REWRITE
//! (what Sentinel sends on a role change) and the sentinel's own state
//! persist across restarts.

use anyhow::Context;

/// Copies `template` to `config` unless `config` exists, writable whatever
/// the template's mode.
pub fn seed(template: &str, config: &str) -> anyhow::Result<()> {
    if std::path::Path::new(config).exists() {
        return Ok(());
    }
    std::fs::copy(template, config).with_context(|| format!("copying {template} to {config}"))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(config, std::fs::Permissions::from_mode(0o644)).with_context(|| format!("making {config} writable"))
}
