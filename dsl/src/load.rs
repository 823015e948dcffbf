//! Reading a policy from disk: its `.doudi` files, the layers it extends, and its extern scripts.
//! The only pass that touches the file system; everything after it is pure.

use crate::ast::{File, Item, Span};
use crate::diag::{Diagnostic, SourceMap};
use crate::parse::parse_file;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The most layers a chain of `extends` may have.
pub const MAX_LAYERS: usize = 16;
/// The most `.doudi` files one layer may have.
pub const MAX_FILES: usize = 512;
/// The largest extern script read.
pub const MAX_SCRIPT_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone)]
pub struct Layer {
    /// The layer's directory (or the file's directory for a one-file policy).
    pub dir: PathBuf,
    /// The path the user named (or the `extends` string).
    pub name: String,
    pub files: Vec<(u32, File)>,
}

/// A policy read from disk: layers base first, all sources, and everything that went wrong.
#[derive(Debug, Clone, Default)]
pub struct LoadedSources {
    pub layers: Vec<Layer>,
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    /// Extern scripts by (layer index, file name as written): (shown path, text).
    pub scripts: HashMap<(usize, String), (String, String)>,
    /// Load errors that have no span (a missing directory...).
    pub errors: Vec<String>,
}

/// A path as users see it: relative to the working directory when it lies below it.
fn display_path(p: &Path) -> String {
    let canon = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    if let Ok(cwd) = std::env::current_dir().and_then(|c| c.canonicalize()) {
        if let Ok(rel) = canon.strip_prefix(&cwd) {
            return rel.display().to_string();
        }
    }
    canon.display().to_string()
}

/// The directories a policy may read from: canonical paths, none of them a file-system root.
#[derive(Debug, Clone, Default)]
pub struct Roots(Vec<PathBuf>);

impl Roots {
    /// The tree of the policy at `path`: the directory that holds it (so a layer may extend the
    /// layers beside it, `../jiangxi`) and the current working directory, plus `extra` directories
    /// named by the caller (on the command line or in a scenario). A file-system root is never a root.
    pub fn for_policy(path: &Path, extra: &[PathBuf]) -> Roots {
        let mut roots = Roots::default();
        if let Ok(canon) = path.canonicalize() {
            let dir = if canon.is_dir() {
                canon
            } else {
                canon.parent().map(Path::to_path_buf).unwrap_or_default()
            };
            roots.add(&dir);
            if let Some(parent) = dir.parent() {
                roots.add(parent);
            }
        }
        if let Ok(cwd) = std::env::current_dir() {
            roots.add(&cwd);
        }
        for e in extra {
            roots.add(e);
        }
        roots
    }

    fn add(&mut self, dir: &Path) {
        if let Ok(c) = dir.canonicalize() {
            if c.parent().is_some() && !self.0.contains(&c) {
                self.0.push(c);
            }
        }
    }

    /// The canonical form of `p` if it lies inside one of the roots.
    pub fn inside(&self, p: &Path) -> Result<PathBuf, String> {
        let outside = || {
            "it is outside the policy's tree (the directory that holds the policy, and the working directory)".to_string()
        };
        match p.canonicalize() {
            Ok(canon) if self.0.iter().any(|r| canon.starts_with(r)) => Ok(canon),
            Ok(_) => Err(outside()),
            // A path that does not exist: judged by its lexical form, so that the message says where
            // it points rather than only that it is missing.
            Err(e) => match lexical_absolute(p) {
                Some(abs) if !self.0.iter().any(|r| abs.starts_with(r)) => Err(outside()),
                _ => Err(e.to_string()),
            },
        }
    }
}

/// `p` made absolute against the working directory, with `.` and `..` removed without touching the
/// file system.
fn lexical_absolute(p: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let full = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().ok()?.canonicalize().ok()?.join(p)
    };
    let mut out = PathBuf::new();
    for c in full.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// Reads the policy at `path` (a directory of `.doudi` files or one file) and every layer it extends,
/// reading only inside the policy's tree ([`Roots::for_policy`]).
pub fn load(path: &Path) -> LoadedSources {
    load_within(path, &Roots::for_policy(path, &[]))
}

/// Reads the policy at `path` and every layer it extends, reading nothing outside `roots`: a base
/// layer or an extern script elsewhere is an error that names the path, never its content.
pub fn load_within(path: &Path, roots: &Roots) -> LoadedSources {
    load_overlaid(path, roots, &|_: &Path| None)
}

/// Like [`load_within`], with the text of some files given by `overlay` instead of read from disk
/// (an editor's unsaved buffers): `overlay` is asked with each file's canonical path, and its text,
/// when it has one, replaces the file's contents (the file itself must still exist in the layer's
/// directory). The language server loads policies this way.
pub fn load_overlaid(
    path: &Path,
    roots: &Roots,
    overlay: &dyn Fn(&Path) -> Option<String>,
) -> LoadedSources {
    let mut loaded = LoadedSources::default();
    let mut chain: Vec<Layer> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut next: Option<(PathBuf, String, Option<Span>)> =
        Some((path.to_path_buf(), path.display().to_string(), None));
    while let Some((p, name, from_span)) = next.take() {
        let canon = p.canonicalize().unwrap_or_else(|_| p.clone());
        if seen.contains(&canon) {
            let d = Diagnostic::error(
                format!("`extends` goes round in a circle back to `{}`", name),
                from_span.unwrap_or_default(),
                "this layer is already part of the chain",
            )
            .with_help("a layer can extend a base, but the base cannot extend it back");
            loaded.diagnostics.push(d);
            break;
        }
        if chain.len() >= MAX_LAYERS {
            loaded.diagnostics.push(Diagnostic::error(
                format!("too many layers: a policy may extend at most {MAX_LAYERS} layers"),
                from_span.unwrap_or_default(),
                "the chain of `extends` is too long here",
            ));
            break;
        }
        seen.push(canon);
        let files = match from_span
            .map_or(Ok(()), |_| base_allowed(&p, roots))
            .and_then(|()| policy_files(&p))
        {
            Ok(f) => f,
            Err(msg) => {
                match from_span {
                    Some(span) => loaded.diagnostics.push(
                        Diagnostic::error(format!("cannot read the base layer `{name}`: {msg}"), span, "extended here").with_help(
                            if msg.contains("outside") {
                                "a layer extends only layers inside its tree: the directory that holds the policy named on the command line, and the working directory"
                            } else {
                                "the path is relative to the directory of the file that says `extends`"
                            },
                        ),
                    ),
                    None => loaded.errors.push(format!("cannot read policy `{}`: {msg}", p.display())),
                }
                break;
            }
        };
        let dir = if p.is_dir() {
            p.clone()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let mut layer = Layer {
            dir: dir.clone(),
            name,
            files: Vec::new(),
        };
        let mut extends: Option<(String, Span)> = None;
        for f in files {
            if let Err(msg) = roots.inside(&f) {
                loaded
                    .errors
                    .push(format!("cannot read `{}`: {msg}", f.display()));
                continue;
            }
            let overlaid = f.canonicalize().ok().and_then(|c| overlay(&c));
            let text = match overlaid.map_or_else(|| read_text(&f), overlay_text) {
                Ok(t) => t,
                Err(msg) => {
                    loaded
                        .errors
                        .push(format!("cannot read `{}`: {msg}", f.display()));
                    continue;
                }
            };
            let id = loaded.sources.add(display_path(&f), text);
            let (ast, diags) = parse_file(id, &loaded.sources.file(id).text.clone());
            loaded.diagnostics.extend(diags);
            for item in &ast.items {
                if let Item::Extends { path, span } = item {
                    if let Some((_, first)) = &extends {
                        loaded.diagnostics.push(
                            Diagnostic::error(
                                "a layer can extend only one base",
                                *span,
                                "second `extends`",
                            )
                            .with_secondary(*first, "first `extends`"),
                        );
                    } else {
                        extends = Some((path.clone(), *span));
                    }
                }
            }
            layer.files.push((id, ast));
        }
        if let Some((rel, span)) = extends {
            next = Some((dir.join(&rel), rel, Some(span)));
        }
        chain.push(layer);
    }
    chain.reverse();
    // Extern scripts, relative to their layer's directory.
    for (li, layer) in chain.iter().enumerate() {
        for (_, file) in &layer.files {
            for item in &file.items {
                if let Item::Extern(e) = item {
                    let p = layer.dir.join(&e.file.node);
                    match script_allowed(&p, roots).and_then(|()| read_script(&p)) {
                        Ok(text) => {
                            loaded.scripts.insert((li, e.file.node.clone()), (display_path(&p), text));
                        }
                        Err(msg) => loaded.diagnostics.push(
                            Diagnostic::error(format!("cannot read the script `{}`: {msg}", e.file.node), e.file.span, "named here").with_help(
                                if msg.contains("outside") {
                                    "an extern script lies inside the policy's tree: the directory that holds the policy named on the command line, and the working directory"
                                } else {
                                    "the script path is relative to the policy's directory"
                                },
                            ),
                        ),
                    }
                }
            }
        }
    }
    loaded.layers = chain;
    loaded
}

/// A base layer must be a directory or a `.doudi` file inside the roots.
fn base_allowed(p: &Path, roots: &Roots) -> Result<(), String> {
    let canon = roots.inside(p)?;
    if canon.is_file() && canon.extension() != Some(OsStr::new("doudi")) {
        return Err("a base layer is a directory of `.doudi` files or one `.doudi` file".into());
    }
    Ok(())
}

/// An extern script must be a `.rhai` file inside the roots.
fn script_allowed(p: &Path, roots: &Roots) -> Result<(), String> {
    let canon = roots.inside(p)?;
    if p.extension() != Some(OsStr::new("rhai")) {
        return Err("an extern script is a `.rhai` file".into());
    }
    if canon.extension() != Some(OsStr::new("rhai")) {
        return Err("an extern script is a `.rhai` file".into());
    }
    Ok(())
}

fn read_text(p: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(p).map_err(|e| e.to_string())?;
    if meta.len() > crate::parse::MAX_FILE_BYTES as u64 {
        return Err(format!(
            "the file is larger than {} bytes",
            crate::parse::MAX_FILE_BYTES
        ));
    }
    let bytes = std::fs::read(p).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8".to_string())
}

/// An overlaid text, bounded like a file read from disk.
fn overlay_text(text: String) -> Result<String, String> {
    if text.len() > crate::parse::MAX_FILE_BYTES {
        return Err(format!(
            "the file is larger than {} bytes",
            crate::parse::MAX_FILE_BYTES
        ));
    }
    Ok(text)
}

fn read_script(p: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(p).map_err(|e| e.to_string())?;
    if meta.len() > MAX_SCRIPT_BYTES {
        return Err(format!(
            "the script is larger than {MAX_SCRIPT_BYTES} bytes"
        ));
    }
    read_text(p)
}

/// The `.doudi` files of a policy path, sorted by name.
pub fn policy_files(p: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(p).map_err(|e| e.to_string())?;
    if meta.is_file() {
        return Ok(vec![p.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "doudi"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err("no `.doudi` files in this directory".into());
    }
    if files.len() > MAX_FILES {
        return Err(format!("more than {MAX_FILES} `.doudi` files"));
    }
    Ok(files)
}

/// A one-file policy held in memory (for embedders and fuzzing): no `extends`, no extern scripts.
pub fn load_str(name: &str, text: &str) -> LoadedSources {
    let mut loaded = LoadedSources::default();
    if text.len() > crate::parse::MAX_FILE_BYTES {
        loaded.errors.push(format!(
            "`{name}` is larger than {} bytes",
            crate::parse::MAX_FILE_BYTES
        ));
        return loaded;
    }
    let id = loaded.sources.add(name, text);
    let (ast, diags) = parse_file(id, text);
    loaded.diagnostics.extend(diags);
    for item in &ast.items {
        match item {
            Item::Extends { span, .. } => loaded.diagnostics.push(Diagnostic::error(
                "a policy held in memory cannot extend another layer",
                *span,
                "not available here",
            )),
            Item::Extern(e) => loaded.diagnostics.push(Diagnostic::error(
                "a policy held in memory cannot load extern scripts",
                e.file.span,
                "not available here",
            )),
            _ => {}
        }
    }
    loaded.layers.push(Layer {
        dir: PathBuf::new(),
        name: name.to_string(),
        files: vec![(id, ast)],
    });
    loaded
}
