//! The vocabulary of providers: auth modes, and a provider's `proxy` section (where requests
//! go and what they carry), read once when the catalog loads.

use std::fmt;

use serde_json::{Map, Value};

macro_rules! auth_modes {
    ($($variant:ident = $name:literal,)*) => {
        /// How a provider authenticates (Nango's closed set of `auth_mode` values).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuthMode {
            $($variant,)*
        }

        impl AuthMode {
            /// Every auth mode, in Nango's order.
            pub const ALL: &[AuthMode] = &[$(AuthMode::$variant,)*];

            /// Nango's name (`API_KEY`, `BASIC`, …).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(AuthMode::$variant => $name,)*
                }
            }

            /// The auth mode called `name` (exact, upper case).
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(AuthMode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

auth_modes! {
    OAuth1 = "OAUTH1",
    OAuth2 = "OAUTH2",
    OAuth2Cc = "OAUTH2_CC",
    Basic = "BASIC",
    ApiKey = "API_KEY",
    App = "APP",
    AppStore = "APP_STORE",
    Custom = "CUSTOM",
    Tba = "TBA",
    Tableau = "TABLEAU",
    Jwt = "JWT",
    Bill = "BILL",
    TwoStep = "TWO_STEP",
    Signature = "SIGNATURE",
    None = "NONE",
    McpOAuth2 = "MCP_OAUTH2",
    McpOAuth2Generic = "MCP_OAUTH2_GENERIC",
    AwsSigV4 = "AWS_SIGV4",
    InstallPlugin = "INSTALL_PLUGIN",
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider's `proxy` section: base URL, the headers and query parameters that carry the
/// credential (templates such as `Bearer ${apiKey}`), the verification request, and
/// pagination defaults. Templates are kept as written; interpolation happens per connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyDefinition {
    pub base_url: Option<String>,
    /// `(name, template)` in declaration order.
    pub headers: Vec<(String, String)>,
    /// `(name, template)` in declaration order.
    pub query: Vec<(String, String)>,
    pub verification: Option<Verification>,
    /// Nango's `paginate` defaults, as declared.
    pub paginate: Option<Value>,
    /// `proxy.body`: fields (templates, possibly nested) merged into request bodies.
    pub body: Map<String, Value>,
    /// `proxy.retry`: how the provider says when to retry.
    pub retry: RetryRule,
    /// `proxy.connection_config`: templates naming `connectionConfig` values the provider
    /// needs beyond its URLs and headers.
    pub connection_config: Vec<String>,
}

/// A provider's `proxy.retry`: which answers are retried and how long to wait, read from the
/// answer's headers (Nango's `getProxyRetryFromErr`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryRule {
    /// Headers holding when to retry (epoch seconds or milliseconds, or a date).
    pub at: Vec<String>,
    /// Headers holding how many seconds to wait (used when `at` is not declared).
    pub after: Vec<String>,
    /// Statuses retried instead of the defaults: `"403"`, `"5xx"`, `"500-502"`.
    pub error_codes: Vec<String>,
    /// A header whose value `0` makes any answer retryable.
    pub remaining: Option<String>,
}

impl RetryRule {
    fn read(value: Option<&Value>) -> Self {
        let Some(Value::Object(r)) = value else { return Self::default() };
        let names = |key: &str| -> Vec<String> {
            match r.get(key) {
                Some(Value::String(s)) => vec![s.to_ascii_lowercase()],
                Some(Value::Array(items)) => {
                    items.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect()
                }
                _ => Vec::new(),
            }
        };
        Self {
            at: names("at"),
            after: names("after"),
            error_codes: match r.get("error_code") {
                Some(Value::Array(items)) => {
                    items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect()
                }
                _ => Vec::new(),
            },
            remaining: r.get("remaining").and_then(Value::as_str).map(str::to_ascii_lowercase),
        }
    }

    /// Whether `status` matches one of `error_codes` (exact, `5xx`, or `500-502`).
    pub fn matches(&self, status: u16) -> bool {
        self.error_codes.iter().any(|rule| {
            let rule = rule.trim();
            if let Ok(code) = rule.parse::<u16>() {
                return code == status;
            }
            if let Some(digit) = rule.strip_suffix("xx").or_else(|| rule.strip_suffix("XX")) {
                return digit.parse::<u16>().is_ok_and(|d| status / 100 == d);
            }
            match rule.split_once('-').map(|(a, b)| (a.trim().parse::<u16>(), b.trim().parse::<u16>())) {
                Some((Ok(low), Ok(high))) => (low..=high).contains(&status),
                _ => false,
            }
        })
    }
}

/// The request that checks a credential before it is stored (`proxy.verification`).
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// Upper case; `GET` unless declared.
    pub method: String,
    /// Tried in order: the first 2xx accepts the credential.
    pub endpoints: Vec<String>,
    /// `(name, value)` sent in addition to the injected ones.
    pub headers: Vec<(String, String)>,
    pub base_url_override: Option<String>,
    /// A JSON body sent with the verification request.
    pub data: Option<Value>,
}

impl ProxyDefinition {
    /// Reads the `proxy` section of a provider definition (`None` when absent). String
    /// templates are kept; a value of another type in `headers` or `query` is ignored, as
    /// Nango's interpolation ignores it.
    pub fn from_definition(definition: &Map<String, Value>) -> Result<Option<Self>, String> {
        let proxy = match definition.get("proxy") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(p)) => p,
            Some(_) => return Err("`proxy` must be a map".to_owned()),
        };
        let verification = match proxy.get("verification") {
            None | Some(Value::Null) => None,
            Some(Value::Object(v)) => Some(Verification::read(v)?),
            Some(_) => return Err("`proxy.verification` must be a map".to_owned()),
        };
        Ok(Some(Self {
            base_url: string(proxy, "base_url", "proxy.base_url")?,
            headers: templates(proxy.get("headers"), "proxy.headers")?,
            query: templates(proxy.get("query"), "proxy.query")?,
            verification,
            paginate: proxy.get("paginate").filter(|p| !p.is_null()).cloned(),
            retry: RetryRule::read(proxy.get("retry")),
            body: match proxy.get("body") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(b)) => b.clone(),
                Some(_) => return Err("`proxy.body` must be a map".to_owned()),
            },
            connection_config: templates(proxy.get("connection_config"), "proxy.connection_config")?
                .into_iter()
                .map(|(_, t)| t)
                .collect(),
        }))
    }
}

impl Verification {
    fn read(v: &Map<String, Value>) -> Result<Self, String> {
        let endpoints = match v.get("endpoints") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => string(v, "endpoint", "proxy.verification.endpoint")?.into_iter().collect(),
        };
        Ok(Self {
            method: string(v, "method", "proxy.verification.method")?
                .map_or_else(|| "GET".to_owned(), |m| m.to_ascii_uppercase()),
            endpoints,
            headers: templates(v.get("headers"), "proxy.verification.headers")?,
            base_url_override: string(v, "base_url_override", "proxy.verification.base_url_override")?,
            data: v.get("data").filter(|d| !d.is_null()).cloned(),
        })
    }
}

fn string(map: &Map<String, Value>, key: &str, what: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{what}` must be a string")),
    }
}

fn templates(value: Option<&Value>, what: &str) -> Result<Vec<(String, String)>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => {
            Ok(map.iter().filter_map(|(k, v)| v.as_str().map(|t| (k.clone(), t.to_owned()))).collect())
        }
        Some(_) => Err(format!("`{what}` must be a map")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_modes_round_trip() {
        for mode in AuthMode::ALL {
            assert_eq!(AuthMode::parse(mode.as_str()), Some(*mode));
        }
        assert_eq!(AuthMode::ALL.len(), 19);
        assert_eq!(AuthMode::parse("api_key"), None);
    }

    #[test]
    fn proxy_sections_read_once() {
        let def = serde_json::json!({"proxy": {
            "base_url": "https://api.acme.com",
            "headers": {"authorization": "Bearer ${apiKey}", "x-n": 3},
            "query": {"key": "${apiKey}"},
            "verification": {"method": "post", "endpoint": "/me", "headers": {"accept": "application/json"}}
        }});
        let proxy = ProxyDefinition::from_definition(def.as_object().unwrap()).unwrap().unwrap();
        assert_eq!(proxy.base_url.as_deref(), Some("https://api.acme.com"));
        assert_eq!(proxy.headers, vec![("authorization".to_owned(), "Bearer ${apiKey}".to_owned())]);
        assert_eq!(proxy.query, vec![("key".to_owned(), "${apiKey}".to_owned())]);
        let v = proxy.verification.unwrap();
        assert_eq!((v.method.as_str(), v.endpoints), ("POST", vec!["/me".to_owned()]));
        let bad = serde_json::json!({"proxy": {"headers": "x"}});
        assert!(ProxyDefinition::from_definition(bad.as_object().unwrap()).is_err());
        assert_eq!(ProxyDefinition::from_definition(&Map::new()).unwrap(), None);
    }
}
