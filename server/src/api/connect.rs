//! Connect sessions (`/connect/sessions`, `/connect/session`) and the Connect UI's credential
//! submission (`/api-auth/api-key/{key}`, `/api-auth/basic/{key}`).

use std::collections::HashMap;

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use serde_json::{Map, Value};

use super::{
    ApiTags,
    end_user::{EndUserRequest, EndUserResponse, OrganizationRequest, to_hash_map},
    extract::{ConnectSession, ConnectSessionQuery, JsonBody, SecretKey},
    rules::{CONNECTION_ID, end_user, object_field, tags_record, webhook_url},
    types::Timestamp,
    validate::{self, Obj, StrRule, UNIQUE_KEY, issue, path_with},
};
use crate::{
    AppState,
    error::{ApiError, Code, ValidationIssue},
    model::{
        connect::{Reconnect, StoredSession},
        connection::{Credentials, Organization},
    },
    service::connect::{self as svc, NewSession},
};

/// `POST /connect/sessions` body.
#[derive(Debug, Clone, Object)]
pub struct CreateConnectSessionRequest {
    /// The end user who will connect (required unless `tags` is given).
    #[oai(skip_serializing_if_is_none)]
    pub end_user: Option<EndUserRequest>,
    /// The end user's organization.
    #[oai(skip_serializing_if_is_none)]
    pub organization: Option<OrganizationRequest>,
    /// Integration keys the end user may connect (all when absent or empty).
    #[oai(skip_serializing_if_is_none)]
    pub allowed_integrations: Option<Vec<String>>,
    /// Per integration key: `connection_config` values pre-set for the connection.
    #[oai(skip_serializing_if_is_none)]
    pub integrations_config_defaults: Option<HashMap<String, Value>>,
    /// Per integration key: `docs_connect` (a documentation link shown in the Connect UI).
    #[oai(skip_serializing_if_is_none)]
    pub overrides: Option<HashMap<String, Value>>,
    /// Webhook URL for the connections created through this session.
    #[oai(skip_serializing_if_is_none)]
    pub webhook_url_override: Option<String>,
    /// Tags given to the connection (at most 10 keys).
    #[oai(skip_serializing_if_is_none)]
    pub tags: Option<HashMap<String, String>>,
}

/// `POST /connect/sessions/reconnect` body.
#[derive(Debug, Clone, Object)]
pub struct ReconnectSessionRequest {
    /// The connection to reconnect.
    pub connection_id: String,
    /// Its integration's key.
    pub integration_id: String,
    /// The end user (replaces the connection's).
    #[oai(skip_serializing_if_is_none)]
    pub end_user: Option<EndUserRequest>,
    /// The end user's organization.
    #[oai(skip_serializing_if_is_none)]
    pub organization: Option<OrganizationRequest>,
    /// Per integration key: `connection_config` values pre-set for the connection.
    #[oai(skip_serializing_if_is_none)]
    pub integrations_config_defaults: Option<HashMap<String, Value>>,
    /// Per integration key: `docs_connect`.
    #[oai(skip_serializing_if_is_none)]
    pub overrides: Option<HashMap<String, Value>>,
    /// Webhook URL for the connection.
    #[oai(skip_serializing_if_is_none)]
    pub webhook_url_override: Option<String>,
    /// Tags given to the connection (replace its tags).
    #[oai(skip_serializing_if_is_none)]
    pub tags: Option<HashMap<String, String>>,
}

/// A new connect session.
#[derive(Debug, Clone, Object)]
pub struct ConnectSessionCreated {
    /// The session token (`nango_connect_session_` and 64 hex characters), shown only here.
    pub token: String,
    /// The Connect UI link to give the end user.
    pub connect_link: String,
    /// When the session ends (30 minutes after creation).
    pub expires_at: Timestamp,
}

/// `{"data": {...}}` around a new session.
#[derive(Debug, Clone, Object)]
pub struct ConnectSessionCreatedEnvelope {
    /// The session.
    pub data: ConnectSessionCreated,
}

/// 201 with the new session.
#[derive(Debug, ApiResponse)]
pub enum SessionCreated {
    /// The session was created.
    #[oai(status = 201)]
    Created(Json<ConnectSessionCreatedEnvelope>),
}

/// Colours of one theme of the Connect UI.
#[derive(Debug, Clone, Object)]
pub struct ThemeColors {
    /// The primary colour (CSS hex).
    pub primary: String,
}

/// Light and dark colours.
#[derive(Debug, Clone, Object)]
pub struct Themes {
    /// Light theme.
    pub light: ThemeColors,
    /// Dark theme.
    pub dark: ThemeColors,
}

/// Presentation settings of the Connect UI.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ConnectUiSettings {
    /// Theme colours.
    pub theme: Themes,
    /// `system`, `light` or `dark`.
    pub default_theme: String,
    /// Whether the UI shows a "secured by" watermark.
    pub show_watermark: bool,
}

/// A session as its token holder (the Connect UI) sees it.
#[derive(Debug, Clone, Object)]
pub struct ConnectSessionView {
    /// The end user, or null.
    #[oai(rename = "endUser", nullable)]
    pub end_user: Option<EndUserResponse>,
    /// Integration keys the session may connect (absent: any).
    #[oai(skip_serializing_if_is_none)]
    pub allowed_integrations: Option<Vec<String>>,
    /// Per integration key: pre-set values.
    #[oai(skip_serializing_if_is_none)]
    pub integrations_config_defaults: Option<HashMap<String, Value>>,
    /// Present and true for reconnect sessions.
    #[oai(rename = "isReconnecting", skip_serializing_if_is_none)]
    pub is_reconnecting: Option<bool>,
    /// Per integration key: overrides.
    #[oai(skip_serializing_if_is_none)]
    pub overrides: Option<HashMap<String, Value>>,
    /// Presentation settings.
    #[oai(rename = "connectUISettings")]
    pub connect_ui_settings: ConnectUiSettings,
    /// Nango's websocket path (unused here, kept for clients that read it).
    #[oai(rename = "websocketsPath")]
    pub websockets_path: String,
}

/// `{"data": {...}}` around a session.
#[derive(Debug, Clone, Object)]
pub struct ConnectSessionEnvelope {
    /// The session.
    pub data: ConnectSessionView,
}

/// 204 after deleting the session.
#[derive(Debug, ApiResponse)]
pub enum SessionDeleted {
    /// The session is gone; its token no longer works.
    #[oai(status = 204)]
    Deleted,
}

/// An API key submitted by the end user.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ApiKeySubmission {
    /// The API key (1 to 1024 characters).
    pub api_key: String,
}

/// A username and password submitted by the end user.
#[derive(Debug, Clone, Object)]
pub struct BasicSubmission {
    /// The username (at most 1024 characters).
    pub username: String,
    /// The password (at most 1024 characters).
    pub password: String,
}

/// The connection a submission created.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ConnectedResponse {
    /// Its connection id (new, or the reconnected one).
    pub connection_id: String,
    /// Its integration's key.
    pub provider_config_key: String,
}

const KEY_RULE: StrRule = StrRule { pattern: None, min: Some(1), max: Some(255) };

fn organization(value: Option<&Value>, path: Vec<String>) -> (Option<Organization>, Vec<ValidationIssue>) {
    let Some(value) = value else { return (None, Vec::new()) };
    let mut o = Obj::new(Some(value), path);
    let id = o.string("id", &StrRule { pattern: None, min: None, max: Some(255) }, true);
    let display_name = o.string("display_name", &StrRule { pattern: None, min: None, max: Some(255) }, false);
    let issues = o.finish();
    (id.filter(|_| issues.is_empty()).map(|id| Organization { id, display_name }), issues)
}

/// A record keyed by integration key whose values are strict objects of `allowed` fields.
fn keyed_record(o: &mut Obj<'_>, name: &'static str, allowed: &[&'static str]) -> Option<Map<String, Value>> {
    let map = object_field(o, name)?;
    let path = path_with(o.path(), name);
    let mut issues = Vec::new();
    for (key, value) in &map {
        let mut inner = Obj::new(Some(value), path_with(&path, key));
        for field in allowed {
            let _ = inner.raw(field);
        }
        issues.extend(inner.finish());
    }
    o.extend(issues);
    Some(map)
}

/// The fields shared by new and reconnect sessions.
fn session_fields(o: &mut Obj<'_>) -> NewSession {
    let (mut user, user_issues) = end_user(o.raw("end_user"), vec!["end_user".to_owned()]);
    o.extend(user_issues);
    let (org, org_issues) = organization(o.raw("organization"), vec!["organization".to_owned()]);
    o.extend(org_issues);
    if let Some(user) = user.as_mut() {
        user.organization = org;
    }
    let defaults =
        keyed_record(o, "integrations_config_defaults", &["user_scopes", "authorization_params", "connection_config"]);
    let overrides = keyed_record(o, "overrides", &["docs_connect"]);
    let webhook = o.string("webhook_url_override", &StrRule::default(), false);
    let (webhook_url_override, webhook_issues) = webhook_url(webhook, vec!["webhook_url_override".to_owned()]);
    o.extend(webhook_issues);
    let (tags, tag_issues) = tags_record(o.raw("tags"), vec!["tags".to_owned()], false);
    o.extend(tag_issues);
    NewSession {
        end_user: user,
        allowed_integrations: None,
        integrations_config_defaults: defaults,
        overrides,
        webhook_url_override,
        tags,
    }
}

pub(crate) fn parse_new_session(value: Option<&Value>) -> Result<NewSession, ApiError> {
    let mut o = Obj::new(value, vec![]);
    let has_tags = value.and_then(|v| v.get("tags")).is_some();
    if !has_tags && value.is_some_and(Value::is_object) && value.and_then(|v| v.get("end_user")).is_none() {
        o.extend(vec![issue(
            "invalid_type",
            "Invalid input: expected object, received undefined",
            vec!["end_user".to_owned()],
        )]);
    }
    let allowed = match o.raw("allowed_integrations") {
        None => None,
        Some(Value::Array(items)) => {
            let mut keys = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let path = vec!["allowed_integrations".to_owned(), i.to_string()];
                match item {
                    Value::String(s) => {
                        let found = validate::check_str(s, &UNIQUE_KEY, &path);
                        if found.is_empty() {
                            keys.push(s.clone());
                        }
                        o.extend(found);
                    }
                    other => o.extend(vec![issue(
                        "invalid_type",
                        format!("Invalid input: expected string, received {}", validate::js_type(Some(other))),
                        path,
                    )]),
                }
            }
            Some(keys)
        }
        Some(other) => {
            o.extend(vec![issue(
                "invalid_type",
                format!("Invalid input: expected array, received {}", validate::js_type(Some(other))),
                vec!["allowed_integrations".to_owned()],
            )]);
            None
        }
    };
    let mut session = session_fields(&mut o);
    session.allowed_integrations = allowed;
    validate::done(session, o.finish(), Code::InvalidBody)
}

fn parse_reconnect(value: Option<&Value>) -> Result<(NewSession, Reconnect), ApiError> {
    let mut o = Obj::new(value, vec![]);
    let connection_id = o.string("connection_id", &CONNECTION_ID, true);
    let integration_id = o.string("integration_id", &UNIQUE_KEY, true);
    let session = session_fields(&mut o);
    let issues = o.finish();
    match (connection_id, integration_id) {
        (Some(connection_id), Some(integration)) if issues.is_empty() => {
            Ok((session, Reconnect { integration, connection_id }))
        }
        _ => Err(ApiError::issues(Code::InvalidBody, issues)),
    }
}

fn created(s: svc::CreatedSession) -> SessionCreated {
    SessionCreated::Created(Json(ConnectSessionCreatedEnvelope {
        data: ConnectSessionCreated {
            token: s.token,
            connect_link: s.connect_link,
            expires_at: super::types::Ts(s.expires_at),
        },
    }))
}

fn view(session: &StoredSession) -> ConnectSessionView {
    let s = &session.settings;
    let colors = || ThemeColors { primary: "#00B2E3".to_owned() };
    ConnectSessionView {
        end_user: s.end_user.as_ref().map(EndUserResponse::from),
        allowed_integrations: s.allowed_integrations.clone(),
        integrations_config_defaults: s.integrations_config_defaults.as_ref().map(to_hash_map),
        is_reconnecting: session.reconnect.is_some().then_some(true),
        overrides: s.overrides.as_ref().map(to_hash_map),
        connect_ui_settings: ConnectUiSettings {
            theme: Themes { light: colors(), dark: colors() },
            default_theme: "system".to_owned(),
            show_watermark: false,
        },
        websockets_path: "/".to_owned(),
    }
}

fn connected(c: svc::Connected) -> Json<ConnectedResponse> {
    Json(ConnectedResponse { connection_id: c.connection_id, provider_config_key: c.provider_config_key })
}

/// Connect sessions and the Connect UI's credential submission.
pub struct ConnectApi;

#[OpenApi(tag = "ApiTags::Connect")]
impl ConnectApi {
    /// Create a connect session
    ///
    /// Creates a 30-minute session for one of your end users and returns its token and the
    /// link to the Connect UI, where the end user enters their credential. `end_user` is
    /// required unless `tags` is given; every integration named must exist.
    #[oai(path = "/connect/sessions", method = "post", operation_id = "create_connect_session")]
    async fn create_connect_session(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<CreateConnectSessionRequest>,
    ) -> Result<SessionCreated, ApiError> {
        validate::empty_query(req.uri().query())?;
        let input = parse_new_session(body.value())?;
        Ok(created(svc::create(&state.ctx, &auth.0, input, None).await?))
    }

    /// Create a reconnect session
    ///
    /// Creates a session bound to an existing connection: the credential the end user enters
    /// replaces the connection's (its metadata is reset and its tags replaced by the
    /// session's, as in Nango).
    #[oai(path = "/connect/sessions/reconnect", method = "post", operation_id = "create_reconnect_session")]
    async fn create_reconnect_session(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<ReconnectSessionRequest>,
    ) -> Result<SessionCreated, ApiError> {
        validate::empty_query(req.uri().query())?;
        let (input, reconnect) = parse_reconnect(body.value())?;
        Ok(created(svc::create(&state.ctx, &auth.0, input, Some(reconnect)).await?))
    }

    /// Get the connect session
    ///
    /// The session of the connect session token in `Authorization` (what the Connect UI reads
    /// first).
    #[oai(path = "/connect/session", method = "get", operation_id = "get_connect_session")]
    async fn get_connect_session(
        &self,
        auth: ConnectSession,
        req: &Request,
    ) -> Result<Json<ConnectSessionEnvelope>, ApiError> {
        validate::empty_query(req.uri().query())?;
        Ok(Json(ConnectSessionEnvelope { data: view(&auth.1) }))
    }

    /// Delete the connect session
    ///
    /// Ends the session of the token in `Authorization`; the token stops working.
    #[oai(path = "/connect/session", method = "delete", operation_id = "delete_connect_session")]
    async fn delete_connect_session(
        &self,
        auth: ConnectSession,
        state: Data<&AppState>,
        req: &Request,
    ) -> Result<SessionDeleted, ApiError> {
        validate::empty_query(req.uri().query())?;
        svc::delete(&state.ctx, &auth.1).await?;
        Ok(SessionDeleted::Deleted)
    }

    /// Submit an API key (Connect UI)
    ///
    /// Creates the connection of the session's end user with this API key (or replaces the
    /// reconnect session's connection). The key is in the body only. Authenticated by the
    /// `connect_session_token` query parameter; `params[name]=value` parameters become the
    /// connection's configuration.
    #[oai(path = "/api-auth/api-key/:providerConfigKey", method = "post", operation_id = "submit_api_key")]
    async fn submit_api_key(
        &self,
        auth: ConnectSessionQuery,
        state: Data<&AppState>,
        /// The integration's key.
        #[oai(name = "providerConfigKey")]
        provider_config_key: Path<String>,
        /// The connect session token (also described as this operation's security scheme,
        /// so clients that ignore security schemes still send it).
        #[oai(name = "connect_session_token")]
        _token: poem_openapi::param::Query<String>,
        body: JsonBody<ApiKeySubmission>,
    ) -> Result<Json<ConnectedResponse>, ApiError> {
        let ConnectSessionQuery { env, session, params } = auth;
        let mut o = Obj::new(body.value(), vec![]);
        let api_key = o.string("apiKey", &StrRule { pattern: None, min: Some(1), max: Some(1024) }, true);
        let api_key = validate::done(api_key, o.finish(), Code::InvalidBody)?.unwrap_or_default();
        let credentials = Credentials::ApiKey { api_key };
        validate::done((), super::rules::credential_issues(&credentials, &[]), Code::InvalidBody)?;
        validate::path_param("providerConfigKey", &provider_config_key, &KEY_RULE)?;
        let c = svc::submit(&state.ctx, &env, &session, &provider_config_key, credentials, params).await?;
        Ok(connected(c))
    }

    /// Submit a username and password (Connect UI)
    ///
    /// Like `submit_api_key`, for integrations whose provider uses HTTP Basic authentication.
    #[oai(path = "/api-auth/basic/:providerConfigKey", method = "post", operation_id = "submit_basic")]
    async fn submit_basic(
        &self,
        auth: ConnectSessionQuery,
        state: Data<&AppState>,
        /// The integration's key.
        #[oai(name = "providerConfigKey")]
        provider_config_key: Path<String>,
        /// The connect session token (also described as this operation's security scheme,
        /// so clients that ignore security schemes still send it).
        #[oai(name = "connect_session_token")]
        _token: poem_openapi::param::Query<String>,
        body: JsonBody<BasicSubmission>,
    ) -> Result<Json<ConnectedResponse>, ApiError> {
        let ConnectSessionQuery { env, session, params } = auth;
        let mut o = Obj::new(body.value(), vec![]);
        let rule = StrRule { pattern: None, min: None, max: Some(1024) };
        let username = o.string("username", &rule, true);
        let password = o.string("password", &rule, true);
        let (username, password) = validate::done((username, password), o.finish(), Code::InvalidBody)?;
        validate::path_param("providerConfigKey", &provider_config_key, &KEY_RULE)?;
        let credentials =
            Credentials::Basic { username: username.unwrap_or_default(), password: password.unwrap_or_default() };
        validate::done((), super::rules::credential_issues(&credentials, &[]), Code::InvalidBody)?;
        let c = svc::submit(&state.ctx, &env, &session, &provider_config_key, credentials, params).await?;
        Ok(connected(c))
    }
}
