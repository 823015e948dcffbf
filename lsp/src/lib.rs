//! doudi-lsp: the language server behind `doudi lsp` (the Language Server Protocol over stdio,
//! synchronous, on `lsp-server`). For a `.doudi` file it loads the policy directory that holds it,
//! with the layers it `extends` and the editor's unsaved buffers over the disk, and answers with
//! the checker's diagnostics, hovers, definitions, references, completion, renames and outlines.
//! It never writes a file: a rename is a `WorkspaceEdit` the editor applies.

mod features;
mod hover;
mod index;
pub mod keywords;
mod server;
mod world;

use lsp_server::{Connection, Message};
use lsp_types::{
    CompletionOptions, HoverProviderCapability, OneOf, RenameOptions, ServerCapabilities,
    TextDocumentSyncCapability, TextDocumentSyncKind,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs the server on stdin and stdout until the client asks it to exit.
pub fn run_stdio() -> Result<(), Error> {
    let (connection, io) = Connection::stdio();
    run(connection)?;
    io.join()?;
    Ok(())
}

/// What the server can do, as it tells the client when initialised.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into()]),
            ..Default::default()
        }),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        ..Default::default()
    }
}

/// Runs the server on a connection (stdio, or `Connection::memory()` in tests): the initialize
/// handshake, then requests and notifications in order until `shutdown` and `exit`.
pub fn run(connection: Connection) -> Result<(), Error> {
    let caps = serde_json::to_value(capabilities())?;
    connection.initialize(caps)?;
    let mut server = server::Server::default();
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(());
                }
                let resp = server.request(req);
                connection.sender.send(Message::Response(resp))?;
            }
            Message::Notification(n) => {
                for out in server.notification(n) {
                    connection.sender.send(Message::Notification(out))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}
