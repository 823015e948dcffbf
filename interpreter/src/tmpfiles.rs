//! The temporary files doudi writes beside its outputs, atomic file writes, and the sweep that removes
//! what a killed run left behind.
//!
//! Every temporary name starts with one of [`PREFIXES`]; names made by [`tagged`] also carry the id
//! of the process that made them. [`sweep`] removes, in one directory, the entries with those
//! prefixes whose process is gone (where the system lets doudi tell) or that are older than
//! [`STALE_AFTER`]. It never touches any other name.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The prefixes of doudi's temporary files and directories.
pub const PREFIXES: &[&str] = &[
    ".doudi-report-",
    ".doudi-old-",
    ".doudi-generate-",
    ".doudi-out-",
    ".findings.csv.tmp",
    ".summary.csv.tmp",
];

/// A temporary entry older than this is stale whatever made it.
pub const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

/// `prefix` followed by this process's id and a dash: `.doudi-report-4242-`.
pub fn tagged(prefix: &str) -> String {
    format!("{prefix}{}-", std::process::id())
}

/// The id of the process that made a tagged name, if it carries one.
fn tagged_pid(name: &str) -> Option<u32> {
    let prefix = PREFIXES.iter().find(|p| name.starts_with(*p))?;
    let rest = &name[prefix.len()..];
    let (digits, _) = rest.split_once('-')?;
    digits.parse().ok()
}

/// Whether a process is known to be gone (only where `/proc` tells; elsewhere: not known).
fn process_gone(pid: u32) -> bool {
    pid != std::process::id()
        && Path::new("/proc/self").exists()
        && !Path::new("/proc").join(pid.to_string()).exists()
}

/// Whether an entry named `name`, last modified at `modified`, is a stale doudi temporary.
pub fn is_stale(name: &str, modified: Option<SystemTime>) -> bool {
    if !PREFIXES.iter().any(|p| name.starts_with(p)) {
        return false;
    }
    if tagged_pid(name).is_some_and(process_gone) {
        return true;
    }
    modified
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > STALE_AFTER)
}

/// Removes the stale doudi temporaries directly inside `dir`; returns how many were removed.
/// Errors (a directory that cannot be read, an entry already gone) are ignored.
pub fn sweep(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(meta) = e.path().symlink_metadata() else {
            continue;
        };
        if !is_stale(&name, meta.modified().ok()) {
            continue;
        }
        let ok = if meta.is_dir() {
            std::fs::remove_dir_all(e.path()).is_ok()
        } else {
            std::fs::remove_file(e.path()).is_ok()
        };
        removed += ok as usize;
    }
    removed
}

/// A file written atomically: into a temporary file beside the target, renamed into place by
/// [`AtomicFile::commit`], removed if dropped before.
pub struct AtomicFile {
    tmp: PathBuf,
    target: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<AtomicFile, String> {
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if target.is_dir() {
            return Err(format!("{}: is a directory", target.display()));
        }
        sweep(&dir);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let tmp = dir.join(format!("{}{name}", tagged(".doudi-out-")));
        let f =
            File::create(&tmp).map_err(|e| format!("{}: cannot write: {e}", target.display()))?;
        Ok(AtomicFile {
            tmp,
            target: target.to_path_buf(),
            file: Some(BufWriter::with_capacity(1 << 16, f)),
        })
    }

    /// Moves the complete file into place.
    pub fn commit(mut self) -> Result<(), String> {
        let target = self.target.display().to_string();
        if let Some(mut f) = self.file.take() {
            f.flush()
                .map_err(|e| format!("{target}: cannot write: {e}"))?;
            f.get_ref()
                .sync_all()
                .map_err(|e| format!("{target}: cannot write: {e}"))?;
        }
        std::fs::rename(&self.tmp, &self.target)
            .map_err(|e| format!("{target}: cannot move into place: {e}"))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_doudi_names_are_stale() {
        let old = SystemTime::now() - Duration::from_secs(7 * 3600);
        assert!(is_stale(".doudi-report-abc", Some(old)));
        assert!(!is_stale(".doudi-report-abc", Some(SystemTime::now())));
        assert!(!is_stale("summary.json", Some(old)));
        assert!(!is_stale("precious.txt", Some(old)));
        // Our own tagged temporaries are not stale while we run.
        assert!(!is_stale(
            &format!("{}x", tagged(".doudi-report-")),
            Some(SystemTime::now())
        ));
    }

    #[test]
    fn sweep_removes_dead_processes_temporaries_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        // A pid far above any pid limit: no such process.
        std::fs::create_dir(dir.path().join(".doudi-report-4294967-xyz")).unwrap();
        std::fs::write(dir.path().join("precious.txt"), "keep").unwrap();
        let mine = dir.path().join(format!("{}a", tagged(".doudi-generate-")));
        std::fs::create_dir(&mine).unwrap();
        let removed = sweep(dir.path());
        if Path::new("/proc/self").exists() {
            assert_eq!(removed, 1);
            assert!(!dir.path().join(".doudi-report-4294967-xyz").exists());
        }
        assert!(dir.path().join("precious.txt").exists());
        assert!(mine.exists());
    }

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"[1]").unwrap();
        drop(f);
        assert!(!target.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the temporary file is removed"
        );
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"[2]").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "[2]");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
