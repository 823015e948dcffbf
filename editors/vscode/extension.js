// The doudi extension: starts `doudi lsp` (the language server of the doudi CLI) for .doudi files.
// The server does all the work; this file only finds the executable and wires it to VS Code.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const config = vscode.workspace.getConfiguration("doudi");
  const command = config.get("server.path") || "doudi";
  const args = ["lsp", ...(config.get("server.extraArgs") || [])];
  // A policy may extend layers beside it and read inside the working directory: start the server in
  // the first workspace folder, as `doudi check` is run from the repository.
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  const options = folder ? { cwd: folder.uri.fsPath } : {};
  return { command, args, options, transport: TransportKind.stdio };
}

async function start() {
  client = new LanguageClient(
    "doudi",
    "doudi",
    serverOptions(),
    {
      documentSelector: [{ scheme: "file", language: "doudi" }],
      synchronize: {
        fileEvents: vscode.workspace.createFileSystemWatcher("**/*.doudi"),
      },
    }
  );
  try {
    await client.start();
  } catch (e) {
    vscode.window.showErrorMessage(
      `doudi: cannot start the language server (\`${serverOptions().command} lsp\`): ${e.message}. ` +
        "Set doudi.server.path to the doudi executable."
    );
  }
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("doudi.restartServer", async () => {
      if (client) {
        await client.stop();
      }
      await start();
    })
  );
  await start();
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
