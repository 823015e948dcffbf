//! The policies the service holds: loaded once from the directories named at start, each with a
//! content hash of its files as its version, swapped atomically on reload.

use doudi_interpreter::chain::{self, Programme};
use doudi_interpreter::{LoadError, Policy};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// One loaded policy. Immutable: a reload builds a new one and swaps the `Arc`.
pub struct PolicyEntry {
    /// The name clients use: the last component of the directory (`jian`).
    pub name: String,
    /// The directory named at start (never a path from a client).
    pub dir: PathBuf,
    /// `sha256:<hex>` of the policy's files: every `.doudi` file of every layer, the extern scripts
    /// and `chain.toml`, in load order.
    pub version: String,
    pub policy: Policy,
    /// The benefit chain's programmes (from `chain.toml`), read at load time.
    pub programmes: Result<Vec<Programme>, String>,
    /// Warnings of the load, rendered as `doudi check` prints them.
    pub warnings: String,
    /// The policy as read from disk (before checking), to check a drafter's text over its layers.
    pub sources: doudi_dsl::load::LoadedSources,
    /// When it was loaded (RFC 3339, UTC).
    pub loaded_at: String,
}

/// Why a policy did not load: the message `doudi check` prints.
#[derive(Debug)]
pub struct LoadFailure {
    pub name: String,
    pub rendered: String,
    pub error: LoadError,
}

impl PolicyEntry {
    /// Loads the policy at `dir` (the same `Policy::load` as the CLI, bounded to the policy's tree).
    pub fn load(dir: &Path) -> Result<PolicyEntry, LoadFailure> {
        let name = policy_name(dir);
        let loaded = Policy::load(dir).map_err(|e| LoadFailure {
            name: name.clone(),
            rendered: e.render(),
            error: e,
        })?;
        let policy = loaded.policy;
        let warnings = if loaded.warnings.is_empty() {
            String::new()
        } else {
            doudi_dsl::diag::render_all(&loaded.warnings, policy.sources())
        };
        let sources = doudi_dsl::load::load(dir);
        let chain_text = std::fs::read(dir.join("chain.toml")).ok();
        let version = content_hash(&policy, chain_text.as_deref());
        let programmes = chain::programmes(&policy, dir);
        Ok(PolicyEntry {
            name,
            dir: dir.to_path_buf(),
            version,
            policy,
            programmes,
            warnings,
            sources,
            loaded_at: now_rfc3339(),
        })
    }
}

/// The name of the policy at `dir`: its last path component.
pub fn policy_name(dir: &Path) -> String {
    let canon = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    canon
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "policy".into())
}

/// `sha256:<hex>` over the texts the policy was built from (not their paths: the same files
/// elsewhere have the same version).
pub fn content_hash(policy: &Policy, chain_toml: Option<&[u8]>) -> String {
    let mut h = Sha256::new();
    let mut part = |tag: &[u8], bytes: &[u8]| {
        h.update(tag);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    for f in &policy.sources().files {
        part(b"doudi", f.text.as_bytes());
    }
    for e in &policy.program.externs {
        part(b"rhai", e.script.as_bytes());
    }
    if let Some(c) = chain_toml {
        part(b"chain", c);
    }
    let digest = h.finalize();
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256:");
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// The loaded policies by name; readers take an `Arc` and never wait for a reload.
#[derive(Default)]
pub struct Policies {
    map: RwLock<BTreeMap<String, Arc<PolicyEntry>>>,
}

impl Policies {
    pub fn get(&self, name: &str) -> Option<Arc<PolicyEntry>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }
    pub fn all(&self) -> Vec<Arc<PolicyEntry>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }
    /// Puts `entry` in place of the policy of the same name; returns the one it replaced.
    pub fn swap(&self, entry: PolicyEntry) -> Option<Arc<PolicyEntry>> {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(entry.name.clone(), Arc::new(entry))
    }
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The current time as RFC 3339 in UTC, to the millisecond (`2024-01-31T08:00:00.000Z`).
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_is_rfc3339() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'), "{t}");
    }
}
