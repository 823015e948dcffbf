//! The workbench in a real browser: `doudi serve` on loopback, headless Chromium loads the page,
//! raises the urban standard, runs baseline and reform, and the cost difference it shows must equal
//! the one `doudi simulate` prints for the same scenario. Also checks that Chinese text is there.
//!
//! Needs Chromium (`chromium`, Debian's package; `.ci/run` installs it when missing). Without it the
//! test says so and passes, unless DOUDI_REQUIRE_BROWSER=1 (as in CI), where it fails.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Runs `cmd` for at most `limit`, returning its stdout.
fn run_for(mut cmd: Command, limit: Duration) -> String {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{cmd:?} ran for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

/// Chromium, or `None` when it is not installed and the test may say so and pass (it fails under
/// DOUDI_REQUIRE_BROWSER=1).
fn browser() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var("DOUDI_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "DOUDI_REQUIRE_BROWSER=1 but Chromium is not installed"
        );
        eprintln!("skipped: Chromium is not installed (apt-get install chromium)");
    }
    found
}

/// `doudi serve` with `args` on a free loopback port, from the repository root, once it accepts
/// connections; the server stops when the returned guard is dropped.
fn serve(args: &[&str]) -> (Server, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_doudi"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("serve")
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_ready(port);
    (server, port)
}

/// The DOM headless Chromium shows for `url` after `virtual_ms` of virtual time (a fresh profile),
/// the browser given at most `limit`.
fn dump_dom(browser: &Path, url: &str, virtual_ms: u64, limit: Duration) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(browser);
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--virtual-time-budget={virtual_ms}"))
        .arg(url);
    run_for(cmd, limit)
}

fn wait_ready(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `data-value` of the first card after `marker`.
fn data_value_after(dom: &str, marker: &str) -> Option<f64> {
    let at = dom.find(marker)?;
    let rest = &dom[at..];
    let v = rest.find("data-value=\"")? + "data-value=\"".len();
    let end = rest[v..].find('"')?;
    rest[v..v + end].parse().ok()
}

#[test]
fn the_budget_view_shows_the_cli_s_cost_difference() {
    let Some(browser) = browser() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (_server, port) = serve(&["--policy", "policies/jian", "--scenarios", "scenarios"]);
    // jian-raise-standard, small; the urban standard raised by 100 (the rural one stays at the
    // scenario's +50).
    let url = format!("http://127.0.0.1:{port}/#run&households=300&runs=1&months=6&urban=100");
    let dom = dump_dom(&browser, &url, 600_000, Duration::from_secs(600));
    assert!(dom.contains("完成 done"), "the run did not finish: {dom}");
    assert!(
        dom.contains("兜底工作台") && dom.contains("基线总支出"),
        "Chinese text"
    );
    let shown = data_value_after(&dom, "差额 Difference").expect("the difference card");

    // The same scenario through the CLI.
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("s.toml");
    let text = std::fs::read_to_string(root.join("scenarios/jian-raise-standard.toml"))
        .unwrap()
        .replace(
            "\"../policies/jian\"",
            &format!("{:?}", root.join("policies/jian").display().to_string()),
        )
        .replace(
            "\"populations/jian.toml\"",
            &format!(
                "{:?}",
                root.join("scenarios/populations/jian.toml")
                    .display()
                    .to_string()
            ),
        )
        .replace("months = 36", "months = 6")
        .replace("runs = 20", "runs = 1")
        .replace("households = 10000", "households = 300")
        .replace(
            "\"dibao_standard.urban\" = { add = \"50\" }",
            "\"dibao_standard.urban\" = { add = \"100\" }",
        );
    std::fs::write(&scenario, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_doudi"))
        .current_dir(root)
        .arg("simulate")
        .arg(&scenario)
        .arg("--quiet")
        .arg("--out")
        .arg(tmp.path().join("report"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `reform - baseline  2024 (6 mo): ... all programmes yuan 1,234,567 [...]`
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("reform - baseline"))
        .unwrap_or_else(|| panic!("no difference line: {stdout}"));
    let after = &line[line.find("all programmes yuan ").expect(line) + 20..];
    let cli: f64 = after
        .split_whitespace()
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(cli > 0.0, "{line}");
    assert_eq!(shown.round(), cli, "shown {shown}, CLI {line}");
}

#[test]
fn the_drafter_view_shows_diagnostics_and_an_explanation() {
    let Some(browser) = browser() else { return };
    let (_server, port) = serve(&["--policy", "policies/jian"]);
    // Appends `definition household.zz: money per month = standard + true` to the file in the editor.
    let edit = "definition%20household.zz%3A%20money%20per%20month%20%3D%20standard%20%2B%20true";
    let url = format!("http://127.0.0.1:{port}/#view=draft&explain&edit={edit}");
    let dom = dump_dom(&browser, &url, 60_000, Duration::from_secs(300));
    assert!(
        dom.contains("1 个错误 errors"),
        "the error count as one types: {dom}"
    );
    assert!(
        dom.contains("cannot compute money per month + bool"),
        "the diagnostic: {dom}"
    );
    // The sample household H030's explanation, with its citations.
    assert!(
        dom.contains("dibao_eligible 符合最低生活保障条件 = false"),
        "{dom}"
    );
    assert!(dom.contains("依据 Citations:"), "{dom}");
}
