//! Extractors shared by the operations: authentication (Nango's algorithm, documented as the
//! `bearerAuth` scheme), the JSON body (parsed here, validated by the handler in Nango's
//! order), and documentation-only query parameters (validated from the raw query).

use std::marker::PhantomData;

use poem::{Request, RequestBody, http::header::AUTHORIZATION};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, MetaSchemaRef, MetaSecurityScheme, Registry},
    types::{ParseFromParameter, ParseResult, Type},
};

use crate::{
    AppState,
    config::is_uuid_v4,
    error::{ApiError, Code},
    model::{connect::StoredSession, environment::Environment},
    service::{self, connect},
};

/// Name of the security scheme in the OpenAPI document (Nango's name).
pub const SECURITY_SCHEME: &str = "bearerAuth";

use crate::service::connect::TOKEN_PREFIX as CONNECT_SESSION_PREFIX;

/// Name of the connect-session security scheme in the OpenAPI document.
pub const CONNECT_SESSION_SCHEME: &str = "connectSessionAuth";
/// Name of the query-token security scheme in the OpenAPI document.
pub const CONNECT_SESSION_QUERY_SCHEME: &str = "connectSessionToken";

/// Registers security scheme `name` (one of the three above).
fn register_scheme(registry: &mut Registry, name: &'static str) {
    let (ty, description, key_in, scheme, bearer_format) = match name {
        CONNECT_SESSION_SCHEME => (
            "http",
            "A connect session token from `POST /connect/sessions`: `Authorization: Bearer nango_connect_session_…`.",
            None,
            Some("bearer"),
            Some("nango_connect_session_<64 hex>"),
        ),
        CONNECT_SESSION_QUERY_SCHEME => (
            "apiKey",
            "A connect session token in the `connect_session_token` query parameter.",
            Some("query"),
            None,
            None,
        ),
        _ => (
            "http",
            "The environment's secret key (a UUID v4): `Authorization: Bearer <secret key>`.",
            None,
            Some("bearer"),
            Some("UUID"),
        ),
    };
    registry.create_security_scheme(
        name,
        MetaSecurityScheme {
            ty,
            description: Some(description),
            name: key_in.map(|_| "connect_session_token"),
            key_in,
            scheme,
            bearer_format,
            flows: None,
            openid_connect_url: None,
        },
    );
}

/// The token of an `Authorization` header, as Nango reads it: the text after the last
/// `Bearer ` (so a bare key without the prefix is accepted too).
fn token(req: &Request) -> Result<&str, ApiError> {
    token_of(req.headers())
}

fn token_of(headers: &poem::http::HeaderMap) -> Result<&str, ApiError> {
    let header = headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or_default()).unwrap_or_default();
    if header.is_empty() {
        return Err(ApiError::auth(Code::MissingAuthHeader));
    }
    let token = header.rsplit("Bearer ").next().unwrap_or_default();
    if token.is_empty() {
        return Err(ApiError::auth(Code::MalformedAuthHeader));
    }
    Ok(token)
}

/// Nango's authentication of a request with a secret key, as an `ApiError` on failure (the
/// extractors below turn it into a response; the proxy's plain route uses it directly).
pub async fn authenticate(req: &Request, allow_connect_session: bool) -> Result<Environment, ApiError> {
    authenticate_principal(req, allow_connect_session).await.map(|p| p.env)
}

/// Who a request acts as: an environment, through its secret key or through a connect
/// session (then limited to what the session allows).
#[derive(Debug, Clone)]
pub struct Principal {
    pub env: Environment,
    pub session: Option<StoredSession>,
}

/// Checks a connect session token (prefix already seen): Nango's two 401s.
async fn session_of(state: &AppState, req: &Request, token: &str) -> Result<(Environment, StoredSession), ApiError> {
    if !connect::is_well_formed(token) {
        return Err(ApiError::auth(Code::InvalidConnectSessionTokenFormat));
    }
    match connect::authenticate(&state.ctx, token).await {
        Ok(Some(found)) => {
            admit(state, req, &found.0)?;
            Ok(found)
        }
        Ok(None) => Err(ApiError::auth(Code::UnknownConnectSessionToken)),
        Err(e) => Err(e.into()),
    }
}

/// Nango's authentication, keeping the session when a connect session token was accepted.
pub async fn authenticate_principal(req: &Request, allow_connect_session: bool) -> Result<Principal, ApiError> {
    principal(req, allow_connect_session).await
}

/// Records the authenticated environment for the request's log and spends one point of its
/// rate limit (Nango's limiter runs after authentication).
fn admit(state: &AppState, req: &Request, env: &Environment) -> Result<(), ApiError> {
    admit_call(state, req.method().as_str(), req.uri().path(), env)
}

fn admit_call(state: &AppState, method: &str, path: &str, env: &Environment) -> Result<(), ApiError> {
    crate::request_id::set_environment(env.id, &env.name);
    if let Some(decision) = state.limiter.check(env.id.0) {
        crate::request_id::set_rate(decision);
        if decision.retry_after.is_some() {
            state.ctx.metrics.rate_limited();
            return Err(ApiError::rate_limited(method, path));
        }
    }
    Ok(())
}

async fn principal(req: &Request, allow_connect_session: bool) -> Result<Principal, ApiError> {
    let state = req.data::<AppState>().ok_or_else(|| ApiError::code(Code::ServerError))?;
    let token = token(req)?;
    if allow_connect_session && token.starts_with(CONNECT_SESSION_PREFIX) {
        let (env, session) = session_of(state, req, token).await?;
        return Ok(Principal { env, session: Some(session) });
    }
    let env = by_secret_key(state, req.method().as_str(), req.uri().path(), token).await?;
    Ok(Principal { env, session: None })
}

/// Nango's authentication with a secret key, for a request read straight from hyper (the
/// proxy's fast path): the same checks, errors and rate limit as [`authenticate`].
pub async fn authenticate_secret_key(
    state: &AppState,
    method: &str,
    path: &str,
    headers: &poem::http::HeaderMap,
) -> Result<Environment, ApiError> {
    by_secret_key(state, method, path, token_of(headers)?).await
}

/// The environment of secret key `token` (Nango's format check, then the lookup), admitted
/// by the rate limiter.
async fn by_secret_key(state: &AppState, method: &str, path: &str, token: &str) -> Result<Environment, ApiError> {
    if !is_uuid_v4(token) {
        return Err(ApiError::auth(Code::InvalidSecretKeyFormat));
    }
    match service::environment::authenticate(&state.ctx, token).await {
        Ok(Some(env)) => {
            admit_call(state, method, path, &env)?;
            Ok(env)
        }
        Ok(None) => Err(ApiError::auth(Code::UnknownAccount)),
        Err(e) => Err(e.into()),
    }
}

/// The session of a request authenticated with a connect session token only
/// (`GET/DELETE /connect/session`); a secret key is a format error, as in Nango.
pub async fn authenticate_session(req: &Request) -> Result<(Environment, StoredSession), ApiError> {
    let state = req.data::<AppState>().ok_or_else(|| ApiError::code(Code::ServerError))?;
    session_of(state, req, token(req)?).await
}

/// Implements `ApiExtractor` for `$name`: documented as security scheme `$scheme`, produced
/// by the async function `$extract(&Request) -> Result<$name, ApiError>`.
macro_rules! security_extractor {
    ($name:ty, $scheme:expr, $extract:path) => {
        impl<'a> ApiExtractor<'a> for $name {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
            type ParamType = ();
            type ParamRawType = ();

            fn register(registry: &mut Registry) {
                register_scheme(registry, $scheme);
            }

            fn security_schemes() -> Vec<&'static str> {
                vec![$scheme]
            }

            async fn from_request(
                req: &'a Request,
                _body: &mut RequestBody,
                _opts: ExtractParamOptions<()>,
            ) -> poem::Result<Self> {
                $extract(req).await.map_err(ApiError::into_poem)
            }
        }
    };
}

/// The environment of the request's secret key.
#[derive(Debug)]
pub struct SecretKey(pub Environment);

async fn secret_key(req: &Request) -> Result<SecretKey, ApiError> {
    authenticate(req, false).await.map(SecretKey)
}
security_extractor!(SecretKey, SECURITY_SCHEME, secret_key);

/// The principal of the request's secret key or connect session token (Nango accepts both
/// on `GET /integrations` and `GET /providers…`).
#[derive(Debug)]
pub struct SecretKeyOrSession(pub Principal);

async fn secret_key_or_session(req: &Request) -> Result<SecretKeyOrSession, ApiError> {
    authenticate_principal(req, true).await.map(SecretKeyOrSession)
}
security_extractor!(SecretKeyOrSession, SECURITY_SCHEME, secret_key_or_session);

/// The connect session of a request authenticated with its token
/// (`Authorization: Bearer nango_connect_session_…`).
#[derive(Debug)]
pub struct ConnectSession(pub Environment, pub StoredSession);

async fn connect_session(req: &Request) -> Result<ConnectSession, ApiError> {
    authenticate_session(req).await.map(|(env, session)| ConnectSession(env, session))
}
security_extractor!(ConnectSession, CONNECT_SESSION_SCHEME, connect_session);

/// The connect session named by the `connect_session_token` query parameter (the Connect
/// UI's credential submission), with the query's `params[name]=value` pairs. A
/// `connection_id` is refused next to a session token, as in Nango.
#[derive(Debug)]
pub struct ConnectSessionQuery {
    pub env: Environment,
    pub session: StoredSession,
    pub params: serde_json::Map<String, serde_json::Value>,
}
security_extractor!(ConnectSessionQuery, CONNECT_SESSION_QUERY_SCHEME, session_query);

async fn session_query(req: &Request) -> Result<ConnectSessionQuery, ApiError> {
    use crate::api::validate::{self, issue};
    // Keys as sent: `validate::query_pairs` folds `params[name]` into `params`.
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes()).into_owned().collect();
    let has_token = pairs.iter().any(|(k, _)| k == "connect_session_token");
    let mut token = None;
    let mut params = serde_json::Map::new();
    let mut issues = Vec::new();
    for (k, v) in &pairs {
        if k == "connect_session_token" {
            token = Some(v.as_str());
        } else if let Some(name) = k.strip_prefix("params[").and_then(|r| r.strip_suffix(']')) {
            params.insert(name.to_owned(), serde_json::Value::String(v.clone()));
        } else if k == "connection_id" && has_token {
            issues.push(issue(
                "custom",
                "connection_id is forbidden when using session token",
                vec!["connection_id".to_owned()],
            ));
        }
    }
    validate::done((), issues, Code::InvalidQueryParams)?;
    let Some(token) = token else { return Err(ApiError::auth(Code::MissingPublicKey)) };
    let state = req.data::<AppState>().ok_or_else(|| ApiError::code(Code::ServerError))?;
    let (env, session) = session_of(state, req, token).await?;
    Ok(ConnectSessionQuery { env, session, params })
}

/// A JSON request body, documented with `T`'s schema. It is parsed but not validated here, so
/// the handler can validate query, body and path in Nango's order with Nango's issues.
pub struct JsonBody<T> {
    value: Option<serde_json::Value>,
    _schema: PhantomData<fn() -> T>,
}

impl<T> JsonBody<T> {
    /// The parsed body; `None` when the request had none.
    pub fn value(&self) -> Option<&serde_json::Value> {
        self.value.as_ref()
    }

    /// The parsed body, taken (for an answer that echoes it).
    pub fn into_value(self) -> Option<serde_json::Value> {
        self.value
    }
}

impl<'a, T: Type> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: "application/json", schema: T::schema_ref() }],
            required: true,
        })
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        _opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        // Like Nango's JSON parser, only a JSON content type makes a body; anything else is
        // "undefined". The request guard has already enforced the size limit and JSON syntax.
        let is_json =
            req.content_type().is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/json"));
        if !is_json {
            return Ok(Self { value: None, _schema: PhantomData });
        }
        let bytes = body.take()?.into_bytes().await?;
        let value = if bytes.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(serde_json::from_slice(&bytes).map_err(|_| ApiError::code(Code::InvalidJson).into_poem())?)
        };
        Ok(Self { value, _schema: PhantomData })
    }
}

/// A query parameter that only documents `T`; the handler validates the raw query itself
/// (strictly, with Nango's issues), so parsing here never fails.
pub struct DocOnly<T>(PhantomData<fn() -> T>);

impl<T: Type> Type for DocOnly<T> {
    const IS_REQUIRED: bool = false;
    type RawValueType = ();
    type RawElementValueType = ();

    fn name() -> std::borrow::Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&()> {
        None
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a ()> + 'a> {
        Box::new(std::iter::empty())
    }
}

/// A required parameter that only documents `T`: the handler reads and validates it itself
/// (with Nango's codes, e.g. `invalid_headers`), so extraction never fails, even when absent.
pub struct DocRequired<T>(PhantomData<fn() -> T>);

impl<T: Type> Type for DocRequired<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = ();
    type RawElementValueType = ();

    fn name() -> std::borrow::Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&()> {
        None
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a ()> + 'a> {
        Box::new(std::iter::empty())
    }
}

impl<T: Type> ParseFromParameter for DocRequired<T> {
    fn parse_from_parameter(_value: &str) -> ParseResult<Self> {
        Ok(Self(PhantomData))
    }

    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(_iter: I) -> ParseResult<Self> {
        Ok(Self(PhantomData))
    }
}

impl<T: Type> ParseFromParameter for DocOnly<T> {
    fn parse_from_parameter(_value: &str) -> ParseResult<Self> {
        Ok(Self(PhantomData))
    }

    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(_iter: I) -> ParseResult<Self> {
        Ok(Self(PhantomData))
    }
}
