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
    service::{self, environment::Environment},
};

/// Name of the security scheme in the OpenAPI document (Nango's name).
pub const SECURITY_SCHEME: &str = "bearerAuth";

const CONNECT_SESSION_PREFIX: &str = "nango_connect_session_";

fn register_scheme(registry: &mut Registry) {
    registry.create_security_scheme(
        SECURITY_SCHEME,
        MetaSecurityScheme {
            ty: "http",
            description: Some("The environment's secret key (a UUID v4): `Authorization: Bearer <secret key>`."),
            name: None,
            key_in: None,
            scheme: Some("bearer"),
            bearer_format: Some("UUID"),
            flows: None,
            openid_connect_url: None,
        },
    );
}

/// The token of an `Authorization` header, as Nango reads it: the text after the last
/// `Bearer ` (so a bare key without the prefix is accepted too).
fn token(req: &Request) -> Result<&str, ApiError> {
    let header = req.headers().get(AUTHORIZATION).map(|v| v.to_str().unwrap_or_default()).unwrap_or_default();
    if header.is_empty() {
        return Err(ApiError::auth(Code::MissingAuthHeader));
    }
    let token = header.rsplit("Bearer ").next().unwrap_or_default();
    if token.is_empty() {
        return Err(ApiError::auth(Code::MalformedAuthHeader));
    }
    Ok(token)
}

/// Nango's authentication of a request, as an `ApiError` on failure (the extractors below
/// turn it into a response; the proxy's plain route uses it directly).
pub async fn authenticate(req: &Request, allow_connect_session: bool) -> Result<Environment, ApiError> {
    let state = req.data::<AppState>().ok_or_else(|| ApiError::code(Code::ServerError))?;
    let token = token(req)?;
    if allow_connect_session && token.starts_with(CONNECT_SESSION_PREFIX) {
        let random = &token[CONNECT_SESSION_PREFIX.len()..];
        let well_formed =
            random.len() == 64 && random.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        // Connect sessions are not issued yet: a well-formed token cannot match one.
        let code = if well_formed { Code::UnknownConnectSessionToken } else { Code::InvalidConnectSessionTokenFormat };
        return Err(ApiError::auth(code));
    }
    if !is_uuid_v4(token) {
        return Err(ApiError::auth(Code::InvalidSecretKeyFormat));
    }
    match service::environment::authenticate(&state.ctx, token).await {
        Ok(Some(env)) => Ok(env),
        Ok(None) => Err(ApiError::auth(Code::UnknownAccount)),
        Err(e) => Err(e.into()),
    }
}

macro_rules! auth_extractor {
    ($(#[$doc:meta])* $name:ident, $allow_session:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(pub Environment);

        impl<'a> ApiExtractor<'a> for $name {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
            type ParamType = ();
            type ParamRawType = ();

            fn register(registry: &mut Registry) {
                register_scheme(registry);
            }

            fn security_schemes() -> Vec<&'static str> {
                vec![SECURITY_SCHEME]
            }

            async fn from_request(req: &'a Request, _body: &mut RequestBody, _opts: ExtractParamOptions<()>) -> poem::Result<Self> {
                authenticate(req, $allow_session).await.map(Self).map_err(ApiError::into_poem)
            }
        }
    };
}

auth_extractor!(
    /// The environment of the request's secret key.
    SecretKey,
    false
);
auth_extractor!(
    /// The environment of the request's secret key or connect session token (Nango accepts
    /// both on `GET /integrations` and `GET /providers…`).
    SecretKeyOrSession,
    true
);

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

impl<T: Type> ParseFromParameter for DocOnly<T> {
    fn parse_from_parameter(_value: &str) -> ParseResult<Self> {
        Ok(Self(PhantomData))
    }

    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(_iter: I) -> ParseResult<Self> {
        Ok(Self(PhantomData))
    }
}
