//! `/integrations`: Nango's Integrations API.

use std::collections::HashMap;

use poem::{Request, web::Data};
use poem_openapi::{Enum, Object, OpenApi, param::Path, payload::Json, types::MaybeUndefined};

use super::{
    ApiTags,
    extract::{DocOnly, JsonBody, SecretKey, SecretKeyOrSession},
    types::Timestamp,
    validate::{self, DISPLAY_NAME, Obj, PROVIDER, UNIQUE_KEY},
};
use crate::{
    AppState,
    error::{ApiError, Code, ValidationIssue},
    model::integration::AppCredentials,
    service::integration::{self as svc, Include, IntegrationPatch, IntegrationView, NewIntegration},
};

/// Kind of developer-app credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "IntegrationCredentialsType")]
pub enum CredentialsType {
    #[oai(rename = "OAUTH1")]
    Oauth1,
    #[oai(rename = "OAUTH2")]
    Oauth2,
    #[oai(rename = "TBA")]
    Tba,
    #[oai(rename = "APP")]
    App,
    #[oai(rename = "CUSTOM")]
    Custom,
}

/// Developer-app credentials of an integration, for providers whose auth mode needs an app
/// (`OAUTH1`, `OAUTH2`, `TBA`: client id, secret, scopes; `APP`: app id, link, private key;
/// `CUSTOM`: both). API-key and basic-auth providers take none.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct IntegrationCredentialsRequest {
    /// Must equal the provider's auth mode.
    #[oai(rename = "type")]
    pub kind: CredentialsType,
    /// OAuth client id (1 to 255 characters).
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<String>,
    /// Comma-separated scopes, e.g. `read,write` (no spaces).
    pub scopes: Option<String>,
    /// Secret used to verify webhooks from the provider (at most 255 characters; an empty
    /// string removes it on update).
    pub webhook_secret: Option<String>,
    /// App id (APP, CUSTOM).
    pub app_id: Option<String>,
    /// Public app link (APP, CUSTOM).
    pub app_link: Option<String>,
    /// PEM RSA private key (APP, CUSTOM).
    pub private_key: Option<String>,
}

/// Body of `POST /integrations`.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct CreateIntegrationRequest {
    /// Provider name from the catalog, e.g. `private-api-generic`.
    pub provider: String,
    /// Key of the new integration, unique in the environment: letters, digits, space and
    /// `~:.@_-`, at most 255 characters.
    pub unique_key: String,
    /// Display name (1 to 255 characters); defaults to the provider's display name.
    pub display_name: Option<String>,
    /// Whether provider webhooks are forwarded (default true).
    pub forward_webhooks: Option<bool>,
    /// Developer-app credentials, for providers whose auth mode needs them.
    pub credentials: Option<IntegrationCredentialsRequest>,
    /// Provider-specific settings declared by the provider's `integration_config` schema.
    /// For `private-api-generic`: `baseUrl` (required, http(s) URL), `keyName` (required),
    /// `keyPlacement` (`header` or `query`, default `header`), `valueTemplate` (must contain
    /// `${apiKey}`, default `${apiKey}`), `keyLabel` (label in the Connect UI, default
    /// `API Key`). Values are strings of at most 8192 characters.
    pub integration_config: Option<HashMap<String, String>>,
    /// Free-form settings, only for providers without an `integration_config` schema.
    pub custom: Option<HashMap<String, String>>,
}

/// Body of `PATCH /integrations/{uniqueKey}`: only the fields to change.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct UpdateIntegrationRequest {
    /// New key (rename).
    pub unique_key: Option<String>,
    /// New display name (1 to 255 characters).
    pub display_name: Option<String>,
    /// Whether provider webhooks are forwarded.
    pub forward_webhooks: Option<bool>,
    /// New developer-app credentials; omitted fields keep their values.
    pub credentials: Option<IntegrationCredentialsRequest>,
    /// Settings to change, merged into the stored ones; only the submitted fields are
    /// validated. An optional field is cleared with `""`; a required one cannot be cleared.
    pub integration_config: Option<HashMap<String, String>>,
    /// Free-form settings to merge (providers without an `integration_config` schema).
    pub custom: Option<HashMap<String, String>>,
}

/// The label of the API key field in the Connect UI.
#[derive(Debug, Clone, Object)]
pub struct CredentialsLabel {
    /// Label of the key field (`keyLabel`).
    #[oai(rename = "apiKey")]
    pub api_key: String,
}

/// Developer-app credentials as returned with `include=credentials`.
#[derive(Debug, Clone, Object)]
pub struct IntegrationCredentials {
    /// The provider's auth mode.
    #[oai(rename = "type")]
    pub kind: String,
    /// OAuth client id.
    #[oai(skip_serializing_if_is_none)]
    pub client_id: Option<String>,
    /// OAuth client secret.
    #[oai(skip_serializing_if_is_none)]
    pub client_secret: Option<String>,
    /// Comma-separated scopes (null when none).
    #[oai(nullable)]
    pub scopes: MaybeUndefined<String>,
    /// Webhook secret (null when none).
    #[oai(nullable)]
    pub webhook_secret: MaybeUndefined<String>,
    /// App id.
    #[oai(skip_serializing_if_is_none)]
    pub app_id: Option<String>,
    /// App link.
    #[oai(skip_serializing_if_is_none)]
    pub app_link: Option<String>,
    /// PEM private key.
    #[oai(skip_serializing_if_is_none)]
    pub private_key: Option<String>,
}

/// An integration. Configuration values are never returned.
#[derive(Debug, Clone, Object)]
pub struct IntegrationResponse {
    /// The integration's key.
    pub unique_key: String,
    /// The provider name.
    pub provider: String,
    /// Display name (the provider's when none was set).
    pub display_name: String,
    /// URL of the provider's logo.
    pub logo: String,
    /// Connect UI label of the API key, for providers with an `integration_config` schema
    /// when `keyLabel` is set.
    #[oai(skip_serializing_if_is_none)]
    pub credentials_label: Option<CredentialsLabel>,
    /// Names (never values) of the configuration fields that are set, for TWO_STEP providers.
    #[oai(skip_serializing_if_is_none)]
    pub preconfigured_credentials: Option<Vec<String>>,
    /// Webhook URL of the integration (only with `include=webhook`; null when the provider
    /// has no incoming webhooks).
    #[oai(nullable)]
    pub webhook_url: MaybeUndefined<String>,
    /// Developer-app credentials (only with `include=credentials`; null for API_KEY and
    /// BASIC providers).
    #[oai(nullable)]
    pub credentials: MaybeUndefined<IntegrationCredentials>,
    /// Whether provider webhooks are forwarded.
    pub forward_webhooks: bool,
    /// Creation time (UTC, millisecond precision).
    pub created_at: Timestamp,
    /// Last update time (UTC, millisecond precision).
    pub updated_at: Timestamp,
}

/// `{"data": integration}`.
#[derive(Debug, Clone, Object)]
pub struct IntegrationEnvelope {
    /// The integration.
    pub data: IntegrationResponse,
}

/// `{"data": [integration, ...]}`.
#[derive(Debug, Clone, Object)]
pub struct IntegrationListEnvelope {
    /// The integrations, ordered by provider then creation time.
    pub data: Vec<IntegrationResponse>,
}

/// Result of a deletion.
#[derive(Debug, Clone, Object)]
pub struct DeleteIntegrationResponse {
    /// Always true.
    pub success: bool,
}

/// Optional parts of an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum IntegrationInclude {
    Webhook,
    Credentials,
}

fn maybe<T, U>(value: Option<Option<T>>, f: impl FnOnce(T) -> U) -> MaybeUndefined<U> {
    match value {
        None => MaybeUndefined::Undefined,
        Some(None) => MaybeUndefined::Null,
        Some(Some(v)) => MaybeUndefined::Value(f(v)),
    }
}

impl From<AppCredentials> for IntegrationCredentials {
    fn from(c: AppCredentials) -> Self {
        let oauth = matches!(c.kind.as_str(), "OAUTH1" | "OAUTH2" | "TBA");
        let nullable = |v: Option<String>| if oauth { maybe(Some(v), |s| s) } else { MaybeUndefined::Undefined };
        Self {
            scopes: nullable(c.scopes),
            webhook_secret: nullable(c.webhook_secret),
            kind: c.kind,
            client_id: c.client_id,
            client_secret: c.client_secret,
            app_id: c.app_id,
            app_link: c.app_link,
            private_key: c.private_key,
        }
    }
}

impl From<IntegrationView> for IntegrationResponse {
    fn from(v: IntegrationView) -> Self {
        Self {
            unique_key: v.unique_key,
            provider: v.provider,
            display_name: v.display_name,
            logo: v.logo,
            credentials_label: v.credentials_label.map(|api_key| CredentialsLabel { api_key }),
            preconfigured_credentials: v.preconfigured_credentials,
            webhook_url: maybe(v.webhook_url, |s| s),
            credentials: maybe(v.credentials, IntegrationCredentials::from),
            forward_webhooks: v.forward_webhooks,
            created_at: super::types::Ts(v.created_at),
            updated_at: super::types::Ts(v.updated_at),
        }
    }
}

fn credentials_field(o: &mut Obj<'_>) -> Option<AppCredentials> {
    let value = o.raw("credentials")?;
    let path = [o.path(), &["credentials".to_owned()]].concat();
    let (credentials, issues) = validate::credentials(value, &path);
    o.extend(issues);
    credentials
}

pub(crate) fn parse_create(value: Option<&serde_json::Value>) -> Result<NewIntegration, ApiError> {
    let mut o = Obj::new(value, vec![]);
    let input = NewIntegration {
        provider: o.string("provider", &PROVIDER, true).unwrap_or_default(),
        unique_key: o.string("unique_key", &UNIQUE_KEY, true).unwrap_or_default(),
        display_name: o.string("display_name", &DISPLAY_NAME, false),
        forward_webhooks: o.boolean("forward_webhooks"),
        credentials: credentials_field(&mut o),
        integration_config: o.string_record("integration_config", Some(8192)),
        custom: o.string_record("custom", None),
    };
    validate::done(input, o.finish(), Code::InvalidBody)
}

pub(crate) fn parse_update(value: Option<&serde_json::Value>) -> Result<IntegrationPatch, ApiError> {
    let mut o = Obj::new(value, vec![]);
    let patch = IntegrationPatch {
        unique_key: o.string("unique_key", &UNIQUE_KEY, false),
        display_name: o.string("display_name", &DISPLAY_NAME, false),
        forward_webhooks: o.boolean("forward_webhooks"),
        credentials: credentials_field(&mut o),
        integration_config: o.string_record("integration_config", Some(8192)),
        custom: o.string_record("custom", None),
    };
    validate::done(patch, o.finish(), Code::InvalidBody)
}

fn parse_include(pairs: &[(String, String)]) -> (Include, Vec<ValidationIssue>) {
    let mut include = Include::default();
    let mut valid = true;
    for (_, value) in pairs.iter().filter(|(k, _)| k == "include") {
        match value.as_str() {
            "webhook" => include.webhook = true,
            "credentials" => include.credentials = true,
            _ => valid = false,
        }
    }
    let issues = if valid {
        Vec::new()
    } else {
        vec![ValidationIssue {
            code: "invalid_union".to_owned(),
            message: "Invalid input".to_owned(),
            path: vec!["include".to_owned()],
        }]
    };
    (include, issues)
}

/// Nango's Integrations API.
pub struct IntegrationApi;

#[OpenApi(tag = "ApiTags::Integrations")]
impl IntegrationApi {
    /// List integrations
    ///
    /// Lists the integrations of the environment of the key, ordered by provider then creation
    /// time. Configuration values and credentials are never included. With a connect session
    /// token, only the integrations the session allows are listed.
    #[oai(path = "/integrations", method = "get", operation_id = "list_integrations")]
    async fn list_integrations(
        &self,
        auth: SecretKeyOrSession,
        state: Data<&AppState>,
        req: &Request,
    ) -> Result<Json<IntegrationListEnvelope>, ApiError> {
        validate::empty_query(req.uri().query())?;
        let mut views = svc::list(&state.ctx, &auth.0.env).await?;
        if let Some(session) = &auth.0.session {
            views.retain(|v| session.allows(&v.unique_key));
        }
        Ok(Json(IntegrationListEnvelope { data: views.into_iter().map(Into::into).collect() }))
    }

    /// Create an integration
    ///
    /// Creates an integration of a provider. For `private-api-generic`, `integration_config`
    /// says where the API key goes (`keyPlacement`, `keyName`, `valueTemplate`), to which API
    /// (`baseUrl`) and how the Connect UI labels it (`keyLabel`). Answers 200, as Nango does.
    /// Providers whose auth mode is not API_KEY or BASIC are listed by `/providers` but get
    /// 400 `unsupported_auth_mode` here.
    #[oai(path = "/integrations", method = "post", operation_id = "create_integration")]
    async fn create_integration(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<CreateIntegrationRequest>,
    ) -> Result<Json<IntegrationEnvelope>, ApiError> {
        validate::empty_query(req.uri().query())?;
        let input = parse_create(body.value())?;
        crate::request_id::set_subject(Some(&input.unique_key), None);
        let view = svc::create(&state.ctx, &auth.0, input).await?;
        Ok(Json(IntegrationEnvelope { data: view.into() }))
    }

    /// Get an integration
    ///
    /// Returns one integration. `include=webhook` adds `webhook_url`, `include=credentials`
    /// adds the developer-app `credentials` (null for API-key and basic-auth providers); the
    /// parameter may be repeated.
    #[oai(path = "/integrations/:uniqueKey", method = "get", operation_id = "get_integration")]
    async fn get_integration(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// The integration's key.
        #[oai(name = "uniqueKey")]
        unique_key: Path<String>,
        /// Optional parts to include.
        #[oai(name = "include")]
        _include: poem_openapi::param::Query<DocOnly<Vec<IntegrationInclude>>>,
    ) -> Result<Json<IntegrationEnvelope>, ApiError> {
        let pairs = validate::strict_query(req.uri().query(), &["include"], |pairs| parse_include(pairs).1)?;
        let (include, _) = parse_include(&pairs);
        validate::path_param("uniqueKey", &unique_key, &UNIQUE_KEY)?;
        let view = svc::get(&state.ctx, &auth.0, &unique_key, include).await?;
        Ok(Json(IntegrationEnvelope { data: view.into() }))
    }

    /// Update an integration
    ///
    /// Changes only the submitted fields: rename (`unique_key`), `display_name`,
    /// `forward_webhooks`, credentials, and `integration_config` values, which are merged into
    /// the stored ones. Takes effect on the next proxied request.
    #[oai(path = "/integrations/:uniqueKey", method = "patch", operation_id = "update_integration")]
    async fn update_integration(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// The integration's key.
        #[oai(name = "uniqueKey")]
        unique_key: Path<String>,
        body: JsonBody<UpdateIntegrationRequest>,
    ) -> Result<Json<IntegrationEnvelope>, ApiError> {
        validate::empty_query(req.uri().query())?;
        let patch = parse_update(body.value())?;
        validate::path_param("uniqueKey", &unique_key, &UNIQUE_KEY)?;
        let view = svc::update(&state.ctx, &auth.0, &unique_key, patch).await?;
        Ok(Json(IntegrationEnvelope { data: view.into() }))
    }

    /// Delete an integration
    ///
    /// Deletes the integration; its key can be reused afterwards. Answers 200 with
    /// `{"success": true}`, as Nango does.
    #[oai(path = "/integrations/:uniqueKey", method = "delete", operation_id = "delete_integration")]
    async fn delete_integration(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// The integration's key.
        #[oai(name = "uniqueKey")]
        unique_key: Path<String>,
    ) -> Result<Json<DeleteIntegrationResponse>, ApiError> {
        validate::empty_query(req.uri().query())?;
        validate::path_param("uniqueKey", &unique_key, &UNIQUE_KEY)?;
        svc::delete(&state.ctx, &auth.0, &unique_key).await?;
        Ok(Json(DeleteIntegrationResponse { success: true }))
    }
}
