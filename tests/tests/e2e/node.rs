//! The official `@nangohq/node` client (pinned in tests/node/package-lock.json) against a
//! freshly started server.

use std::path::PathBuf;

use nango_tests::TestServer;

#[tokio::test]
async fn the_official_node_client_works_against_us() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node");
    assert!(
        dir.join("node_modules/@nangohq/node").exists(),
        "the Node client is not installed: run `npm ci --prefix tests/node` (the README's test command does it)"
    );
    // The proxy steps call a local upstream: allow private destinations for this server.
    let upstream = nango_tests::upstream::Upstream::start().await;
    let s = TestServer::start_with(&[("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}")]).await;
    let output = tokio::process::Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg(dir.join("compat.test.mjs"))
        .env("NANGO_HOST", &s.base_url)
        .env("NANGO_SECRET_KEY", &s.dev_key)
        .env("NANGO_UPSTREAM", &upstream.base_url)
        .output()
        .await
        .expect("node is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "node compatibility test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ℹ pass 14\n") && stdout.contains("ℹ fail 0\n"), "expected 14 passing steps:\n{stdout}");
}
