//! The JavaScript client (rpc-client/js) under Node's own test runner:
//! every golden vector byte for byte (test/vectors.test.js), and a real
//! `watt dev` (test/live.test.js: read, subscribe to new heads, sign and
//! submit a transfer with tx_submitAndWatch, watch it finalise, read its
//! receipt), and the library in headless Chromium under an import map
//! (test/browser.test.js: the same against `watt dev`, with the browser's
//! own fetch and WebSocket). The live tests start the binary cargo built,
//! passed in WATT_BIN. Needs `node` and `chromium` (scripts/test installs
//! them: ensure_nodejs, ensure_chromium); no `npm install`: the client's
//! dependencies are vendored.
//!
//! Runs in the `processes` group (.config/nextest.toml).

use std::path::Path;
use std::process::Command;

#[test]
fn js_client_passes_its_vector_and_live_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rpc-client/js");
    let out = Command::new("node")
        .arg("--test")
        .current_dir(&dir)
        .env("WATT_BIN", env!("CARGO_BIN_EXE_watt"))
        .env_remove("WATT_JS_SKIP_LIVE")
        .env_remove("WATT_JS_SKIP_BROWSER")
        .output()
        .expect("node runs (scripts/test installs it: ensure_nodejs in scripts/prereqs)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "`node --test` in {} failed ({}):\n{stdout}\n{stderr}",
        dir.display(),
        out.status
    );
    // Every file ran, and nothing was skipped.
    assert!(stdout.contains("# fail 0"), "{stdout}");
    assert!(stdout.contains("# skipped 0"), "{stdout}");
    for name in [
        "every vector of every file was handled",
        "live: read, subscribe, sign and submit a transfer",
        "browser: the library under an import map",
    ] {
        assert!(stdout.contains(name), "{name} did not run:\n{stdout}");
    }
}
