//! The provider catalog: Nango's providers.yaml format, built in and extensible by a file.

use std::{collections::HashMap, path::Path, sync::Arc};

use serde_json::{Map, Value};

use crate::model::provider::{AuthMode, ProxyDefinition};

const BUILT_IN: &str = include_str!("../../providers.yaml");

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{origin}: not valid YAML")]
    Yaml {
        origin: String,
        #[source]
        source: serde_norway::Error,
    },
    #[error("{origin}: cannot read the file")]
    Io {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// One provider, validated at load time.
#[derive(Debug)]
pub struct Provider {
    pub name: String,
    pub display_name: String,
    pub auth_mode: AuthMode,
    /// The `proxy` section, typed (empty when the provider declares none).
    pub proxy: ProxyDefinition,
    /// The definition exactly as loaded (after alias resolution), for `GET /providers`.
    pub definition: Map<String, Value>,
    /// The declared `integration_config` schema, in declaration order.
    pub integration_config: Option<Vec<ConfigField>>,
    /// Whether the provider routes incoming webhooks (then integrations have a webhook URL).
    pub webhook_routing: bool,
    pub default_scopes: Vec<String>,
}

impl Provider {
    /// Whether developer-app credentials (OAuth client, app) belong to this provider.
    pub fn is_oauth_like(&self) -> bool {
        matches!(self.auth_mode, AuthMode::OAuth1 | AuthMode::OAuth2 | AuthMode::Tba)
    }
}

/// One field of an `integration_config` schema (Nango's SimplifiedJSONSchema subset that the
/// server enforces).
#[derive(Debug)]
pub struct ConfigField {
    pub name: String,
    pub title: String,
    pub optional: bool,
    pub default_value: Option<String>,
    pub enum_values: Vec<String>,
    /// ECMAScript regex, unanchored unless it anchors itself. Invalid patterns are ignored,
    /// as Nango ignores them.
    pub pattern: Option<regress::Regex>,
    pub format_uri: bool,
    pub visible_when: Option<(String, String)>,
}

/// The loaded catalog, in file order, shared read-only.
#[derive(Debug, Clone)]
pub struct Catalog {
    inner: Arc<CatalogInner>,
}

#[derive(Debug)]
struct CatalogInner {
    order: Vec<String>,
    by_name: HashMap<String, Provider>,
}

impl Catalog {
    /// Loads the built-in catalog, then the optional extra file (its entries replace built-in
    /// ones with the same name and are appended otherwise).
    pub fn load(extra: Option<&Path>) -> Result<Self, CatalogError> {
        let mut entries = parse_yaml(BUILT_IN, "built-in providers.yaml")?;
        if let Some(path) = extra {
            let origin = path.display().to_string();
            let text =
                std::fs::read_to_string(path).map_err(|source| CatalogError::Io { origin: origin.clone(), source })?;
            for (name, def) in parse_yaml(&text, &origin)? {
                if let Some(slot) = entries.iter_mut().find(|(n, _)| *n == name) {
                    slot.1 = def;
                } else {
                    entries.push((name, def));
                }
            }
        }
        let mut order = Vec::with_capacity(entries.len());
        let mut by_name = HashMap::with_capacity(entries.len());
        for (name, def) in entries {
            let provider = validate_provider(&name, def)
                .map_err(|message| CatalogError::Invalid { origin: format!("provider `{name}`"), message })?;
            order.push(name.clone());
            by_name.insert(name, provider);
        }
        Ok(Self { inner: Arc::new(CatalogInner { order, by_name }) })
    }

    /// The provider called `name`.
    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.inner.by_name.get(name)
    }

    /// Every provider, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.inner.order.iter().filter_map(|n| self.inner.by_name.get(n))
    }
}

/// A catalog entry: provider name and definition.
type Entry = (String, Map<String, Value>);

/// Parses a catalog file into `(name, definition)` in file order, resolving aliases as Nango
/// does: a shallow merge of the target entry and the alias's own keys, in file order.
fn parse_yaml(text: &str, origin: &str) -> Result<Vec<Entry>, CatalogError> {
    let value: Value =
        serde_norway::from_str(text).map_err(|source| CatalogError::Yaml { origin: origin.to_owned(), source })?;
    let invalid = |message: String| CatalogError::Invalid { origin: origin.to_owned(), message };
    let Value::Object(map) = value else {
        return Err(invalid("the top level must be a map of provider name to definition".to_owned()));
    };
    let mut out: Vec<Entry> = Vec::with_capacity(map.len());
    for (name, def) in map {
        let Value::Object(mut def) = def else {
            return Err(invalid(format!("provider `{name}` must be a map")));
        };
        if let Some(alias) = def.remove("alias") {
            let target = alias.as_str().unwrap_or_default().to_owned();
            let Some((_, base)) = out.iter().find(|(n, _)| *n == target) else {
                return Err(invalid(format!("provider `{name}` is an alias of unknown provider `{target}`")));
            };
            let mut merged = base.clone();
            merged.extend(def);
            def = merged;
        }
        out.push((name, def));
    }
    Ok(out)
}

fn validate_provider(name: &str, definition: Map<String, Value>) -> Result<Provider, String> {
    if name.is_empty() || name.len() > 255 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("the name must match ^[a-zA-Z0-9_-]+$ and have at most 255 characters".to_owned());
    }
    let display_name = str_field(&definition, "display_name")?.ok_or("`display_name` is required")?;
    let auth_mode = str_field(&definition, "auth_mode")?.ok_or("`auth_mode` is required")?;
    let Some(auth_mode) = AuthMode::parse(&auth_mode) else {
        let known: Vec<&str> = AuthMode::ALL.iter().map(|m| m.as_str()).collect();
        return Err(format!("`auth_mode` {auth_mode} is not one of {}", known.join(", ")));
    };
    let proxy = ProxyDefinition::from_definition(&definition)?.unwrap_or_default();
    let integration_config = match definition.get("integration_config") {
        None | Some(Value::Null) => None,
        Some(Value::Object(fields)) => Some(
            fields
                .iter()
                .map(|(field, def)| config_field(field, def).map_err(|e| format!("integration_config.{field}: {e}")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err("`integration_config` must be a map".to_owned()),
    };
    let default_scopes = match definition.get("default_scopes") {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    Ok(Provider {
        name: name.to_owned(),
        display_name,
        auth_mode,
        proxy,
        webhook_routing: definition.get("webhook_routing_script").is_some_and(|v| !v.is_null()),
        integration_config,
        default_scopes,
        definition,
    })
}

fn str_field(map: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

fn config_field(name: &str, def: &Value) -> Result<ConfigField, String> {
    let Value::Object(def) = def else {
        return Err("must be a map".to_owned());
    };
    let scalar = |key: &str| -> Result<Option<String>, String> {
        match def.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(format!("`{key}` must be a scalar")),
        }
    };
    let enum_values = match def.get("enum") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Ok(other.to_string()),
            })
            .collect::<Result<_, String>>()?,
        Some(_) => return Err("`enum` must be a list".to_owned()),
    };
    let visible_when = match def.get("visible_when") {
        None | Some(Value::Null) => None,
        Some(Value::Object(v)) => {
            let field = v.get("field").and_then(Value::as_str).ok_or("`visible_when.field` must be a string")?;
            let equals = match v.get("equals") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return Err("`visible_when.equals` is required".to_owned()),
            };
            Some((field.to_owned(), equals))
        }
        Some(_) => return Err("`visible_when` must be a map".to_owned()),
    };
    Ok(ConfigField {
        name: name.to_owned(),
        title: scalar("title")?.unwrap_or_else(|| name.to_owned()),
        optional: def.get("optional").and_then(Value::as_bool).unwrap_or(false),
        default_value: scalar("default_value")?,
        enum_values,
        pattern: scalar("pattern")?.and_then(|p| regress::Regex::new(&p).ok()),
        format_uri: scalar("format")?.as_deref() == Some("uri"),
        visible_when,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_catalog_has_the_private_api_providers() {
        let c = Catalog::load(None).unwrap();
        let names: Vec<&str> = c.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["private-api-bearer", "private-api-basic", "private-api-generic"]);
        let generic = c.get("private-api-generic").unwrap();
        assert_eq!(generic.auth_mode, AuthMode::ApiKey);
        let fields: Vec<&str> = generic.integration_config.as_ref().unwrap().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(fields, ["keyPlacement", "keyName", "valueTemplate", "baseUrl", "keyLabel"]);
        assert_eq!(c.get("private-api-basic").unwrap().auth_mode, AuthMode::Basic);
        assert_eq!(
            c.get("private-api-bearer").unwrap().proxy.headers,
            [("authorization".to_owned(), "Bearer ${apiKey}".to_owned())]
        );
    }

    #[test]
    fn extra_file_adds_replaces_and_resolves_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("extra.yaml");
        std::fs::write(
            &path,
            "acme:\n  display_name: Acme\n  auth_mode: OAUTH2\n  proxy:\n    base_url: https://acme\nacme-sandbox:\n  alias: acme\n  display_name: Acme Sandbox\nprivate-api-basic:\n  display_name: Replaced\n  auth_mode: BASIC\n",
        )
        .unwrap();
        let c = Catalog::load(Some(&path)).unwrap();
        assert_eq!(c.get("private-api-basic").unwrap().display_name, "Replaced");
        let alias = c.get("acme-sandbox").unwrap();
        assert_eq!(alias.auth_mode, AuthMode::OAuth2);
        assert_eq!(alias.display_name, "Acme Sandbox");
        assert_eq!(c.iter().last().unwrap().name, "acme-sandbox");
    }

    #[test]
    fn invalid_entries_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        std::fs::write(&path, "acme:\n  display_name: Acme\n  auth_mode: MAGIC\n").unwrap();
        let err = Catalog::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("acme") && err.contains("MAGIC"), "{err}");
    }
}
