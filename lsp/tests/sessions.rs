//! Scripted LSP sessions: each `tests/sessions/*.json` is a list of steps (open, change, close a
//! document; send a request at a place named by a piece of text) played against the server
//! in-process over `Connection::memory()`. Everything the server sends back is recorded and compared
//! with the session's snapshot, with the fixtures' directory written `$FIXTURES`, Markdown split into
//! lines and a completion item on one line, so the snapshots read well and hold on any machine.
//!
//! A step is one of:
//! - `{"open": "county/policy.doudi"}` (the text on disk, or `"text": ...`),
//! - `{"change": FILE, "text": ...}`, `{"close": FILE}`,
//! - `{"request": METHOD, "at": [FILE, NEEDLE, N, K], "params": {...}}`: the position K characters
//!   into the N-th (from 0) occurrence of NEEDLE in FILE's current text, merged into the params,
//! - `{"request": METHOD, "doc": FILE, "params": {...}}`: the document only.
//!
//! After each step the test sends a request the server does not know and records everything up to
//! its answer: the server handles messages in order, so all it sent for the step has arrived.

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .canonicalize()
        .expect("fixtures directory")
}

fn uri(file: &str) -> String {
    lsp_types::Url::from_file_path(fixtures().join(file))
        .expect("file URI")
        .to_string()
}

/// The LSP position (UTF-16 columns) `skip` characters into the `nth` occurrence of `needle`.
fn position(text: &str, needle: &str, nth: usize, skip: usize) -> Value {
    let at = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} is not in the text"))
        .0;
    let at = at + needle.chars().take(skip).map(char::len_utf8).sum::<usize>();
    let before = &text[..at];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col: usize = before[start..].chars().map(char::len_utf16).sum();
    json!({"line": line, "character": col})
}

struct Client {
    conn: Connection,
    next: i32,
    texts: HashMap<String, String>,
    versions: HashMap<String, i32>,
}

impl Client {
    fn request(&mut self, method: &str, params: Value) -> RequestId {
        self.next += 1;
        let id = RequestId::from(self.next);
        let req = Request::new(id.clone(), method.to_string(), params);
        self.conn.sender.send(Message::Request(req)).expect("send");
        id
    }

    fn notify(&self, method: &str, params: Value) {
        let n = Notification::new(method.to_string(), params);
        self.conn
            .sender
            .send(Message::Notification(n))
            .expect("send");
    }

    /// Everything the server sends until it answers the request `id` (the answer included).
    fn until(&self, id: &RequestId) -> Vec<Message> {
        let mut got = Vec::new();
        loop {
            let m = self
                .conn
                .receiver
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("the server answers");
            let done = matches!(&m, Message::Response(r) if &r.id == id);
            got.push(m);
            if done {
                return got;
            }
        }
    }

    fn text(&self, file: &str) -> String {
        self.texts.get(file).cloned().unwrap_or_else(|| {
            std::fs::read_to_string(fixtures().join(file)).expect("fixture file")
        })
    }

    /// Plays one step; returns what the server sent for it.
    fn step(&mut self, step: &Value) -> Vec<Value> {
        let mut answer_id = None;
        if let Some(file) = step["open"].as_str() {
            let text = step["text"]
                .as_str()
                .map_or_else(|| self.text(file), str::to_string);
            self.texts.insert(file.into(), text.clone());
            self.versions.insert(file.into(), 1);
            self.notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri(file), "languageId": "doudi", "version": 1, "text": text}}),
            );
        } else if let Some(file) = step["change"].as_str() {
            let text = step["text"]
                .as_str()
                .expect("a change has a text")
                .to_string();
            self.texts.insert(file.into(), text.clone());
            let v = self.versions.entry(file.into()).or_insert(1);
            *v += 1;
            let v = *v;
            self.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri(file), "version": v}, "contentChanges": [{"text": text}]}),
            );
        } else if let Some(file) = step["close"].as_str() {
            self.texts.remove(file);
            self.notify(
                "textDocument/didClose",
                json!({"textDocument": {"uri": uri(file)}}),
            );
        } else if let Some(method) = step["request"].as_str() {
            let mut params = step.get("params").cloned().unwrap_or_else(|| json!({}));
            if let Some(at) = step["at"].as_array() {
                let file = at[0].as_str().expect("file");
                let text = self.text(file);
                let pos = position(
                    &text,
                    at[1].as_str().expect("needle"),
                    at.get(2).and_then(Value::as_u64).unwrap_or(0) as usize,
                    at.get(3).and_then(Value::as_u64).unwrap_or(0) as usize,
                );
                params["textDocument"] = json!({"uri": uri(file)});
                params["position"] = pos;
            }
            if let Some(file) = step["doc"].as_str() {
                params["textDocument"] = json!({"uri": uri(file)});
            }
            answer_id = Some(self.request(method, params));
        } else {
            panic!("unknown step {step}");
        }
        let barrier = self.request("doudi/barrier", json!(null));
        let got = self.until(&barrier);
        got.into_iter()
            .filter(|m| !matches!(m, Message::Response(r) if r.id == barrier))
            .map(|m| match m {
                Message::Response(r) => {
                    assert_eq!(Some(&r.id), answer_id.as_ref(), "an answer to the request");
                    match r.error {
                        Some(e) => json!({"error": {"code": e.code, "message": e.message}}),
                        None if step["request"] == "textDocument/completion" => {
                            json!({"result": compact_completion(r.result)})
                        }
                        None => json!({"result": r.result}),
                    }
                }
                Message::Notification(n) => json!({"notification": n.method, "params": n.params}),
                Message::Request(r) => json!({"server request": r.method}),
            })
            .collect()
    }
}

/// A range as `LINE:COL-LINE:COL` (LSP's zero-based lines and UTF-16 columns).
fn range_text(o: &serde_json::Map<String, Value>) -> Option<String> {
    if o.len() != 2 {
        return None;
    }
    let pos = |v: &Value| Some(format!("{}:{}", v.get("line")?, v.get("character")?));
    Some(format!("{}-{}", pos(o.get("start")?)?, pos(o.get("end")?)?))
}

/// A completion list as one line per item: `label (kind) — detail`.
fn compact_completion(result: Option<Value>) -> Value {
    let items = result.unwrap_or(Value::Null);
    let Some(items) = items.as_array() else {
        return items;
    };
    Value::Array(
        items
            .iter()
            .map(|i| {
                json!(format!(
                    "{} ({}) — {}",
                    i["label"].as_str().unwrap_or(""),
                    i["kind"],
                    i["detail"].as_str().unwrap_or("")
                ))
            })
            .collect(),
    )
}

/// Fixtures' URIs and paths as `$FIXTURES`, ranges as `LINE:COL-LINE:COL`, Markdown and multi-line messages as lists of lines,
/// completion lists one line per item.
fn tidy(v: Value, root_uri: &str, root: &str) -> Value {
    match v {
        Value::String(s) => {
            let s = s
                .replace(root_uri, "file:///$FIXTURES")
                .replace(root, "$FIXTURES");
            if s.contains('\n') {
                Value::Array(s.lines().map(|l| Value::String(l.into())).collect())
            } else {
                Value::String(s)
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|x| tidy(x, root_uri, root)).collect()),
        Value::Object(o) => match range_text(&o) {
            Some(r) => Value::String(r),
            None => {
                let key = |k: String| k.replace(root_uri, "file:///$FIXTURES");
                Value::Object(
                    o.into_iter()
                        .map(|(k, x)| (key(k), tidy(x, root_uri, root)))
                        .collect(),
                )
            }
        },
        other => other,
    }
}

fn play(session: &Value) -> Value {
    let (server, client) = Connection::memory();
    let thread = std::thread::spawn(move || doudi_lsp::run(server).expect("the server runs"));
    let mut c = Client {
        conn: client,
        next: 0,
        texts: HashMap::new(),
        versions: HashMap::new(),
    };
    let init = c.request(
        "initialize",
        json!({"processId": null, "rootUri": uri(""), "capabilities": {}}),
    );
    let init_answer = c.until(&init);
    assert_eq!(init_answer.len(), 1);
    c.notify("initialized", json!({}));
    let root_uri = uri("");
    let root_uri = root_uri.trim_end_matches('/');
    let root = fixtures().display().to_string();
    let mut transcript = Vec::new();
    for step in session["steps"].as_array().expect("steps") {
        let got = c.step(step);
        transcript.push(json!({"step": step, "got": tidy(Value::Array(got), root_uri, &root)}));
    }
    let bye = c.request("shutdown", json!(null));
    c.until(&bye);
    c.notify("exit", json!(null));
    thread.join().expect("the server ends");
    Value::Array(transcript)
}

#[test]
fn sessions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sessions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("sessions directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "the sessions are found");
    for f in files {
        let session: Value =
            serde_json::from_str(&std::fs::read_to_string(&f).expect("session")).expect("JSON");
        let transcript = play(&session);
        let name = f.file_stem().expect("name").to_string_lossy().into_owned();
        insta::assert_snapshot!(
            name,
            serde_json::to_string_pretty(&transcript).expect("JSON")
        );
    }
}
