//! `doudi lsp` over real stdio: the binary starts the language server, which initialises, publishes
//! the checker's diagnostics for an opened file with an error, and ends with exit code 0 after
//! `shutdown` and `exit`. (The features themselves are tested in `lsp/tests/sessions.rs`.)

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn frame(v: &Value) -> Vec<u8> {
    let body = v.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Reads one framed message.
fn read(r: &mut impl BufRead) -> Value {
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).expect("a header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            len = n.parse().expect("a length");
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).expect("the body");
    serde_json::from_slice(&body).expect("JSON")
}

#[test]
fn lsp_over_stdio_publishes_diagnostics_and_exits_cleanly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("lsp/tests/fixtures/broken/policy.doudi");
    let uri = format!("file://{}", file.canonicalize().expect("fixture").display());
    let text = std::fs::read_to_string(&file).expect("fixture");
    let mut child = Command::new(env!("CARGO_BIN_EXE_doudi"))
        .arg("lsp")
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("doudi lsp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"processId": null, "rootUri": null, "capabilities": {}}});
    stdin.write_all(&frame(&init)).expect("write");
    let answer = read(&mut out);
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["capabilities"]["hoverProvider"], true);
    for m in [
        json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
            {"uri": uri, "languageId": "doudi", "version": 1, "text": text}}}),
    ] {
        stdin.write_all(&frame(&m)).expect("write");
    }
    let published = read(&mut out);
    assert_eq!(published["method"], "textDocument/publishDiagnostics");
    let messages: Vec<&str> = published["params"]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["message"].as_str().expect("message"))
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[1].starts_with("unknown name `missing_name`"),
        "{messages:?}"
    );
    stdin
        .write_all(&frame(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
        ))
        .expect("write");
    assert_eq!(read(&mut out)["id"], 2);
    stdin
        .write_all(&frame(&json!({"jsonrpc": "2.0", "method": "exit"})))
        .expect("write");
    drop(stdin);
    let status = child.wait().expect("doudi lsp ends");
    assert!(status.success(), "{status}");
}
