//! `nango-server catalog-report`: the real binary loads a catalog file and reports on it.

use std::process::Command;

fn report(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nango-server")).arg("catalog-report").args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_report_command_prints_counts_and_refuses_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("providers.yaml");
    std::fs::write(
        &good,
        "signed:\n  display_name: Signed\n  auth_mode: BASIC\n  proxy:\n    base_url: https://${connectionConfig.host}\n    headers:\n      x-sig: ${hmacSha1Hex(${method}, ${password})}\nfinger:\n  display_name: Finger\n  auth_mode: API_KEY\n  proxy:\n    base_url: https://f.test\n    headers:\n      x-f: ${fingerprint(${apiKey})}\nlater:\n  alias: oauth\n  display_name: Later\noauth:\n  display_name: OAuth\n  auth_mode: OAUTH2\n",
    )
    .unwrap();
    let (ok, out, err) = report(&[good.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("API_KEY and BASIC: 5, fully supported: 4 (API_KEY 2/3, BASIC 2/2)"), "{out}");
    assert!(out.contains("fingerprint(…) in proxy.headers"), "{out}");
    assert!(out.contains("other auth modes (listed, cannot be connected): 2"), "{out}");
    assert!(!out.contains("later "), "other auth modes are listed with --all only: {out}");
    let (_, all, _) = report(&["--all", good.to_str().unwrap()]);
    assert!(all.lines().any(|l| l.starts_with("later ") && l.contains("OAUTH2 is not implemented")), "{all}");

    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "x:\n  alias: nowhere\n  display_name: X\n").unwrap();
    let (ok, _, err) = report(&[broken.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("alias of unknown provider `nowhere`"), "{err}");
}
