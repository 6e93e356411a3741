//! The three layers are enforced by imports (STYLE.md rule 3): `api` must not touch the
//! database, `service` must not know the web framework, `db` knows neither web crate.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

fn assert_layer(layer: &str, forbidden: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(layer);
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(!files.is_empty(), "no sources under {}", root.display());
    for (path, text) in files {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in forbidden {
                assert!(!code.contains(word), "{path}:{}: the `{layer}` layer must not use `{word}`", n + 1);
            }
        }
    }
}

#[test]
fn api_does_not_touch_the_database() {
    assert_layer("api", &["sea_orm", "crate::db", "crypto::Cipher"]);
}

#[test]
fn services_do_not_know_the_web_framework() {
    assert_layer("service", &["poem", "poem_openapi", "crate::api", "crate::error"]);
}

#[test]
fn persistence_knows_no_web_crate() {
    assert_layer("db", &["poem", "crate::api"]);
}
