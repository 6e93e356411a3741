//! `/providers`: the provider catalog.

use std::borrow::Cow;

use poem::{Request, web::Data};
use poem_openapi::{
    Enum, Object, OpenApi,
    param::Path,
    payload::Json,
    registry::{MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::{Map, Value};

use super::{
    ApiTags,
    extract::{DocOnly, SecretKeyOrSession},
    validate::{self, PROVIDER, UNIQUE_KEY},
};
use crate::{
    AppState,
    error::{ApiError, Code},
    service::provider::Provider as CatalogProvider,
};

/// Authentication modes of providers (Nango's set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[allow(clippy::upper_case_acronyms)]
pub enum AuthMode {
    #[oai(rename = "OAUTH1")]
    Oauth1,
    #[oai(rename = "OAUTH2")]
    Oauth2,
    #[oai(rename = "OAUTH2_CC")]
    Oauth2Cc,
    #[oai(rename = "BASIC")]
    Basic,
    #[oai(rename = "API_KEY")]
    ApiKey,
    #[oai(rename = "APP")]
    App,
    #[oai(rename = "APP_STORE")]
    AppStore,
    #[oai(rename = "CUSTOM")]
    Custom,
    #[oai(rename = "TBA")]
    Tba,
    #[oai(rename = "TABLEAU")]
    Tableau,
    #[oai(rename = "JWT")]
    Jwt,
    #[oai(rename = "BILL")]
    Bill,
    #[oai(rename = "TWO_STEP")]
    TwoStep,
    #[oai(rename = "SIGNATURE")]
    Signature,
    #[oai(rename = "NONE")]
    None,
    #[oai(rename = "MCP_OAUTH2")]
    McpOauth2,
    #[oai(rename = "MCP_OAUTH2_GENERIC")]
    McpOauth2Generic,
    #[oai(rename = "AWS_SIGV4")]
    AwsSigv4,
    #[oai(rename = "INSTALL_PLUGIN")]
    InstallPlugin,
}

/// A provider definition, as in Nango's providers.yaml, plus `name` and `logo_url`. Fields
/// not listed here (e.g. `token_url`, `webhook_routing_script`) are returned as loaded.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Provider")]
pub struct ProviderSchema {
    /// Human-readable name.
    pub display_name: String,
    /// Categories, e.g. `other`.
    pub categories: Option<Vec<String>>,
    /// How connections of this provider authenticate.
    pub auth_mode: AuthMode,
    /// How the proxy reaches the API: `base_url`, `headers` and `query` templates, etc.
    pub proxy: Option<Value>,
    /// Documentation URL.
    pub docs: Option<String>,
    /// Documentation of the Connect UI flow.
    pub docs_connect: Option<String>,
    /// Credential fields a connection provides (e.g. `apiKey`), as simplified JSON schemas.
    pub credentials: Option<Value>,
    /// Integration settings the provider accepts, as simplified JSON schemas.
    pub integration_config: Option<Value>,
    /// Values a connection provides besides its credential (e.g. a subdomain or a region),
    /// as simplified JSON schemas (`title`, `description`, `pattern`, `format`, `enum`,
    /// `default_value`, `optional`, `hidden`, `prefix`, `suffix`, `doc_section`, `order`).
    /// They are checked when a connection is created and used by the proxy's templates.
    pub connection_config: Option<Value>,
    /// The provider's name (its key in the catalog).
    pub name: String,
    /// URL of the provider's logo.
    pub logo_url: String,
}

/// A provider, serialized exactly as loaded (documented by [`ProviderSchema`]).
#[derive(Debug, Clone)]
pub struct ProviderObject(pub Map<String, Value>);

impl Type for ProviderObject {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        ProviderSchema::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        ProviderSchema::schema_ref()
    }

    fn register(registry: &mut Registry) {
        ProviderSchema::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for ProviderObject {
    fn to_json(&self) -> Option<Value> {
        Some(Value::Object(self.0.clone()))
    }
}

impl ParseFromJSON for ProviderObject {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::Object(map)) => Ok(Self(map)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

/// `{"data": provider}`.
#[derive(Debug, Clone, Object)]
pub struct ProviderEnvelope {
    /// The provider.
    pub data: ProviderObject,
}

/// `{"data": [provider, ...]}`.
#[derive(Debug, Clone, Object)]
pub struct ProviderListEnvelope {
    /// The providers, in catalog order.
    pub data: Vec<ProviderObject>,
}

fn to_object(provider: &CatalogProvider, public_url: &str) -> ProviderObject {
    let mut map = provider.definition.clone();
    map.insert("name".to_owned(), Value::String(provider.name.clone()));
    map.insert(
        "logo_url".to_owned(),
        Value::String(format!("{public_url}/images/template-logos/{}.svg", provider.name)),
    );
    ProviderObject(map)
}

/// Nango's `search`: a case-insensitive JavaScript regex over the name, where (given the
/// allowed characters) only `.` is special.
fn matches_search(name: &str, search: &str) -> bool {
    let name: Vec<char> = name.to_lowercase().chars().collect();
    let pattern: Vec<char> = search.to_lowercase().chars().collect();
    pattern.len() <= name.len()
        && name.windows(pattern.len()).any(|w| w.iter().zip(&pattern).all(|(c, p)| *p == '.' || c == p))
}

/// The provider catalog.
pub struct ProviderApi;

#[OpenApi(tag = "ApiTags::Providers")]
impl ProviderApi {
    /// List providers
    ///
    /// Lists the catalog's providers in catalog order. `search` filters by name
    /// (case-insensitive; `.` matches any character).
    #[oai(path = "/providers", method = "get", operation_id = "list_providers")]
    async fn list_providers(
        &self,
        _auth: SecretKeyOrSession,
        state: Data<&AppState>,
        req: &Request,
        /// Part of the provider name to look for.
        #[oai(name = "search")]
        _search: poem_openapi::param::Query<DocOnly<String>>,
    ) -> Result<Json<ProviderListEnvelope>, ApiError> {
        let pairs = validate::strict_query(req.uri().query(), &["search"], |pairs| {
            pairs
                .iter()
                .filter(|(k, _)| k == "search")
                .flat_map(|(_, v)| validate::check_str(v, &UNIQUE_KEY, &["search".to_owned()]))
                .collect()
        })?;
        let search = pairs.iter().rev().find(|(k, _)| k == "search").map(|(_, v)| v.as_str());
        let data = state
            .ctx
            .catalog
            .iter()
            .filter(|p| search.is_none_or(|s| matches_search(&p.name, s)))
            .map(|p| to_object(p, &state.ctx.public_url))
            .collect();
        Ok(Json(ProviderListEnvelope { data }))
    }

    /// Get a provider
    ///
    /// Returns one provider of the catalog.
    #[oai(path = "/providers/:provider", method = "get", operation_id = "get_provider")]
    async fn get_provider(
        &self,
        _auth: SecretKeyOrSession,
        state: Data<&AppState>,
        req: &Request,
        /// The provider's name, e.g. `private-api-generic`.
        #[oai(name = "provider")]
        provider: Path<String>,
    ) -> Result<Json<ProviderEnvelope>, ApiError> {
        validate::empty_query(req.uri().query())?;
        validate::path_param("provider", &provider, &PROVIDER)?;
        let found = state
            .ctx
            .catalog
            .get(&provider)
            .ok_or_else(|| ApiError::message(Code::NotFound, format!("Unknown provider {}", provider.0)))?;
        Ok(Json(ProviderEnvelope { data: to_object(found, &state.ctx.public_url) }))
    }
}

#[cfg(test)]
mod tests {
    use super::matches_search;

    #[test]
    fn search_is_a_case_insensitive_regex_where_only_dot_is_special() {
        assert!(matches_search("private-api-generic", "API-gen"));
        assert!(matches_search("private-api-generic", "api.generic"));
        assert!(!matches_search("private-api-generic", "api_generic"));
        assert!(!matches_search("hubspot", "hubspot-mcp"));
    }
}
