//! Rules every operation of the document follows (STYLE.md rule 19).

use serde_json::Value;

fn spec() -> Value {
    serde_json::from_str(&nango_openapi::render_spec().expect("render")).expect("json")
}

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// Every operation the document has, as `METHOD path operationId`: the rules below are known
/// to have run on each (a loop over an operation that is not there checks nothing). A new
/// operation is added here in the same change.
const OPERATIONS: &[&str] = &[
    "GET /integrations list_integrations",
    "POST /integrations create_integration",
    "GET /integrations/{uniqueKey} get_integration",
    "PATCH /integrations/{uniqueKey} update_integration",
    "DELETE /integrations/{uniqueKey} delete_integration",
    "GET /providers list_providers",
    "GET /providers/{provider} get_provider",
    "GET /connections list_connections",
    "POST /connections create_connection",
    "GET /connections/{connectionId} get_connection",
    "PATCH /connections/{connectionId} update_connection",
    "DELETE /connections/{connectionId} delete_connection",
    "POST /connections/metadata create_metadata",
    "PATCH /connections/metadata update_metadata",
    "GET /proxy/{anyPath} proxy_get",
    "POST /proxy/{anyPath} proxy_post",
    "PUT /proxy/{anyPath} proxy_put",
    "PATCH /proxy/{anyPath} proxy_patch",
    "DELETE /proxy/{anyPath} proxy_delete",
    "POST /connect/sessions create_connect_session",
    "POST /connect/sessions/reconnect create_reconnect_session",
    "GET /connect/session get_connect_session",
    "DELETE /connect/session delete_connect_session",
    "POST /api-auth/api-key/{providerConfigKey} submit_api_key",
    "POST /api-auth/basic/{providerConfigKey} submit_basic",
    "GET /environment/webhook get_webhook_settings",
    "PATCH /environment/webhook update_webhook_settings",
    "POST /environment/webhook-signing-key/rotate rotate_webhook_signing_key",
    "GET /logs list_logs",
    "GET /status/integrations list_integration_status",
    "GET /status/connections list_connection_status",
    "POST /sync/deploy/confirmation preview_deploy",
    "POST /sync/deploy deploy_functions",
    "GET /scripts/config get_scripts_config",
    "GET /integrations/{uniqueKey}/functions list_integration_functions",
    "GET /integrations/{uniqueKey}/functions/{name} get_integration_function",
    "DELETE /integrations/{uniqueKey}/functions/{name} delete_integration_function",
    "GET /integrations/{uniqueKey}/functions/{name}/code get_function_code",
    "POST /cli/telemetry submit_cli_telemetry",
    "POST /action/trigger trigger_action",
    "GET /action/{id} get_action_result",
    "GET /records list_records",
    "POST /sync/trigger trigger_sync",
    "POST /sync/pause pause_sync",
    "POST /sync/start start_sync",
    "GET /sync/status get_sync_status",
    "PUT /sync/update-connection-frequency update_sync_frequency",
    "GET /connection list_legacy_connections",
    "GET /connection/{connectionId} get_legacy_connection",
    "DELETE /connection/{connectionId} delete_legacy_connection",
    "POST /connection/{connectionId}/metadata create_legacy_connection_metadata",
    "PATCH /connection/{connectionId}/metadata update_legacy_connection_metadata",
    "POST /connection/metadata create_legacy_metadata",
    "PATCH /connection/metadata update_legacy_metadata",
];

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
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for key in item.as_object().unwrap().keys() {
            assert!(METHODS.contains(&key.as_str()), "{path}: `{key}` is not a method these rules check");
        }
        for method in METHODS {
            let Some(op) = item.get(*method) else { continue };
            let at = format!("{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{at}: no operationId"));
            operations.push(format!("{} {path} {id}", method.to_uppercase()));
            let (verb, resource) =
                id.split_once('_').unwrap_or_else(|| panic!("{at}: `{id}` is not <verb>_<resource>"));
            assert!(
                [
                    "list", "get", "create", "update", "delete", "proxy", "submit", "rotate", "deploy", "preview",
                    "trigger", "pause", "start"
                ]
                .contains(&verb)
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
            if path == "/cli/telemetry" {
                // The CLI reports without a key (Nango's route is public); nothing is stored.
                assert_eq!(op["security"], serde_json::json!([]), "{at}: must stay public");
                continue;
            }
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
    let missing: Vec<_> = OPERATIONS.iter().filter(|o| !operations.iter().any(|p| p == *o)).collect();
    let unlisted: Vec<_> = operations.iter().filter(|o| !OPERATIONS.contains(&o.as_str())).collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "the document lacks {missing:?} and has {unlisted:?}, which OPERATIONS does not list"
    );
    assert_eq!(operations.len(), OPERATIONS.len(), "an operation is listed twice");
}
