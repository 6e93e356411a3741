//! Rules every operation of the document follows (STYLE.md rule 19).

use serde_json::Value;

fn spec() -> Value {
    serde_json::from_str(&nango_openapi::render_spec().expect("render")).expect("json")
}

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

#[test]
fn document_is_openapi_3_0() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.0."), "progenitor accepts only 3.0.x");
}

#[test]
fn every_operation_is_named_described_tagged_secured_and_uses_the_error_envelope() {
    let spec = spec();
    let tags: Vec<&str> = spec["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut ids = Vec::new();
    let mut count = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(*method) else { continue };
            count += 1;
            let at = format!("{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{at}: no operationId"));
            let (verb, resource) =
                id.split_once('_').unwrap_or_else(|| panic!("{at}: `{id}` is not <verb>_<resource>"));
            assert!(
                ["list", "get", "create", "update", "delete", "proxy", "submit", "rotate"].contains(&verb)
                    && !resource.is_empty(),
                "{at}: `{id}` is not <verb>_<resource>"
            );
            assert!(id.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{at}: `{id}` is not snake_case");
            assert!(!ids.contains(&id.to_owned()), "{at}: duplicate operationId {id}");
            ids.push(id.to_owned());
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{at}: no summary");
            assert!(op["description"].as_str().is_some_and(|s| !s.is_empty()), "{at}: no description");
            let op_tags = op["tags"].as_array().unwrap_or_else(|| panic!("{at}: no tag"));
            assert!(op_tags.iter().all(|t| tags.contains(&t.as_str().unwrap())), "{at}: unknown tag");
            // The secret key everywhere, except where the end user's connect session acts:
            // its token as a bearer (`/connect/session`) or in the query (`/api-auth/...`).
            let scheme = if path.starts_with("/connect/session") && !path.starts_with("/connect/sessions") {
                "connectSessionAuth"
            } else if path.starts_with("/api-auth/") {
                "connectSessionToken"
            } else {
                "bearerAuth"
            };
            assert_eq!(op["security"], serde_json::json!([{ scheme: [] }]), "{at}: not secured by {scheme}");
            if verb == "proxy" {
                // The proxy answers with the upstream's response, whatever its status; its own
                // errors use the envelope, as its description says.
                assert!(op["description"].as_str().unwrap().contains("unchanged"), "{at}: say what the proxy returns");
                continue;
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json; charset=utf-8"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorEnvelope",
                        "{at} {status}: not the shared error envelope"
                    );
                }
            }
            for status in ["400", "401", "500"] {
                assert!(op["responses"].get(status).is_some(), "{at}: does not document {status}");
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path" {
                    let name = param["name"].as_str().unwrap();
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{at}: path parameter {name} is not in the template"
                    );
                }
            }
        }
    }
    assert!(count >= 7, "expected at least the 7 integration and provider operations, found {count}");
}
