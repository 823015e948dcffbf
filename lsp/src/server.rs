//! The server's state (the open documents and the policies loaded for them) and its answers to each
//! request and notification.

use crate::index::{DeclKind, Key};
use crate::world::Policy;
use crate::{features, hover};
use lsp_server::{ErrorCode, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, GotoDefinition, HoverRequest, PrepareRenameRequest,
    References, Rename, Request as _,
};
use lsp_types::*;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

#[derive(Default)]
pub struct Server {
    /// The open documents' texts, by canonical path.
    docs: HashMap<PathBuf, String>,
    /// Policies loaded since the last edit, by directory.
    policies: BTreeMap<PathBuf, Policy>,
    /// The documents diagnostics were last published for.
    published: BTreeSet<Url>,
}

/// One occurrence of a name, for references and renames.
struct Place {
    uri: Url,
    range: Range,
    /// Whether it declares the name.
    decl: bool,
}

type Answer = Result<Value, (ErrorCode, String)>;

fn params<P: DeserializeOwned>(v: Value) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(v).map_err(|e| (ErrorCode::InvalidParams, e.to_string()))
}

fn canonical(uri: &Url) -> Option<PathBuf> {
    let p = uri.to_file_path().ok()?;
    Some(p.canonicalize().unwrap_or(p))
}

impl Server {
    pub fn request(&mut self, req: Request) -> Response {
        let id: RequestId = req.id.clone();
        let answer = self.answer(&req.method, req.params);
        match answer {
            Ok(v) => Response::new_ok(id, v),
            Err((code, msg)) => Response::new_err(id, code as i32, msg),
        }
    }

    fn answer(&mut self, method: &str, p: Value) -> Answer {
        let json = |v: Result<Value, serde_json::Error>| {
            v.map_err(|e| (ErrorCode::InternalError, e.to_string()))
        };
        match method {
            HoverRequest::METHOD => {
                let p: HoverParams = params(p)?;
                json(serde_json::to_value(
                    self.hover(p.text_document_position_params),
                ))
            }
            GotoDefinition::METHOD => {
                let p: GotoDefinitionParams = params(p)?;
                json(serde_json::to_value(
                    self.definition(p.text_document_position_params),
                ))
            }
            References::METHOD => {
                let p: ReferenceParams = params(p)?;
                let with_decl = p.context.include_declaration;
                json(serde_json::to_value(
                    self.references(p.text_document_position, with_decl),
                ))
            }
            Completion::METHOD => {
                let p: CompletionParams = params(p)?;
                json(serde_json::to_value(
                    self.completion(p.text_document_position),
                ))
            }
            DocumentSymbolRequest::METHOD => {
                let p: DocumentSymbolParams = params(p)?;
                json(serde_json::to_value(self.symbols(&p.text_document.uri)))
            }
            PrepareRenameRequest::METHOD => {
                let p: TextDocumentPositionParams = params(p)?;
                json(serde_json::to_value(self.prepare_rename(p)))
            }
            Rename::METHOD => {
                let p: RenameParams = params(p)?;
                let edit = self.rename(p.text_document_position, &p.new_name)?;
                json(serde_json::to_value(edit))
            }
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("unknown request `{method}`"),
            )),
        }
    }

    pub fn notification(&mut self, n: Notification) -> Vec<Notification> {
        let changed = match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                serde_json::from_value::<DidOpenTextDocumentParams>(n.params)
                    .ok()
                    .and_then(|p| {
                        Some((canonical(&p.text_document.uri)?, Some(p.text_document.text)))
                    })
            }
            DidChangeTextDocument::METHOD => {
                serde_json::from_value::<DidChangeTextDocumentParams>(n.params)
                    .ok()
                    .and_then(|p| {
                        // Full synchronisation: the last change holds the whole text.
                        let text = p.content_changes.into_iter().last()?.text;
                        Some((canonical(&p.text_document.uri)?, Some(text)))
                    })
            }
            DidSaveTextDocument::METHOD => {
                serde_json::from_value::<DidSaveTextDocumentParams>(n.params)
                    .ok()
                    .and_then(|p| {
                        let path = canonical(&p.text_document.uri)?;
                        let text = p.text.or_else(|| self.docs.get(&path).cloned());
                        Some((path, text))
                    })
            }
            DidCloseTextDocument::METHOD => {
                serde_json::from_value::<DidCloseTextDocumentParams>(n.params)
                    .ok()
                    .and_then(|p| Some((canonical(&p.text_document.uri)?, None)))
            }
            _ => None,
        };
        let Some((path, text)) = changed else {
            return Vec::new();
        };
        match text {
            Some(t) => self.docs.insert(path, t),
            None => self.docs.remove(&path),
        };
        self.policies.clear();
        self.publish()
    }

    /// Loads the policy of every open document and publishes the diagnostics of every file that
    /// has some, and an empty list for the open documents and the files that had some before.
    fn publish(&mut self) -> Vec<Notification> {
        let dirs: BTreeSet<PathBuf> = self.docs.keys().filter_map(|p| dir_of(p)).collect();
        let mut by_uri: BTreeMap<Url, Vec<Diagnostic>> = BTreeMap::new();
        for dir in &dirs {
            self.ensure(dir);
            let Some(p) = self.policies.get(dir) else {
                continue;
            };
            for d in &p.diagnostics {
                if let Some((uri, diag)) = p.to_lsp(d) {
                    let list = by_uri.entry(uri).or_default();
                    if !list.contains(&diag) {
                        list.push(diag);
                    }
                }
            }
            // Errors without a place (an unreadable file...) go to the top of the open documents.
            for (path, _) in self
                .docs
                .iter()
                .filter(|(d, _)| dir_of(d).as_ref() == Some(dir))
            {
                let Ok(uri) = Url::from_file_path(path) else {
                    continue;
                };
                let list = by_uri.entry(uri).or_default();
                for e in &p.loaded.errors {
                    list.push(Diagnostic {
                        severity: Some(DiagnosticSeverity::ERROR),
                        source: Some("doudi".into()),
                        message: e.clone(),
                        ..Default::default()
                    });
                }
            }
        }
        for uri in &self.published {
            by_uri.entry(uri.clone()).or_default();
        }
        self.published = by_uri
            .iter()
            .filter(|(_, d)| !d.is_empty())
            .map(|(u, _)| u.clone())
            .collect();
        by_uri
            .into_iter()
            .map(|(uri, diagnostics)| {
                let params = PublishDiagnosticsParams {
                    uri,
                    diagnostics,
                    version: None,
                };
                Notification::new(PublishDiagnostics::METHOD.to_string(), params)
            })
            .collect()
    }

    fn ensure(&mut self, dir: &Path) {
        if !self.policies.contains_key(dir) {
            let p = Policy::load(dir, &self.docs);
            self.policies.insert(dir.to_path_buf(), p);
        }
    }

    /// The policy of the document at `uri`, with the document's file id.
    fn locate(&mut self, uri: &Url) -> Option<(&Policy, u32)> {
        let path = canonical(uri)?;
        let dir = dir_of(&path)?;
        self.ensure(&dir);
        let p = self.policies.get(&dir)?;
        let file = p.file_id(&path)?;
        Some((p, file))
    }

    /// The name under the cursor: its policy, the key and the occurrence's span.
    fn name_at(
        &mut self,
        at: &TextDocumentPositionParams,
    ) -> Option<(&Policy, Key, doudi_dsl::Span)> {
        let (p, file) = self.locate(&at.text_document.uri)?;
        let offset = p.offset(file, at.position);
        let occ = p.index.at(file, offset)?;
        Some((p, occ.key.clone(), occ.span))
    }

    fn hover(&mut self, at: TextDocumentPositionParams) -> Option<Hover> {
        let (p, key, span) = self.name_at(&at)?;
        let text = hover::hover(p, &key)?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: text,
            }),
            range: Some(p.range(span)),
        })
    }

    fn definition(&mut self, at: TextDocumentPositionParams) -> Option<GotoDefinitionResponse> {
        let (p, key, _) = self.name_at(&at)?;
        let mut locs: Vec<Location> = p
            .index
            .declarations(&key)
            .filter_map(|d| p.location(d.span))
            .collect();
        if locs.is_empty() {
            locs = p
                .index
                .all_decls(&key)
                .filter_map(|d| p.location(d.span))
                .collect();
        }
        (!locs.is_empty()).then_some(GotoDefinitionResponse::Array(locs))
    }

    /// Every occurrence of the name under the cursor, in every loaded policy that shares its
    /// declaration (a base layer's name is used by the layers that extend it): (uri, range, whether
    /// it declares the name), sorted, without repeats.
    fn occurrences(&mut self, at: &TextDocumentPositionParams) -> Option<(Key, Vec<Place>)> {
        // Load the policy of every open document: a layer open beside its base uses the base's names.
        let dirs: BTreeSet<PathBuf> = self.docs.keys().filter_map(|p| dir_of(p)).collect();
        for d in &dirs {
            self.ensure(d);
        }
        let (origin, key, _) = self.name_at(at)?;
        let anchor = origin
            .index
            .declarations(&key)
            .next()
            .or_else(|| origin.index.all_decls(&key).next())
            .and_then(|d| origin.path(d.span.file))
            .map(Path::to_path_buf);
        let origin_dir = origin.dir.clone();
        // Sorted by file and position.
        let mut found: BTreeMap<(String, [u32; 4]), Place> = BTreeMap::new();
        for (dir, p) in &self.policies {
            let shares = match &anchor {
                Some(a) => p
                    .index
                    .all_decls(&key)
                    .any(|d| p.path(d.span.file) == Some(a.as_path())),
                None => *dir == origin_dir,
            };
            if !shares {
                continue;
            }
            for o in p.index.uses(&key) {
                if let Some(loc) = p.location(o.span) {
                    let r = loc.range;
                    let k = [r.start.line, r.start.character, r.end.line, r.end.character];
                    let place = Place {
                        uri: loc.uri.clone(),
                        range: r,
                        decl: o.decl,
                    };
                    found.entry((loc.uri.to_string(), k)).or_insert(place);
                }
            }
        }
        let list = found.into_values().collect();
        Some((key, list))
    }

    fn references(
        &mut self,
        at: TextDocumentPositionParams,
        with_decl: bool,
    ) -> Option<Vec<Location>> {
        let (_, list) = self.occurrences(&at)?;
        Some(
            list.into_iter()
                .filter(|p| with_decl || !p.decl)
                .map(|p| Location::new(p.uri, p.range))
                .collect(),
        )
    }

    fn completion(&mut self, at: TextDocumentPositionParams) -> Option<CompletionResponse> {
        let (p, file) = self.locate(&at.text_document.uri)?;
        let offset = p.offset(file, at.position);
        Some(CompletionResponse::Array(features::completion(
            p, file, offset,
        )))
    }

    fn symbols(&mut self, uri: &Url) -> Option<DocumentSymbolResponse> {
        let (p, file) = self.locate(uri)?;
        Some(DocumentSymbolResponse::Nested(features::symbols(p, file)))
    }

    fn prepare_rename(&mut self, at: TextDocumentPositionParams) -> Option<PrepareRenameResponse> {
        let (p, key, span) = self.name_at(&at)?;
        if renamed_by_its_state(p, &key) {
            return None;
        }
        Some(PrepareRenameResponse::RangeWithPlaceholder {
            range: p.range(span),
            placeholder: key.name().to_string(),
        })
    }

    fn rename(
        &mut self,
        at: TextDocumentPositionParams,
        new_name: &str,
    ) -> Result<Option<WorkspaceEdit>, (ErrorCode, String)> {
        if !features::valid_name(new_name) {
            return Err((
                ErrorCode::InvalidParams,
                format!("`{new_name}` is not a name: a name starts with a letter or `_`, has only letters, digits and `_`, and is not a keyword"),
            ));
        }
        let Some((p, key, _)) = self.name_at(&at) else {
            return Ok(None);
        };
        if renamed_by_its_state(p, &key) {
            return Err((
                ErrorCode::InvalidParams,
                format!(
                    "`{}` is named after its state: rename the state",
                    key.name()
                ),
            ));
        }
        let taken = match &key {
            Key::Entity(e, _) => Key::Entity(*e, new_name.to_string()),
            Key::Param(_) => Key::Param(new_name.to_string()),
            Key::Enum(_) => Key::Enum(new_name.to_string()),
            Key::Variant(e, _) => Key::Variant(e.clone(), new_name.to_string()),
            Key::Extern(_) => Key::Extern(new_name.to_string()),
        };
        if new_name != key.name() && p.index.is_declared(&taken) {
            return Err((
                ErrorCode::InvalidParams,
                format!("`{new_name}` is already declared: two declarations would have one name"),
            ));
        }
        // A state with a transition table also defines `NAME_reason`: its uses follow the state.
        let reason = match &key {
            Key::Entity(e, n)
                if p.index
                    .declarations(&key)
                    .any(|d| d.kind == DeclKind::State) =>
            {
                Some(Key::Entity(*e, format!("{n}_reason")))
            }
            _ => None,
        };
        let old_len = key.name().encode_utf16().count() as u32;
        let mut changes: HashMap<Url, Vec<TextEdit>> = HashMap::new();
        if let Some((_, list)) = self.occurrences(&at) {
            for Place { uri, range, .. } in list {
                changes
                    .entry(uri)
                    .or_default()
                    .push(TextEdit::new(range, new_name.to_string()));
            }
        }
        if let Some(reason) = reason {
            let mut reason_at = at.clone();
            if let Some((uri, range)) = self.first_use(&reason) {
                reason_at.text_document.uri = uri;
                reason_at.position = range.start;
                if let Some((_, list)) = self.occurrences(&reason_at) {
                    for Place { uri, range, .. } in list {
                        let mut r = range;
                        r.end = Position::new(r.start.line, r.start.character + old_len);
                        changes
                            .entry(uri)
                            .or_default()
                            .push(TextEdit::new(r, new_name.to_string()));
                    }
                }
            }
        }
        for edits in changes.values_mut() {
            edits.sort_by_key(|e| (e.range.start.line, e.range.start.character));
        }
        Ok(Some(WorkspaceEdit::new(changes)))
    }

    /// A place where `key` is used (not declared), in any loaded policy.
    fn first_use(&self, key: &Key) -> Option<(Url, Range)> {
        self.policies.values().find_map(|p| {
            let o = p.index.uses(key).find(|o| !o.decl)?;
            let loc = p.location(o.span)?;
            Some((loc.uri, loc.range))
        })
    }
}

/// Whether `key` is only the `NAME_reason` a state's transition table defines.
fn renamed_by_its_state(p: &Policy, key: &Key) -> bool {
    let mut decls = p.index.declarations(key).peekable();
    decls.peek().is_some() && decls.all(|d| d.kind == DeclKind::StateReason)
}

fn dir_of(path: &Path) -> Option<PathBuf> {
    if path.extension().is_some_and(|e| e == "doudi") {
        path.parent().map(Path::to_path_buf)
    } else {
        None
    }
}
