//! The hand-written client: authentication, and calls that read like the Node SDK's.

use std::time::Duration;

use progenitor_client::ClientInfo as _;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use crate::{Error, generated, types};

/// A client of a Nango-compatible server, authenticated with an environment's secret key.
///
/// ```no_run
/// # async fn demo() -> Result<(), nango_sdk::Error> {
/// let nango = nango_sdk::Nango::new("http://localhost:3003", "<secret key>")?;
/// for integration in nango.list_integrations().await? {
///     println!("{} ({})", integration.unique_key, integration.provider);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Nango {
    inner: generated::Client,
}

impl Nango {
    /// Builds a client for the server at `base_url` (`http://` or `https://`), sending
    /// `secret_key` as `Authorization: Bearer <secret key>` on every call. The header is
    /// marked sensitive so it is never logged. HTTPS uses rustls with the system's roots.
    pub fn new(base_url: &str, secret_key: &str) -> Result<Self, Error> {
        // The SDK compiles rustls with the ring provider only; make it the process default
        // unless the application installed one already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut auth = HeaderValue::from_str(&format!("Bearer {secret_key}")).map_err(|_| {
            Error::InvalidRequest("the secret key contains characters not allowed in a header".to_owned())
        })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("nango-sdk-rust/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(Error::Transport)?;
        Ok(Self::with_http_client(base_url, http))
    }

    /// Builds a client on a `reqwest::Client` you configured yourself (proxies, timeouts,
    /// extra root certificates). It must send the `Authorization` header itself.
    pub fn with_http_client(base_url: &str, http: reqwest::Client) -> Self {
        Self { inner: generated::Client::new_with_client(base_url.trim_end_matches('/'), http) }
    }

    /// The generated client, for every operation with all its options.
    pub fn raw(&self) -> &generated::Client {
        &self.inner
    }

    /// Creates an integration (Node: `nango.createIntegration(body)`); returns it.
    pub async fn create_integration(
        &self,
        body: types::CreateIntegrationRequest,
    ) -> Result<types::IntegrationResponse, Error> {
        Ok(self.inner.create_integration().body(body).send().await?.into_inner().data)
    }

    /// Changes only the given fields of an integration (Node:
    /// `nango.updateIntegration({ uniqueKey }, body)`); returns it.
    pub async fn update_integration(
        &self,
        unique_key: &str,
        body: types::UpdateIntegrationRequest,
    ) -> Result<types::IntegrationResponse, Error> {
        Ok(self.inner.update_integration().unique_key(unique_key).body(body).send().await?.into_inner().data)
    }

    /// Returns one integration with the optional parts in `include` (Node:
    /// `nango.getIntegration({ uniqueKey }, { include })`).
    pub async fn get_integration(
        &self,
        unique_key: &str,
        include: &[types::IntegrationInclude],
    ) -> Result<types::IntegrationResponse, Error> {
        let mut call = self.inner.get_integration().unique_key(unique_key);
        if !include.is_empty() {
            call = call.include(include.to_vec());
        }
        Ok(call.send().await?.into_inner().data)
    }

    /// Lists the environment's integrations (Node: `nango.listIntegrations()`).
    pub async fn list_integrations(&self) -> Result<Vec<types::IntegrationResponse>, Error> {
        Ok(self.inner.list_integrations().send().await?.into_inner().data)
    }

    /// Deletes an integration (Node: `nango.deleteIntegration(uniqueKey)`).
    pub async fn delete_integration(&self, unique_key: &str) -> Result<(), Error> {
        self.inner.delete_integration().unique_key(unique_key).send().await?;
        Ok(())
    }

    /// Lists the catalog's providers, optionally only those whose name matches `search`
    /// (Node: `nango.listProviders({ search })`).
    pub async fn list_providers(&self, search: Option<&str>) -> Result<Vec<types::Provider>, Error> {
        let mut call = self.inner.list_providers();
        if let Some(search) = search {
            call = call.search(search);
        }
        Ok(call.send().await?.into_inner().data)
    }

    /// Returns one provider of the catalog (Node: `nango.getProvider({ provider })`).
    pub async fn get_provider(&self, provider: &str) -> Result<types::Provider, Error> {
        Ok(self.inner.get_provider().provider(provider).send().await?.into_inner().data)
    }

    /// Imports a connection whose credentials you hold (HTTP `POST /connections`); importing
    /// an existing connection id replaces its credentials. Returns the connection.
    pub async fn import_connection(
        &self,
        body: types::ImportConnectionRequest,
    ) -> Result<types::ConnectionResponse, Error> {
        Ok(self.inner.create_connection().body(body).send().await?.into_inner())
    }

    /// Returns a connection with its credentials (Node:
    /// `nango.getConnection(providerConfigKey, connectionId)`).
    pub async fn get_connection(
        &self,
        provider_config_key: &str,
        connection_id: &str,
    ) -> Result<types::ConnectionResponse, Error> {
        Ok(self
            .inner
            .get_connection()
            .connection_id(connection_id)
            .provider_config_key(provider_config_key)
            .send()
            .await?
            .into_inner())
    }

    /// Lists connections, newest first (Node: `nango.listConnections(...)`).
    pub async fn list_connections(&self, filter: &ConnectionFilter) -> Result<Vec<types::ConnectionListItem>, Error> {
        let mut call = self.inner.list_connections();
        if let Some(v) = &filter.connection_id {
            call = call.connection_id(v.clone());
        }
        if let Some(v) = &filter.search {
            call = call.search(v.clone());
        }
        if let Some(v) = &filter.end_user_id {
            call = call.end_user_id(v.clone());
        }
        if let Some(v) = &filter.integration_id {
            call = call.integration_id(v.clone());
        }
        if let Some(v) = filter.limit {
            call = call.limit(v);
        }
        if let Some(v) = filter.page {
            call = call.page(v);
        }
        Ok(call.send().await?.into_inner().connections)
    }

    /// Changes the end user, tags or webhook URL override of a connection (Node:
    /// `nango.patchConnection(...)`).
    pub async fn update_connection(
        &self,
        provider_config_key: &str,
        connection_id: &str,
        body: types::UpdateConnectionRequest,
    ) -> Result<(), Error> {
        self.inner
            .update_connection()
            .connection_id(connection_id)
            .provider_config_key(provider_config_key)
            .body(body)
            .send()
            .await?;
        Ok(())
    }

    /// Deletes a connection (Node: `nango.deleteConnection(providerConfigKey, connectionId)`).
    pub async fn delete_connection(&self, provider_config_key: &str, connection_id: &str) -> Result<(), Error> {
        self.inner
            .delete_connection()
            .connection_id(connection_id)
            .provider_config_key(provider_config_key)
            .send()
            .await?;
        Ok(())
    }

    /// Replaces the metadata of connections, all or nothing (Node: `nango.setMetadata`).
    pub async fn set_metadata(
        &self,
        provider_config_key: &str,
        connection_ids: &[&str],
        metadata: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), Error> {
        let body = metadata_body(provider_config_key, connection_ids, metadata);
        self.inner.create_metadata().body(body).send().await?;
        Ok(())
    }

    /// Merges keys into the metadata of connections, all or nothing (Node:
    /// `nango.updateMetadata`).
    pub async fn update_metadata(
        &self,
        provider_config_key: &str,
        connection_ids: &[&str],
        metadata: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), Error> {
        let body = metadata_body(provider_config_key, connection_ids, metadata);
        self.inner.update_metadata().body(body).send().await?;
        Ok(())
    }

    /// Creates a 30-minute connect session for one of your end users (Node:
    /// `nango.createConnectSession(body)`); give `connect_link` to the end user, who enters
    /// their credential in the Connect UI.
    pub async fn create_connect_session(
        &self,
        body: types::CreateConnectSessionRequest,
    ) -> Result<types::ConnectSessionCreated, Error> {
        Ok(self.inner.create_connect_session().body(body).send().await?.into_inner().data)
    }

    /// Creates a connect session that replaces the credential of an existing connection
    /// (Node: `nango.createReconnectSession(body)`).
    pub async fn create_reconnect_session(
        &self,
        body: types::ReconnectSessionRequest,
    ) -> Result<types::ConnectSessionCreated, Error> {
        Ok(self.inner.create_reconnect_session().body(body).send().await?.into_inner().data)
    }

    /// The session of this client's token: build the client with the connect session token
    /// instead of a secret key (`Nango::new(url, &session.token)`).
    pub async fn get_connect_session(&self) -> Result<types::ConnectSessionView, Error> {
        Ok(self.inner.get_connect_session().send().await?.into_inner().data)
    }

    /// Ends the session of this client's token (a client built with the session token).
    pub async fn delete_connect_session(&self) -> Result<(), Error> {
        self.inner.delete_connect_session().send().await?;
        Ok(())
    }
}

impl Nango {
    /// One page of the environment's request logs (API and proxied calls), newest first;
    /// pass the page's `next_cursor` as [`LogFilter::cursor`] for the next one.
    pub async fn list_logs(&self, filter: &LogFilter) -> Result<types::LogListResponse, Error> {
        let mut call = self.inner.list_logs();
        if let Some(v) = &filter.integration_id {
            call = call.integration_id(v.clone());
        }
        if let Some(v) = &filter.connection_id {
            call = call.connection_id(v.clone());
        }
        if let Some(v) = &filter.status {
            call = call.status(v.clone());
        }
        if let Some(v) = &filter.kind {
            call = call.type_(v.clone());
        }
        if let Some(v) = filter.from {
            call = call.from(v);
        }
        if let Some(v) = filter.to {
            call = call.to(v);
        }
        if let Some(v) = filter.limit {
            call = call.limit(v);
        }
        if let Some(v) = &filter.cursor {
            call = call.cursor(v.clone());
        }
        Ok(call.send().await?.into_inner())
    }

    /// Each integration's connection count, auth errors and newest successful and failed
    /// proxied call (`integration_id`: only that one).
    pub async fn integration_status(
        &self,
        integration_id: Option<&str>,
    ) -> Result<Vec<types::IntegrationStatusResponse>, Error> {
        let mut call = self.inner.list_integration_status();
        if let Some(v) = integration_id {
            call = call.integration_id(v);
        }
        Ok(call.send().await?.into_inner().data)
    }

    /// One page of connection statuses (auth error, newest successful and failed proxied
    /// call), newest connection first.
    pub async fn connection_status(
        &self,
        filter: &ConnectionStatusFilter,
    ) -> Result<types::ConnectionStatusListResponse, Error> {
        let mut call = self.inner.list_connection_status();
        if let Some(v) = &filter.integration_id {
            call = call.integration_id(v.clone());
        }
        if let Some(v) = &filter.connection_id {
            call = call.connection_id(v.clone());
        }
        if let Some(v) = filter.auth_error {
            call = call.auth_error(v);
        }
        if let Some(v) = filter.limit {
            call = call.limit(v);
        }
        if let Some(v) = &filter.cursor {
            call = call.cursor(v.clone());
        }
        Ok(call.send().await?.into_inner())
    }

    /// Where the environment's webhooks go, which auth events are sent, and the key that
    /// signs them (check deliveries with [`crate::webhook::verify`]).
    pub async fn get_webhook_settings(&self) -> Result<types::WebhookSettingsResponse, Error> {
        Ok(self.inner.get_webhook_settings().send().await?.into_inner())
    }

    /// Changes the given webhook settings only (`None` fields are left as they are).
    pub async fn update_webhook_settings(
        &self,
        body: types::UpdateWebhookSettingsRequest,
    ) -> Result<types::WebhookSettingsResponse, Error> {
        Ok(self.inner.update_webhook_settings().body(body).send().await?.into_inner())
    }

    /// Replaces the webhook signing key with a new random one; returns the settings with it.
    pub async fn rotate_webhook_signing_key(&self) -> Result<types::WebhookSettingsResponse, Error> {
        Ok(self.inner.rotate_webhook_signing_key().send().await?.into_inner())
    }

    /// Submits an end user's API key with their connect session token, as the Connect UI
    /// does; creates their connection (or replaces a reconnect session's) and returns its id.
    pub async fn submit_api_key(
        &self,
        session_token: &str,
        provider_config_key: &str,
        api_key: &str,
    ) -> Result<types::ConnectedResponse, Error> {
        let body = types::ApiKeySubmission { api_key: api_key.to_owned() };
        let call = self.inner.submit_api_key().provider_config_key(provider_config_key);
        Ok(call.connect_session_token(session_token).body(body).send().await?.into_inner())
    }

    /// Submits an end user's username and password with their connect session token (BASIC
    /// integrations), as the Connect UI does.
    pub async fn submit_basic(
        &self,
        session_token: &str,
        provider_config_key: &str,
        username: &str,
        password: &str,
    ) -> Result<types::ConnectedResponse, Error> {
        let body = types::BasicSubmission { username: username.to_owned(), password: password.to_owned() };
        let call = self.inner.submit_basic().provider_config_key(provider_config_key);
        Ok(call.connect_session_token(session_token).body(body).send().await?.into_inner())
    }

    /// Sends a request through the proxy to the connection's API, with its credential
    /// injected by the server (Node: `nango.proxy({...})`). The upstream's status, headers
    /// and body come back unchanged; the proxy's own errors use the error envelope.
    ///
    /// `endpoint` is the path on the upstream API (with its query string), sent as is: encoded
    /// characters stay encoded.
    pub async fn proxy(&self, request: ProxyRequest) -> Result<ProxyResponse, Error> {
        let url = format!("{}/proxy/{}", self.inner.baseurl(), request.endpoint.trim_start_matches('/'));
        let mut call = self
            .inner
            .client()
            .request(request.method, url)
            .header("Provider-Config-Key", request.provider_config_key)
            .header("Connection-Id", request.connection_id);
        if request.retries > 0 {
            call = call.header("Retries", request.retries.to_string());
        }
        for (name, value) in request.headers {
            call = call.header(format!("Nango-Proxy-{name}"), value);
        }
        if let Some(body) = request.body {
            call = call.body(body);
        }
        let response = call.send().await.map_err(Error::Transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(Error::Transport)?.to_vec();
        Ok(ProxyResponse { status, headers, body })
    }
}

/// A request for [`Nango::proxy`].
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    /// HTTP method.
    pub method: reqwest::Method,
    /// Path (and query) on the upstream API, e.g. `v1/items?limit=10`.
    pub endpoint: String,
    /// The integration's unique key.
    pub provider_config_key: String,
    /// The connection's id.
    pub connection_id: String,
    /// Headers for the upstream (sent as `Nango-Proxy-<name>`).
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<Vec<u8>>,
    /// Retries on network errors, 5xx and 429.
    pub retries: u32,
}

impl ProxyRequest {
    /// A GET of `endpoint` for a connection.
    pub fn get(provider_config_key: &str, connection_id: &str, endpoint: &str) -> Self {
        Self {
            method: reqwest::Method::GET,
            endpoint: endpoint.to_owned(),
            provider_config_key: provider_config_key.to_owned(),
            connection_id: connection_id.to_owned(),
            headers: Vec::new(),
            body: None,
            retries: 0,
        }
    }
}

/// The upstream's answer (or the proxy's error envelope).
#[derive(Debug, Clone)]
pub struct ProxyResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
}

impl ProxyResponse {
    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::InvalidResponse(e.to_string()))
    }
}

fn metadata_body(
    key: &str,
    ids: &[&str],
    metadata: serde_json::Map<String, serde_json::Value>,
) -> types::MetadataRequest {
    let connection_id = match ids {
        [one] => types::MetadataRequestConnectionId::String((*one).to_owned()),
        many => types::MetadataRequestConnectionId::Array(many.iter().map(|s| (*s).to_owned()).collect()),
    };
    types::MetadataRequest { connection_id, provider_config_key: key.to_owned(), metadata }
}

/// Filters of [`Nango::list_connections`]; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionFilter {
    /// Exact connection id.
    pub connection_id: Option<String>,
    /// Text in the connection id, end-user display name or email.
    pub search: Option<String>,
    /// The end user's id.
    pub end_user_id: Option<String>,
    /// Integration keys, comma-separated.
    pub integration_id: Option<String>,
    /// Page size (1 to 2000).
    pub limit: Option<u32>,
    /// Page number, from 0.
    pub page: Option<u32>,
}

/// Filters of [`Nango::list_logs`]; all optional and combined.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFilter {
    /// Only calls about this integration (unique key).
    pub integration_id: Option<String>,
    /// Only calls about this connection.
    pub connection_id: Option<String>,
    /// A status (`"401"`), a class (`"5xx"`), `"success"` or `"error"`.
    pub status: Option<String>,
    /// `"api"` or `"proxy"`.
    pub kind: Option<String>,
    /// Calls that ended at or after this time.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Calls that ended before this time.
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Page size (1 to 1000, default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Filters of [`Nango::connection_status`]; all optional and combined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionStatusFilter {
    /// Only connections of this integration (unique key).
    pub integration_id: Option<String>,
    /// Only this connection id.
    pub connection_id: Option<String>,
    /// `Some(true)`: only connections the upstream refuses; `Some(false)`: only the others.
    pub auth_error: Option<bool>,
    /// Page size (1 to 1000, default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Connection credentials, typed.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An API key.
    ApiKey(String),
    /// A username and password (HTTP Basic).
    Basic {
        /// The username.
        username: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ApiKey(_) => f.write_str("ApiKey(***)"),
            Self::Basic { username, .. } => write!(f, "Basic {{ username: {username:?}, password: *** }}"),
        }
    }
}

impl From<Credentials> for types::ConnectionCredentials {
    fn from(c: Credentials) -> Self {
        match c {
            Credentials::ApiKey(key) => Self {
                type_: types::ConnectionCredentialsType::ApiKey,
                api_key: Some(key),
                username: None,
                password: None,
            },
            Credentials::Basic { username, password } => Self {
                type_: types::ConnectionCredentialsType::Basic,
                api_key: None,
                username: Some(username),
                password: Some(password),
            },
        }
    }
}

impl TryFrom<&types::ConnectionCredentials> for Credentials {
    type Error = Error;

    fn try_from(c: &types::ConnectionCredentials) -> Result<Self, Error> {
        let missing = || Error::InvalidResponse("credentials without their fields".to_owned());
        Ok(match c.type_ {
            types::ConnectionCredentialsType::ApiKey => Self::ApiKey(c.api_key.clone().ok_or_else(missing)?),
            types::ConnectionCredentialsType::Basic => Self::Basic {
                username: c.username.clone().ok_or_else(missing)?,
                password: c.password.clone().ok_or_else(missing)?,
            },
        })
    }
}

impl Nango {
    /// Runs the deployed action `action_name` for a connection and returns its output
    /// (Nango's `triggerAction`). Failures keep Nango's codes in [`Error`]:
    /// `invalid_action_input`, `action_script_runtime_error` (an `ActionError`, its payload),
    /// `script_http_error` (424, the upstream's answer), `not_found`, `unknown_connection`.
    pub async fn trigger_action(
        &self,
        provider_config_key: &str,
        connection_id: &str,
        action_name: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        let body = types::TriggerActionRequest { action_name: action_name.to_owned(), input: Some(input) };
        let call = self.inner.trigger_action().provider_config_key(provider_config_key).connection_id(connection_id);
        Ok(call.body(body).send().await?.into_inner())
    }

    /// Queues the action (`X-Async: true`, with up to `max_retries` retries of a failed run)
    /// and returns the run's id; read the outcome with [`Nango::get_action_result`].
    pub async fn trigger_action_async(
        &self,
        provider_config_key: &str,
        connection_id: &str,
        action_name: &str,
        input: serde_json::Value,
        max_retries: u8,
    ) -> Result<String, Error> {
        let body = types::TriggerActionRequest { action_name: action_name.to_owned(), input: Some(input) };
        let call = self
            .inner
            .trigger_action()
            .provider_config_key(provider_config_key)
            .connection_id(connection_id)
            .x_async("true")
            .x_max_retries(max_retries.to_string());
        let response = call.body(body).send().await?;
        let value: serde_json::Value = response.into_inner();
        value
            .get("id")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Error::InvalidResponse("the 202 answer has no id".to_owned()))
    }

    /// The outcome of an asynchronous run: its output, its error (same codes as
    /// [`Nango::trigger_action`]), or `not_found` while it is queued or running.
    pub async fn get_action_result(&self, id: &str) -> Result<serde_json::Value, Error> {
        Ok(self.inner.get_action_result().id(id).send().await?.into_inner())
    }

    /// What deploying `body` would create, update and delete (the first call of
    /// `nango deploy`); changes nothing.
    pub async fn preview_deploy(&self, body: types::DeployRequest) -> Result<types::DeployConfirmationResponse, Error> {
        Ok(self.inner.preview_deploy().body(body).send().await?.into_inner())
    }

    /// Deploys compiled functions (the second call of `nango deploy`): all of them, or none
    /// when one's integration is missing or one's bundle does not load.
    pub async fn deploy_functions(
        &self,
        body: types::DeployRequest,
    ) -> Result<Vec<types::DeployedFunctionResponse>, Error> {
        Ok(self.inner.deploy_functions().body(body).send().await?.into_inner())
    }

    /// Every deployed function, by integration (`GET /scripts/config`, Nango's format: an
    /// array of `{providerConfigKey, provider, syncs, actions, on-events}`).
    pub async fn scripts_config(&self) -> Result<Vec<types::IntegrationScriptsResponse>, Error> {
        Ok(self.inner.get_scripts_config().format("nango").send().await?.into_inner())
    }

    /// The functions of integration `unique_key` (first 100).
    pub async fn list_functions(&self, unique_key: &str) -> Result<Vec<types::FunctionResponse>, Error> {
        Ok(self.inner.list_integration_functions().unique_key(unique_key).limit(100).send().await?.into_inner().data)
    }

    /// The TypeScript source of a deployed function.
    pub async fn get_function_code(&self, unique_key: &str, name: &str) -> Result<String, Error> {
        Ok(self.inner.get_function_code().unique_key(unique_key).name(name).send().await?.into_inner().code)
    }

    /// Deletes a deployed function (`kind`: `action` or `sync`).
    pub async fn delete_function(&self, unique_key: &str, name: &str, kind: &str) -> Result<(), Error> {
        self.inner.delete_integration_function().unique_key(unique_key).name(name).type_(kind).send().await?;
        Ok(())
    }
}

/// The body of pause and start.
fn control_body(provider_config_key: &str, syncs: &[&str], connection_id: Option<&str>) -> types::SyncControlRequest {
    types::SyncControlRequest {
        syncs: syncs.iter().map(|s| (*s).to_owned()).collect(),
        provider_config_key: provider_config_key.to_owned(),
        connection_id: connection_id.map(str::to_owned),
    }
}

/// Which records [`Nango::list_records`] reads.
#[derive(Debug, Clone, Default)]
pub struct RecordsQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 10000 (server default 100).
    pub limit: Option<u32>,
    /// Only records modified at or after this time (ISO 8601).
    pub modified_after: Option<String>,
    /// `added`, `updated`, `deleted`, comma-separated.
    pub filter: Option<String>,
    /// Only these record ids (at most 100).
    pub ids: Vec<String>,
}

impl Nango {
    /// A page of the records a sync stored for a connection and model (Nango's
    /// `listRecords`); pass `next_cursor` back in [`RecordsQuery::cursor`].
    pub async fn list_records(
        &self,
        provider_config_key: &str,
        connection_id: &str,
        model: &str,
        query: &RecordsQuery,
    ) -> Result<types::RecordsResponse, Error> {
        let mut call = self
            .inner
            .list_records()
            .provider_config_key(provider_config_key)
            .connection_id(connection_id)
            .model(model);
        if let Some(cursor) = &query.cursor {
            call = call.cursor(cursor.clone());
        }
        if let Some(limit) = query.limit {
            call = call.limit(limit);
        }
        if let Some(after) = &query.modified_after {
            call = call.modified_after(after.clone());
        }
        if let Some(filter) = &query.filter {
            call = call.filter(filter.clone());
        }
        if !query.ids.is_empty() {
            call = call.ids(query.ids.clone());
        }
        Ok(call.send().await?.into_inner())
    }

    /// Runs syncs now (Nango's `triggerSync`): `syncs` empty means every sync of the
    /// integration, `connection_id` `None` every connection; `reset` runs from scratch and
    /// `empty_cache` deletes the records first.
    pub async fn trigger_sync(
        &self,
        provider_config_key: &str,
        syncs: &[&str],
        connection_id: Option<&str>,
        reset: bool,
        empty_cache: bool,
    ) -> Result<(), Error> {
        let body = types::TriggerSyncRequest {
            syncs: syncs.iter().map(|s| (*s).to_owned()).collect(),
            provider_config_key: Some(provider_config_key.to_owned()),
            connection_id: connection_id.map(str::to_owned),
            opts: Some(types::TriggerOptions { reset: Some(reset), empty_cache: Some(empty_cache) }),
            sync_mode: None,
            full_resync: None,
        };
        self.inner.trigger_sync().body(body).send().await?;
        Ok(())
    }

    /// Pauses syncs' schedules (Nango's `pauseSync`).
    pub async fn pause_sync(
        &self,
        provider_config_key: &str,
        syncs: &[&str],
        connection_id: Option<&str>,
    ) -> Result<(), Error> {
        let body = control_body(provider_config_key, syncs, connection_id);
        self.inner.pause_sync().body(body).send().await?;
        Ok(())
    }

    /// Starts syncs' schedules (Nango's `startSync`); a paused sync runs at once.
    pub async fn start_sync(
        &self,
        provider_config_key: &str,
        syncs: &[&str],
        connection_id: Option<&str>,
    ) -> Result<(), Error> {
        let body = control_body(provider_config_key, syncs, connection_id);
        self.inner.start_sync().body(body).send().await?;
        Ok(())
    }

    /// The status of syncs (Nango's `syncStatus`): `syncs` empty means all of them.
    pub async fn sync_status(
        &self,
        provider_config_key: &str,
        syncs: &[&str],
        connection_id: Option<&str>,
    ) -> Result<Vec<types::SyncStatusEntry>, Error> {
        let names = if syncs.is_empty() { "*".to_owned() } else { syncs.join(",") };
        let mut call = self.inner.get_sync_status().provider_config_key(provider_config_key).syncs(names);
        if let Some(id) = connection_id {
            call = call.connection_id(id);
        }
        Ok(call.send().await?.into_inner().syncs)
    }

    /// Sets one connection's frequency for a sync (`None`: back to the sync's own); returns
    /// the frequency in force.
    pub async fn update_sync_frequency(
        &self,
        provider_config_key: &str,
        connection_id: &str,
        sync_name: &str,
        frequency: Option<&str>,
    ) -> Result<String, Error> {
        let body = types::UpdateSyncFrequencyRequest {
            sync_name: sync_name.to_owned(),
            sync_variant: None,
            provider_config_key: provider_config_key.to_owned(),
            connection_id: connection_id.to_owned(),
            frequency: frequency.map(str::to_owned),
        };
        Ok(self.inner.update_sync_frequency().body(body).send().await?.into_inner().frequency)
    }
}
