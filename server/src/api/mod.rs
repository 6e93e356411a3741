//! The HTTP layer: poem-openapi operations (one file per Nango resource), their wire types,
//! extractors and validation. Handlers convert and delegate; they never touch the database.

pub mod action;
pub mod call;
pub mod connect;
pub mod connection;
pub mod dashboard;
pub mod end_user;
pub mod environment;
pub mod extract;
pub mod function;
pub mod guard;
pub mod integration;
pub mod listener;
pub mod logs;
pub mod ops;
pub mod provider;
pub mod proxy;
pub mod rules;
pub mod serve;
pub mod sync;
pub mod types;
pub mod validate;

use poem_openapi::{OpenApiService, Tags};

/// Sections of the API reference (Nango's documentation sections).
#[derive(Tags)]
pub enum ApiTags {
    /// Integrations: configured uses of a provider (for example an API reached with a key).
    Integrations,
    /// Providers: the catalog of APIs the server knows how to authenticate with.
    Providers,
    /// Connections: one customer's credentials for one integration.
    Connections,
    /// Proxy: requests to a connection's API with its credential injected.
    Proxy,
    /// Connect: sessions that let your end users hand over their credentials in the Connect
    /// UI.
    Connect,
    /// Webhooks: where the environment's auth webhooks go and the key that signs them.
    Webhooks,
    /// Logs: the history of API and proxied calls, and which connections are failing.
    Logs,
    /// Functions: actions and syncs deployed with the `nango` CLI.
    Functions,
    /// Actions: run a deployed action for a connection.
    Actions,
    /// Syncs: the records deployed syncs store, and control of their schedules.
    Syncs,
}

/// Every documented operation.
pub type Api = (
    integration::IntegrationApi,
    provider::ProviderApi,
    connection::ConnectionApi,
    proxy::ProxyDocApi,
    connect::ConnectApi,
    environment::EnvironmentApi,
    logs::LogsApi,
    function::FunctionApi,
    action::ActionApi,
    sync::SyncApi,
    connection::LegacyConnectionApi,
);

/// Version written into the document; pinned so releases do not churn the checked-in file.
pub const SPEC_VERSION: &str = "1.0.0";

/// The OpenAPI service. Building it needs no database and no configuration.
pub fn openapi_service() -> OpenApiService<Api, ()> {
    OpenApiService::new(
        (
            integration::IntegrationApi,
            provider::ProviderApi,
            connection::ConnectionApi,
            proxy::ProxyDocApi,
            connect::ConnectApi,
            environment::EnvironmentApi,
            logs::LogsApi,
            function::FunctionApi,
            action::ActionApi,
            sync::SyncApi,
            connection::LegacyConnectionApi,
        ),
        "Nango-compatible API",
        SPEC_VERSION,
    )
    .description(
        "A Nango-compatible API server: integrations, the provider catalog, connections with \
             their credentials and metadata, the proxy, connect sessions and the Connect UI, \
             webhook settings, call history with connection and integration status, and \
             functions deployed with the nango CLI: actions, and syncs with their records. \
             Operations take the environment's secret key as `Authorization: Bearer <secret \
             key>`; those the Connect UI calls take a connect session token (each operation's \
             security says which it accepts). Errors share one envelope: `{\"error\": \
             {\"code\", \"message\"?, \"errors\"?, \"payload\"?}}`.",
    )
    .server("http://localhost:3003")
    .license(poem_openapi::LicenseObject::new("Apache-2.0").url("https://www.apache.org/licenses/LICENSE-2.0"))
}

/// The OpenAPI document as pretty-printed JSON (what `openapi/nango.json` holds).
pub fn spec_json() -> String {
    let mut doc: serde_json::Value = serde_json::from_str(&openapi_service().spec()).expect("poem renders JSON");
    type_nullable_refs(&mut doc);
    // The CLI's telemetry is public (Nango's route takes no key): say so explicitly.
    if let Some(op) = doc.pointer_mut("/paths/~1cli~1telemetry/post") {
        op["security"] = serde_json::json!([]);
    }
    seed_examples_and_enums(&mut doc);
    serde_json::to_string_pretty(&doc).expect("a JSON value serialises")
}

/// Examples of the seed's requests (Nango's "Private API (Generic)" page), and the closed set
/// of `keyPlacement` inside the otherwise provider-specific `integration_config` map.
fn seed_examples_and_enums(doc: &mut serde_json::Value) {
    use serde_json::json;
    for (schema, values) in [
        ("CreateIntegrationRequest", json!(["header", "query"])),
        ("UpdateIntegrationRequest", json!(["header", "query", ""])),
    ] {
        let config = &mut doc["components"]["schemas"][schema]["properties"]["integration_config"];
        if config.is_object() {
            config["properties"] = json!({"keyPlacement": {
                "type": "string",
                "description": "Where the key goes (`private-api-generic`): a header or a query parameter.",
                "enum": values,
            }});
        }
    }
    let examples = [
        (
            "/integrations",
            json!({"provider": "private-api-generic", "unique_key": "acme-internal", "display_name": "Acme Internal API",
                "integration_config": {"baseUrl": "https://api.acme.com", "keyPlacement": "header", "keyName": "Authorization",
                    "valueTemplate": "Api-Key ${apiKey}", "keyLabel": "Acme API Key"}}),
        ),
        (
            "/connections",
            json!({"provider_config_key": "acme-internal", "connection_id": "customer-42",
                "credentials": {"type": "API_KEY", "apiKey": "sk_live_0123456789"}, "end_user": {"id": "u-42", "email": "jane@acme.com"}}),
        ),
        (
            "/connect/sessions",
            json!({"end_user": {"id": "u-42", "email": "jane@acme.com"}, "allowed_integrations": ["acme-internal"]}),
        ),
    ];
    for (path, example) in examples {
        let media = &mut doc["paths"][path]["post"]["requestBody"]["content"]["application/json"];
        if media.is_object() {
            media["example"] = example;
        }
    }
}

/// poem-openapi wraps a reference that has its own description as `{"allOf": [{"$ref"},
/// {"description"}]}`, and a nullable one as `{"nullable": true, "allOf": [{"$ref"},
/// {"nullable": true, ...}]}`. OpenAPI 3.0 tools reject the second (`nullable` needs a
/// sibling `type`) and client generators mis-read both (Python's drops the operations, or
/// crashes on null). Rewritten to the forms generators agree on: `{"allOf": [{"$ref"}]}`, and
/// `{"anyOf": [{"$ref"}, {"type": "object", "nullable": true, "enum": [null]}]}` for "this
/// object or null".
fn type_nullable_refs(value: &mut serde_json::Value) {
    use serde_json::{Value, json};
    match value {
        Value::Object(map) => {
            let wraps_ref = map.get("allOf").and_then(Value::as_array).is_some_and(|all| {
                all.first().is_some_and(|first| first.get("$ref").is_some())
                    && all[1..].iter().all(|extra| {
                        extra.as_object().is_some_and(|o| o.keys().all(|k| k == "nullable" || k == "description"))
                    })
            });
            if wraps_ref && !map.contains_key("type") {
                let nullable = map.remove("nullable") == Some(Value::Bool(true));
                let Some(Value::Array(mut all)) = map.remove("allOf") else { unreachable!("checked above") };
                all.truncate(1);
                if nullable {
                    all.push(json!({"type": "object", "nullable": true, "enum": [null]}));
                    map.insert("anyOf".to_owned(), Value::Array(all));
                } else {
                    map.insert("allOf".to_owned(), Value::Array(all));
                }
            }
            for child in map.values_mut() {
                type_nullable_refs(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(type_nullable_refs),
        _ => {}
    }
}
