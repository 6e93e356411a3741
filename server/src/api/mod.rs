//! The HTTP layer: poem-openapi operations (one file per Nango resource), their wire types,
//! extractors and validation. Handlers convert and delegate; they never touch the database.

pub mod connect;
pub mod connection;
pub mod environment;
pub mod extract;
pub mod guard;
pub mod integration;
pub mod provider;
pub mod proxy;
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
}

/// Every documented operation.
pub type Api = (
    integration::IntegrationApi,
    provider::ProviderApi,
    connection::ConnectionApi,
    proxy::ProxyDocApi,
    connect::ConnectApi,
    environment::EnvironmentApi,
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
        ),
        "Nango-compatible API",
        SPEC_VERSION,
    )
    .description(
        "A Nango-compatible API server: integrations, providers, and (in later versions) \
             connections, credentials and the proxy. Every operation takes the environment's \
             secret key as `Authorization: Bearer <secret key>`. Errors share one envelope: \
             `{\"error\": {\"code\", \"message\"?, \"errors\"?}}`.",
    )
    .server("http://localhost:3003")
}

/// The OpenAPI document as pretty-printed JSON (what `openapi/nango.json` holds).
pub fn spec_json() -> String {
    openapi_service().spec()
}
