//! The checked-in document and SDK code must be exactly what the tools produce.

use nango_openapi::{REGENERATE, generate_sdk, render_spec, sdk_path, spec_path};

/// A checked-in file; a missing one fails here instead of reading as empty.
fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}; run `{REGENERATE}`", path.display()))
}

fn first_difference(a: &str, b: &str) -> String {
    match a.lines().zip(b.lines()).enumerate().find(|(_, (x, y))| x != y) {
        Some((i, (x, y))) => format!("first difference at line {}:\n  checked in: {x}\n  generated:  {y}", i + 1),
        None => format!("one file is a prefix of the other ({} vs {} lines)", a.lines().count(), b.lines().count()),
    }
}

#[test]
fn openapi_document_is_up_to_date() {
    let rendered = render_spec().expect("render");
    let stored = read(&spec_path());
    assert!(
        stored == rendered,
        "openapi/nango.json does not match the server code; run `{REGENERATE}`\n{}",
        first_difference(&stored, &rendered)
    );
}

#[test]
fn sdk_code_is_up_to_date() {
    // Generated from the checked-in document: the SDK sees exactly what users see.
    let spec = read(&spec_path());
    let generated = generate_sdk(&spec).expect("progenitor accepts the document");
    let stored = read(&sdk_path());
    assert!(
        stored == generated,
        "sdk/src/generated.rs does not match openapi/nango.json; run `{REGENERATE}`\n{}",
        first_difference(&stored, &generated)
    );
}
