//! The one place that maps errors to HTTP: the code table, the error envelope shared by every
//! operation, and the exhaustive conversion from service errors.

#![warn(clippy::wildcard_enum_match_arm)]

use poem::{IntoResponse, http::StatusCode};
use poem_openapi::{ApiResponse, Object, payload::Json};

use crate::service;

/// One row per error code: the wire `code`, the HTTP status and the default message.
/// Codes match Nango's where Nango has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidJson,
    InvalidContentType,
    PayloadTooLarge,
    MissingAuthHeader,
    MalformedAuthHeader,
    InvalidSecretKeyFormat,
    UnknownAccount,
    InvalidConnectSessionTokenFormat,
    UnknownConnectSessionToken,
    MissingPublicKey,
    InvalidQueryParams,
    InvalidBody,
    InvalidUriParams,
    NotFound,
    UnknownProviderConfig,
    ProxyUnknownIntegration,
    ProxyUnknownConnection,
    UnsupportedProvider,
    UnsupportedAuthMode,
    InvalidHeaders,
    BaseUrlOverrideNotAllowed,
    UpstreamUnreachable,
    UpstreamTimeout,
    UnknownConnection,
    ConnectionNotFound,
    IntegrationNotAllowed,
    InvalidAuthMode,
    ConnectionTestFailed,
    ConnectUnknownIntegration,
    TooManyRequest,
    ServerError,
    UnknownProvider,
    DisabledResource,
    ActionScriptRuntimeError,
    ActionScriptFailure,
    ScriptInternalError,
    ScriptNetworkError,
    ScriptHttpError,
    ScriptOutputTooLarge,
    InvalidActionInput,
    InvalidActionOutput,
    InvalidProxyPath,
    SyncUnknownConnection,
    NoSyncsFound,
    UnknownSync,
    MissingProviderConfigKey,
    RequestTimeout,
}

impl Code {
    /// `(code, status, default message)` for this row of the table.
    pub const fn row(self) -> (&'static str, StatusCode, Option<&'static str>) {
        use StatusCode as S;
        match self {
            Self::InvalidJson => ("invalid_json", S::BAD_REQUEST, Some("The request body is not valid JSON.")),
            Self::InvalidContentType => (
                "invalid_content_type",
                S::UNSUPPORTED_MEDIA_TYPE,
                Some("Content-Type header must be application/json"),
            ),
            Self::PayloadTooLarge => ("payload_too_large", S::PAYLOAD_TOO_LARGE, None),
            Self::MissingAuthHeader => (
                "missing_auth_header",
                S::UNAUTHORIZED,
                Some("Authentication failed. The request is missing the Authorization header."),
            ),
            Self::MalformedAuthHeader => (
                "malformed_auth_header",
                S::UNAUTHORIZED,
                Some("Authentication failed. The Authorization header is malformed."),
            ),
            Self::InvalidSecretKeyFormat => (
                "invalid_secret_key_format",
                S::UNAUTHORIZED,
                Some("Authentication failed. The provided secret key is not a UUID v4."),
            ),
            Self::UnknownAccount => (
                "unknown_account",
                S::UNAUTHORIZED,
                Some("Authentication failed. The provided authorization header does not match any account."),
            ),
            Self::InvalidConnectSessionTokenFormat => (
                "invalid_connect_session_token_format",
                S::UNAUTHORIZED,
                Some(
                    "Authentication failed. The provided connect session token is not following correct format: nango_connect_session_RANDOM)",
                ),
            ),
            Self::UnknownConnectSessionToken => (
                "unknown_connect_session_token",
                S::UNAUTHORIZED,
                Some("Authentication failed. The provided connect session token does not match any account."),
            ),
            Self::MissingPublicKey => (
                "missing_public_key",
                S::UNAUTHORIZED,
                Some("Authentication failed. The request is missing a valid public key parameter."),
            ),
            Self::InvalidQueryParams => ("invalid_query_params", S::BAD_REQUEST, None),
            Self::InvalidBody => ("invalid_body", S::BAD_REQUEST, None),
            Self::InvalidUriParams => ("invalid_uri_params", S::BAD_REQUEST, None),
            Self::NotFound => ("not_found", S::NOT_FOUND, None),
            Self::UnknownProviderConfig => ("unknown_provider_config", S::BAD_REQUEST, None),
            Self::ProxyUnknownIntegration => (
                "unknown_provider_config",
                S::NOT_FOUND,
                Some(
                    "Provider config not found for the given provider config key. Please make sure the provider config exists in the Nango dashboard.",
                ),
            ),
            // Nango's quirk: an unknown connection on the proxy is a 400 `server_error`.
            Self::ProxyUnknownConnection => ("server_error", S::BAD_REQUEST, Some("Failed to get connection")),
            Self::UnsupportedProvider => ("unsupported_provider", S::BAD_REQUEST, Some("unsupported_provider")),
            Self::UnsupportedAuthMode => ("unsupported_auth_mode", S::BAD_REQUEST, None),
            Self::InvalidHeaders => ("invalid_headers", S::BAD_REQUEST, None),
            Self::BaseUrlOverrideNotAllowed => (
                "base_url_override_not_allowed",
                S::BAD_REQUEST,
                Some("This outbound URL is not allowed by server configuration."),
            ),
            Self::UpstreamUnreachable => {
                ("upstream_unreachable", S::BAD_GATEWAY, Some("The upstream API could not be reached."))
            }
            Self::UpstreamTimeout => {
                ("upstream_timeout", S::GATEWAY_TIMEOUT, Some("The upstream API did not answer in time."))
            }
            // Nango answers 400 without a message when deleting an unknown connection...
            Self::UnknownConnection => ("unknown_connection", S::BAD_REQUEST, None),
            // ...and 404 with a message when writing metadata of one.
            Self::ConnectionNotFound => ("unknown_connection", S::NOT_FOUND, None),
            // The Connect UI's credential submission (`/api-auth/...`) answers bare codes.
            Self::IntegrationNotAllowed => ("integration_not_allowed", S::BAD_REQUEST, None),
            Self::InvalidAuthMode => ("invalid_auth_mode", S::BAD_REQUEST, None),
            Self::ConnectionTestFailed => (
                "connection_test_failed",
                S::BAD_REQUEST,
                Some("The given credentials were found to be invalid. Please check the credentials and try again."),
            ),
            Self::ConnectUnknownIntegration => ("unknown_provider_config", S::NOT_FOUND, None),
            Self::UnknownProvider => ("unknown_provider", S::BAD_REQUEST, Some("Failed to find provider")),
            Self::DisabledResource => ("disabled_resource", S::NOT_FOUND, Some("The action is disabled")),
            Self::ActionScriptRuntimeError => (
                "action_script_runtime_error",
                S::INTERNAL_SERVER_ERROR,
                Some("The action script failed with a runtime error"),
            ),
            Self::ActionScriptFailure => ("action_script_failure", S::INTERNAL_SERVER_ERROR, None),
            Self::ScriptInternalError => (
                "script_internal_error",
                S::INTERNAL_SERVER_ERROR,
                Some("An internal error occurred during the script execution"),
            ),
            Self::ScriptNetworkError => {
                ("script_network_error", S::INTERNAL_SERVER_ERROR, Some("A network error occurred during an HTTP call"))
            }
            Self::ScriptHttpError => ("script_http_error", S::FAILED_DEPENDENCY, None),
            Self::ScriptOutputTooLarge => {
                ("script_output_too_large", S::BAD_REQUEST, Some("Script output is too large"))
            }
            Self::InvalidActionInput => {
                ("invalid_action_input", S::BAD_REQUEST, Some("Failed to validate the input passed to the action"))
            }
            Self::SyncUnknownConnection => (
                "unknown_connection",
                S::NOT_FOUND,
                Some("No connection matching the provided params of 'connection_id' and 'provider_config_key'."),
            ),
            Self::NoSyncsFound => ("no_syncs_found", S::BAD_REQUEST, Some("No syncs found given the inputs.")),
            Self::UnknownSync => ("unknown_sync", S::BAD_REQUEST, None),
            Self::RequestTimeout => ("request_timeout", S::REQUEST_TIMEOUT, None),
            Self::MissingProviderConfigKey => (
                "missing_provider_config_key",
                S::BAD_REQUEST,
                Some("Missing provider_config_key. Provide it in the body or headers."),
            ),
            Self::InvalidProxyPath => (
                "invalid_proxy_path",
                S::BAD_REQUEST,
                Some("The path climbs above the integration's base URL with '..' segments; nothing was sent."),
            ),
            Self::InvalidActionOutput => {
                ("invalid_action_output", S::BAD_REQUEST, Some("Failed to validate the output passed to the action"))
            }
            Self::TooManyRequest => ("too_many_request", S::TOO_MANY_REQUESTS, None),
            Self::ServerError => ("server_error", S::INTERNAL_SERVER_ERROR, Some("An internal error occurred.")),
        }
    }
}

/// The error envelope every error response uses: `{"error": {...}}`.
#[derive(Debug, Clone, Object)]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The body of an error.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// Stable, machine-readable error code (snake_case, Nango's codes), e.g. `invalid_body`,
    /// `not_found`, `unknown_account`.
    pub code: String,
    /// Human-readable explanation. Not meant to be parsed.
    #[oai(skip_serializing_if_is_none)]
    pub message: Option<String>,
    /// Validation issues, one per problem, when the request failed validation.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<ValidationIssue>>,
    /// Extra data. Authentication errors carry an empty object here, as Nango's do.
    #[oai(skip_serializing_if_is_none)]
    pub payload: Option<serde_json::Value>,
    /// The refused request's method (`too_many_request` only, as in Nango).
    #[oai(skip_serializing_if_is_none)]
    pub method: Option<String>,
    /// The refused request's path (`too_many_request` only, as in Nango).
    #[oai(skip_serializing_if_is_none)]
    pub path: Option<String>,
    /// What the upstream answered (`script_http_error` only, as in Nango): `status`,
    /// `headers` (content-type and rate-limit ones), `body`.
    #[oai(skip_serializing_if_is_none)]
    pub upstream: Option<serde_json::Value>,
}

/// One validation problem, in Nango's (zod's) vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct ValidationIssue {
    /// Issue kind, e.g. `invalid_type`, `invalid_format`, `too_big`, `unrecognized_keys`.
    pub code: String,
    /// Human-readable explanation of the issue.
    pub message: String,
    /// Location of the offending value: object keys and array indices as strings; empty for
    /// the whole object.
    pub path: Vec<String>,
}

/// Every error an operation can answer. All variants carry the same envelope, so generated
/// clients get one typed error.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is invalid (malformed JSON, failed validation, or a business rule).
    #[oai(status = 400)]
    BadRequest(Json<ErrorEnvelope>),
    /// The secret key is missing, malformed or unknown.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorEnvelope>),
    /// The resource does not exist in the key's environment.
    #[oai(status = 404)]
    NotFound(Json<ErrorEnvelope>),
    /// The request body did not arrive in time (`NANGO_REQUEST_BODY_TIMEOUT`).
    #[oai(status = 408)]
    RequestTimeout(Json<ErrorEnvelope>),
    /// The request body is larger than the configured limit.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorEnvelope>),
    /// The request has a Content-Type other than application/json.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorEnvelope>),
    /// The environment used up its requests for this minute: retry after `Retry-After`
    /// seconds (`X-RateLimit-*` headers say how many are left on every response).
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorEnvelope>),
    /// An unexpected server-side failure (details are in the server log, never in the body).
    #[oai(status = 500)]
    Internal(Json<ErrorEnvelope>),
    /// The proxy could not reach the upstream API.
    #[oai(status = 502)]
    BadGateway(Json<ErrorEnvelope>),
    /// The upstream API did not answer in time.
    #[oai(status = 504)]
    GatewayTimeout(Json<ErrorEnvelope>),
}

impl ApiError {
    fn build(code: Code, message: Option<String>, errors: Option<Vec<ValidationIssue>>, payload: bool) -> Self {
        let (wire, status, default) = code.row();
        crate::request_id::note_error(wire, status.as_u16());
        let body = ErrorBody {
            code: wire.to_owned(),
            message: message.or_else(|| default.map(str::to_owned)),
            errors,
            payload: payload.then(|| serde_json::json!({})),
            method: None,
            path: None,
            upstream: None,
        };
        let json = Json(ErrorEnvelope { error: body });
        match status {
            StatusCode::BAD_REQUEST => Self::BadRequest(json),
            StatusCode::UNAUTHORIZED => Self::Unauthorized(json),
            StatusCode::NOT_FOUND => Self::NotFound(json),
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge(json),
            StatusCode::REQUEST_TIMEOUT => Self::RequestTimeout(json),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType(json),
            StatusCode::BAD_GATEWAY => Self::BadGateway(json),
            StatusCode::GATEWAY_TIMEOUT => Self::GatewayTimeout(json),
            StatusCode::TOO_MANY_REQUESTS => Self::TooManyRequests(json),
            _ => Self::Internal(json),
        }
    }

    /// An error with the table's default message.
    pub fn code(code: Code) -> Self {
        Self::build(code, None, None, false)
    }

    /// An error with only a code (Nango sends some without a message).
    pub fn bare(code: Code) -> Self {
        Self::build(code, None, None, false)
    }

    /// An error with a specific message.
    pub fn message(code: Code, message: impl Into<String>) -> Self {
        Self::build(code, Some(message.into()), None, false)
    }

    /// A validation error listing issues.
    pub fn issues(code: Code, issues: Vec<ValidationIssue>) -> Self {
        Self::build(code, None, Some(issues), false)
    }

    /// An authentication error, shaped like Nango's (`message`, `code`, `payload: {}`).
    pub fn auth(code: Code) -> Self {
        Self::build(code, None, None, true)
    }

    /// Nango's rate-limit refusal: `too_many_request` with the request's method and path.
    pub fn rate_limited(method: &str, path: &str) -> Self {
        let mut err = Self::bare(Code::TooManyRequest);
        if let Self::TooManyRequests(json) = &mut err {
            json.0.error.method = Some(method.to_owned());
            json.0.error.path = Some(path.to_owned());
        }
        err
    }

    /// An error whose `payload` carries details (function failures).
    pub fn with_payload(code: Code, message: Option<String>, payload: serde_json::Value) -> Self {
        let mut err = Self::build(code, message, None, false);
        err.envelope_mut().error.payload = Some(payload);
        err
    }

    fn envelope_mut(&mut self) -> &mut ErrorEnvelope {
        match self {
            Self::BadRequest(j)
            | Self::Unauthorized(j)
            | Self::NotFound(j)
            | Self::PayloadTooLarge(j)
            | Self::RequestTimeout(j)
            | Self::UnsupportedMediaType(j)
            | Self::Internal(j)
            | Self::BadGateway(j)
            | Self::GatewayTimeout(j)
            | Self::TooManyRequests(j) => &mut j.0,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The envelope carried by this error.
    pub fn envelope(&self) -> &ErrorEnvelope {
        match self {
            Self::BadRequest(j)
            | Self::Unauthorized(j)
            | Self::NotFound(j)
            | Self::PayloadTooLarge(j)
            | Self::RequestTimeout(j)
            | Self::UnsupportedMediaType(j)
            | Self::Internal(j)
            | Self::BadGateway(j)
            | Self::GatewayTimeout(j)
            | Self::TooManyRequests(j) => &j.0,
        }
    }

    /// Converts into a `poem::Error` that renders exactly this response (for middlewares and
    /// extractors, which must return `poem::Error`).
    pub fn into_poem(self) -> poem::Error {
        poem::Error::from_response(self.into_response())
    }
}

impl From<service::Error> for ApiError {
    fn from(err: service::Error) -> Self {
        use service::Error as E;
        match err {
            E::InvalidInput(message) => Self::message(Code::InvalidBody, message),
            E::InvalidField { message, path } => Self::issues(
                Code::InvalidBody,
                vec![ValidationIssue { code: "invalid_string".to_owned(), message, path }],
            ),
            E::Issues(issues) => Self::issues(
                Code::InvalidBody,
                issues
                    .into_iter()
                    .map(|i| ValidationIssue { code: i.code.to_owned(), message: i.message, path: i.path })
                    .collect(),
            ),
            E::UnsupportedAuthMode(message) => Self::message(Code::UnsupportedAuthMode, message),
            E::CustomIssue { message, path } => {
                Self::issues(Code::InvalidBody, vec![ValidationIssue { code: "custom".to_owned(), message, path }])
            }
            E::NotFound(message) => Self::message(Code::NotFound, message),
            E::ProxyUnknownIntegration => Self::code(Code::ProxyUnknownIntegration),
            E::ProxyUnknownConnection => Self::code(Code::ProxyUnknownConnection),
            E::ProxyNoBaseUrl => Self::code(Code::UnsupportedProvider),
            E::ProxyPathEscapes => Self::code(Code::InvalidProxyPath),
            E::SyncUnknownConnection => Self::code(Code::SyncUnknownConnection),
            E::NoSyncsFound => Self::code(Code::NoSyncsFound),
            E::UnknownSync => Self::bare(Code::UnknownSync),
            E::OutboundBlocked => Self::code(Code::BaseUrlOverrideNotAllowed),
            E::UpstreamTimeout => Self::code(Code::UpstreamTimeout),
            E::UpstreamUnreachable => Self::code(Code::UpstreamUnreachable),
            E::UnknownIntegration(message) => Self::message(Code::UnknownProviderConfig, message),
            E::UnknownConnection(None) => Self::bare(Code::UnknownConnection),
            E::UnknownConnection(Some(message)) => Self::message(Code::ConnectionNotFound, message),
            E::IntegrationNotAllowed => Self::bare(Code::IntegrationNotAllowed),
            E::InvalidAuthMode => Self::bare(Code::InvalidAuthMode),
            E::ConnectionTestFailed => Self::code(Code::ConnectionTestFailed),
            E::ConnectUnknownIntegration => Self::bare(Code::ConnectUnknownIntegration),
            E::ActionUnknownConnection => Self::message(Code::UnknownConnection, "Failed to find connection"),
            E::UnknownProvider => Self::code(Code::UnknownProvider),
            E::DisabledResource => Self::code(Code::DisabledResource),
            E::Internal { message, source } => {
                // Logged once here, at the boundary, with its whole chain; the client only
                // gets the operation-level message.
                tracing::error!(error = %ErrorChain(source.as_ref()), "{message}");
                Self::message(Code::ServerError, message)
            }
        }
    }
}

pub use crate::chain::ErrorChain;
