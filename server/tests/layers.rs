//! The layers are enforced on parsed paths (STYLE.md rules 3 and 3b, docs/ARCHITECTURE.md):
//!
//! - `model` imports nothing of ours (but `chain`) and no framework: `service` and `db` both
//!   build on it;
//! - `db` imports `model`, never `service` or `api`, and no web crate;
//! - `service` never imports `api` or `error`, and no web crate;
//! - `api` never touches `db`, `sea_orm` or the cipher;
//! - `runtime` (the functions engine) reaches the server only through its `Host` trait: it
//!   imports no service, database, API or cipher;
//! - no web-framework type below `api` (`poem` and `poem_openapi` only in `api`, `error`,
//!   `lib.rs` and `main.rs`);
//! - the services form no import cycle, and neither do the top-level modules.
//!
//! Every path in a file counts, not only `use` lines: the token stream is read with
//! `proc-macro2`, so grouped imports (`use crate::{db, service}`), nested groups, paths
//! written inline (`crate::service::x::f()`), `super::` paths and `use` inside functions are
//! all seen; comments and string literals are not.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// A source file with its module path (`["service", "connection"]`) and every path it names.
struct Source {
    file: PathBuf,
    module: Vec<String>,
    paths: Vec<Vec<String>>,
}

fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_owned());
    }
    parts
}

fn sources(src: &Path) -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let tokens: TokenStream = text.parse().unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
            let module = module_of(src, &file);
            let mut paths = Vec::new();
            collect(tokens, &mut paths);
            Source { file, module, paths }
        })
        .collect()
}

fn is_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!((tokens.get(i), tokens.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':')
}

/// Every path in `stream` that starts with an identifier followed by `::`, with groups
/// expanded (`a::{b, c::{d}}` gives `a::b` and `a::c::d`).
fn collect(stream: TokenStream, out: &mut Vec<Vec<String>>) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Ident(ident) if is_sep(&tokens, i + 1) && !(i >= 2 && is_sep(&tokens, i - 2)) => {
                let mut found = Vec::new();
                i = path_at(&tokens, i, vec![ident.to_string()], &mut found);
                out.extend(found);
                continue;
            }
            TokenTree::Group(group) => collect(group.stream(), out),
            _ => {}
        }
        i += 1;
    }
}

/// Reads the path starting at `tokens[i]` (an identifier) into `out`; returns the index after it.
fn path_at(tokens: &[TokenTree], mut i: usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    i += 1;
    while is_sep(tokens, i) {
        i += 2;
        match tokens.get(i) {
            Some(TokenTree::Ident(ident)) => {
                prefix.push(ident.to_string());
                i += 1;
            }
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                for item in inner.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
                    match item.first() {
                        Some(TokenTree::Ident(first)) => {
                            let mut found = Vec::new();
                            let mut start = prefix.clone();
                            start.push(first.to_string());
                            path_at(item, 0, start, &mut found);
                            out.extend(found);
                        }
                        Some(TokenTree::Group(_)) => collect(item.iter().cloned().collect(), out),
                        _ => {}
                    }
                }
                return i + 1;
            }
            _ => break, // `::<T>`, `::*`
        }
    }
    out.push(prefix);
    i
}

/// The module path a path points at, from the crate root (`crate::`, `super::`, `self::`
/// resolved), or `None` for a path into another crate (returned separately by `external`).
fn resolve(source: &Source, path: &[String]) -> Option<Vec<String>> {
    let is_mod_file = source.file.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs");
    let mut here = source.module.clone();
    if !is_mod_file {
        here.pop(); // a leaf file's `super` is its directory's module
    }
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => return Some(rest[1..].to_vec()),
        Some("super") => {
            if is_mod_file {
                here.pop();
            }
            rest = &rest[1..];
            while rest.first().is_some_and(|s| s == "super") {
                here.pop();
                rest = &rest[1..];
            }
        }
        Some("self") => {
            rest = &rest[1..];
            if !is_mod_file {
                here = source.module.clone();
            }
        }
        _ => return None,
    }
    here.extend(rest.iter().cloned());
    Some(here)
}

/// The external crate a path starts in (`poem`, `sea_orm`, …).
fn external(path: &[String]) -> Option<&str> {
    path.first().map(String::as_str).filter(|s| !matches!(*s, "crate" | "super" | "self" | "Self"))
}

/// Every violation of the layer rules in the sources under `src`.
fn violations(src: &Path) -> Vec<String> {
    let sources = sources(src);
    assert!(sources.len() > 20, "no sources under {}", src.display());
    let mut found = Vec::new();
    let mut services: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in &sources {
        let layer = source.module.first().map_or("", String::as_str);
        let name = source.file.strip_prefix(src).unwrap().display().to_string();
        for path in &source.paths {
            if let Some(krate) = external(path) {
                let web = matches!(krate, "poem" | "poem_openapi");
                let refused = match layer {
                    "api" | "error" | "" => false,
                    "db" | "model" | "service" => web || (layer == "model" && krate == "sea_orm"),
                    _ => web,
                };
                if refused {
                    found.push(format!("{name}: the `{layer}` layer names `{}`", path.join("::")));
                }
                continue;
            }
            let Some(target) = resolve(source, path) else { continue };
            let Some(to) = target.first().map(String::as_str) else { continue };
            let forbidden = match (layer, to) {
                ("model", "service" | "db" | "api" | "error" | "crypto" | "outbound") => true,
                ("db", "service" | "api" | "error") => true,
                ("service", "api" | "error") => true,
                ("runtime", "service" | "db" | "api" | "error" | "crypto") => true,
                ("api", "db") => true,
                ("api", "crypto") => target.get(1).is_some_and(|s| s == "Cipher"),
                _ => false,
            };
            if forbidden {
                found.push(format!("{name}: the `{layer}` layer imports `crate::{}`", target.join("::")));
            }
            if !layer.is_empty() && to != layer && sources.iter().any(|s| s.module.first().is_some_and(|m| m == to)) {
                top.entry(layer.to_owned()).or_default().insert(to.to_owned());
            }
            if layer == "service"
                && to == "service"
                && let (Some(from), Some(into)) = (source.module.get(1), target.get(1))
                && from != into
                && sources.iter().any(|s| s.module.len() >= 2 && s.module[0] == "service" && &s.module[1] == into)
            {
                services.entry(from.clone()).or_default().insert(into.clone());
            }
        }
    }
    for (kind, graph) in [("service modules", &services), ("top-level modules", &top)] {
        let mut reported: Vec<BTreeSet<String>> = Vec::new();
        for node in graph.keys() {
            if let Some(cycle) = find_cycle(graph, node)
                && !reported.iter().any(|r| cycle.iter().all(|n| r.contains(n)))
            {
                reported.push(cycle.iter().cloned().collect());
                found.push(format!("the {kind} form an import cycle: {}", cycle.join(" -> ")));
            }
        }
    }
    found
}

/// The shortest cycle through `start` in `graph`, as the list of its nodes (first repeated
/// last), if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.get(node).into_iter().flatten() {
            if next == start {
                let mut cycle = vec![start.to_owned()];
                let mut at = node;
                while at != start {
                    cycle.push(at.to_owned());
                    at = parent[at];
                }
                cycle.push(start.to_owned());
                let last = cycle.len() - 1;
                cycle[1..last].reverse();
                return Some(cycle);
            }
            if !parent.contains_key(next.as_str()) && next != start {
                parent.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

#[test]
fn the_layers_hold() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(found.is_empty(), "layer violations:\n{}", found.join("\n"));
}

/// The checker itself: a small tree with one violation of each kind must report each.
#[test]
fn the_checker_sees_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod api; pub mod db; pub mod model; pub mod service;");
    write("api/mod.rs", "fn f() { let _ = crate::db::repo::x(); }");
    write("db/mod.rs", "pub mod repo;");
    write("db/repo.rs", "use crate::{model::A, service::{Context, x}};\n// use crate::api; (a comment)");
    write("model/mod.rs", "pub mod a; use super::db::Db; const S: &str = \"crate::service\";");
    write("model/a.rs", "fn g() { use poem::Request; }");
    write("service/mod.rs", "pub mod one; pub mod two; pub struct Context;");
    write("service/one.rs", "use super::two; fn h() -> poem_openapi::Foo { todo!() }");
    write("service/two.rs", "fn k() { super::one::f(); crate::api::x(); }");
    for n in 0..20 {
        write(&format!("filler/f{n}.rs"), "");
    }
    let found = violations(dir.path()).join("\n");
    for expected in [
        "api/mod.rs: the `api` layer imports `crate::db::repo::x`",
        "db/repo.rs: the `db` layer imports `crate::service::Context`",
        "db/repo.rs: the `db` layer imports `crate::service::x`",
        "model/mod.rs: the `model` layer imports `crate::db::Db`",
        "model/a.rs: the `model` layer names `poem::Request`",
        "service/one.rs: the `service` layer names `poem_openapi::Foo`",
        "service/two.rs: the `service` layer imports `crate::api::x`",
        "the service modules form an import cycle: one -> two -> one",
        "the top-level modules form an import cycle:",
    ] {
        assert!(found.contains(expected), "missing `{expected}` in:\n{found}");
    }
    assert!(!found.contains("db/repo.rs: the `db` layer imports `crate::api"), "comments do not count:\n{found}");
    assert!(!found.contains("model/mod.rs: the `model` layer imports `crate::service"), "strings do not count");
}
