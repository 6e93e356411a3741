//! The provider catalog: Nango's providers.yaml format, built in and extensible by a file.

use std::{collections::HashMap, path::Path, sync::Arc};

use serde_json::{Map, Value};

use super::{Issue, template};
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
    /// The declared `connection_config` schema, in declaration order.
    pub connection_config: Vec<ConfigField>,
    /// The declared `credentials` field metadata (titles, patterns), in declaration order.
    pub credential_fields: Vec<ConfigField>,
    /// `connectionConfig` names the proxy templates need (a connection without them is
    /// refused), in order of appearance. Names only used on the left of a base URL's
    /// `a || b` fallback are not in it.
    pub needed_config: Vec<String>,
    /// Whether connections can be made, and if not, why.
    pub support: Support,
    /// Nango checks this provider's keys with a code hook (`credentials_verification_script`)
    /// that this server does not run: keys are stored unchecked unless `proxy.verification`
    /// is declared too.
    pub verification_script: bool,
}

/// Whether this server can make and proxy connections of a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// Every template the provider uses is supported.
    Full,
    /// The auth mode is not one this server implements (only API_KEY and BASIC are).
    AuthMode(AuthMode),
    /// Some templates use forms this server does not evaluate (listed).
    Templates(Vec<String>),
}

impl Provider {
    /// Refuses what this server cannot connect: providers of other auth modes than API_KEY
    /// and BASIC (they are listed, but integrations and connections cannot be made).
    pub fn check_supported(&self) -> Result<(), super::Error> {
        match &self.support {
            Support::AuthMode(mode) => Err(super::Error::UnsupportedAuthMode(format!(
                "The provider {} uses the auth mode {mode}, which this server does not support (only API_KEY and BASIC)",
                self.name
            ))),
            _ => Ok(()),
        }
    }

    /// A connection's `connection_config` checked against the provider's schema as Nango's
    /// Connect UI checks it (required unless `optional`, `hidden` or defaulted; `enum`,
    /// `format`, `pattern`), defaults applied, and every value the proxy templates need
    /// present. Values the schema does not declare are kept as given.
    pub fn resolve_connection_config(&self, given: Map<String, Value>) -> Result<Map<String, Value>, Vec<Issue>> {
        let mut config = given;
        let mut issues = Vec::new();
        let path = |name: &str| vec!["connection_config".to_owned(), name.to_owned()];
        for field in self.connection_config.iter().filter(|f| !f.automated) {
            let value = match config.get(&field.name) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    issues.push(Issue {
                        code: "invalid_type",
                        message: "Expected string".to_owned(),
                        path: path(&field.name),
                    });
                    continue;
                }
            };
            let Some(value) = value else {
                if let Some(default) = &field.default_value {
                    config.insert(field.name.clone(), Value::String(default.clone()));
                } else if !(field.optional || field.hidden) {
                    issues.push(Issue {
                        code: "invalid_type",
                        message: "This field is required".to_owned(),
                        path: path(&field.name),
                    });
                }
                continue;
            };
            if let Some(message) = field.refusal(&value) {
                let code = if field.enum_values.is_empty() { "invalid_format" } else { "invalid_value" };
                issues.push(Issue { code, message, path: path(&field.name) });
            }
        }
        for name in &self.needed_config {
            let present = config.get(name).is_some_and(|v| v.as_str().is_none_or(|s| !s.is_empty()) && !v.is_null());
            if !present && !issues.iter().any(|i| i.path == path(name)) {
                issues.push(Issue {
                    code: "invalid_type",
                    message: format!("The provider {} needs connection_config.{name} to reach its API", self.name),
                    path: path(name),
                });
            }
        }
        if issues.is_empty() { Ok(config) } else { Err(issues) }
    }

    /// Every template of the provider's `proxy` section (base URL, headers, query,
    /// verification).
    pub fn templates(&self) -> Vec<&str> {
        let proxy = &self.proxy;
        let mut out: Vec<&str> = proxy.base_url.iter().map(String::as_str).collect();
        out.extend(proxy.headers.iter().chain(&proxy.query).map(|(_, t)| t.as_str()));
        body_leaves(&proxy.body, &mut out);
        out.extend(proxy.connection_config.iter().map(String::as_str));
        if let Some(v) = &proxy.verification {
            out.extend(v.endpoints.iter().map(String::as_str));
            out.extend(v.headers.iter().map(|(_, t)| t.as_str()));
            out.extend(v.base_url_override.iter().map(String::as_str));
        }
        out
    }

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
    /// `format` as declared (`hostname`, `uuid`, `uri`, `email`, …).
    pub format: Option<String>,
    pub visible_when: Option<(String, String)>,
    /// Not shown in the Connect UI (and therefore optional).
    pub hidden: bool,
    /// Filled in by Nango itself, never asked (skipped by validation).
    pub automated: bool,
}

impl ConfigField {
    /// Why `value` does not fit this field (`None` when it does), with the messages of
    /// Nango's Connect UI (zod).
    pub fn refusal(&self, value: &str) -> Option<String> {
        if !self.enum_values.is_empty() {
            if self.enum_values.iter().any(|e| e == value) {
                return None;
            }
            let options: Vec<String> = self.enum_values.iter().map(|e| format!("{e:?}")).collect();
            return Some(format!("Invalid option: expected one of {}", options.join("|")));
        }
        let format_error = match self.format.as_deref() {
            Some("hostname") => (!value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
                .then_some("Invalid hostname"),
            Some("uuid") => uuid::Uuid::try_parse(value).is_err().then_some("Invalid UUID"),
            Some("uri") => url::Url::parse(value).is_err().then_some("Invalid URL"),
            Some("email") => (!is_email(value)).then_some("Invalid email address"),
            _ => None,
        };
        if let Some(message) = format_error {
            return Some(message.to_owned());
        }
        match &self.pattern {
            Some(pattern) if pattern.find(value).is_none() => Some(format!("Incorrect {}", self.title)),
            _ => None,
        }
    }
}

/// zod's email check, loosely: one `@`, a non-empty local part, a dotted domain.
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(char::is_whitespace)
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

/// What `nango-server catalog-report` prints: per provider whether this server can connect
/// and proxy it, then the counts.
pub fn report(catalog: &Catalog, all: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let (mut keyed, mut full, mut other, mut unchecked) = (0, 0, 0, 0);
    let mut by_mode: std::collections::BTreeMap<&str, (usize, usize)> = std::collections::BTreeMap::new();
    let mut helpers: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
    for p in catalog.iter() {
        let (status, detail) = match &p.support {
            Support::Full if p.verification_script && p.proxy.verification.is_none() => {
                unchecked += 1;
                ("supported", "keys are stored unchecked: Nango checks them with a code hook".to_owned())
            }
            Support::Full => ("supported", String::new()),
            Support::AuthMode(mode) => ("auth-mode", format!("{mode} is not implemented")),
            Support::Templates(forms) => ("templates", forms.join("; ")),
        };
        if matches!(p.support, Support::AuthMode(_)) {
            other += 1;
        } else {
            keyed += 1;
            let entry = by_mode.entry(p.auth_mode.as_str()).or_default();
            entry.0 += 1;
            if p.support == Support::Full {
                full += 1;
                entry.1 += 1;
            }
            for text in p.templates() {
                for helper in template::uses(text).helpers {
                    let list = helpers.entry(helper).or_default();
                    if !list.contains(&p.name.as_str()) {
                        list.push(&p.name);
                    }
                }
            }
        }
        if all || !matches!(p.support, Support::AuthMode(_)) {
            let _ = writeln!(out, "{:<40} {:<10} {status:<10} {detail}", p.name, p.auth_mode.as_str());
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "providers: {}", keyed + other);
    let modes: Vec<String> = by_mode.iter().map(|(m, (n, ok))| format!("{m} {ok}/{n}")).collect();
    let _ = writeln!(out, "API_KEY and BASIC: {keyed}, fully supported: {full} ({})", modes.join(", "));
    let _ = writeln!(out, "of which checked by a Nango code hook we do not run (keys stored unchecked): {unchecked}");
    let _ = writeln!(out, "other auth modes (listed, cannot be connected): {other}");
    for (helper, names) in &helpers {
        let _ = writeln!(out, "helper {helper}: {} provider(s): {}", names.len(), names.join(", "));
    }
    out
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
        let Value::Object(def) = def else {
            return Err(invalid(format!("provider `{name}` must be a map")));
        };
        out.push((name, def));
    }
    // Aliases may name a provider declared later, or another alias (Nango's file has both).
    let index: HashMap<String, usize> = out.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
    let mut resolved: Vec<Option<Map<String, Value>>> = vec![None; out.len()];
    for i in 0..out.len() {
        resolve_alias(i, &out, &index, &mut resolved, &mut Vec::new()).map_err(invalid)?;
    }
    Ok(out.into_iter().zip(resolved).map(|((name, _), def)| (name, def.unwrap_or_default())).collect())
}

/// The definition of entry `i` with its alias chain resolved: a shallow merge of the target's
/// resolved definition and the alias's own keys (`alias` removed).
fn resolve_alias(
    i: usize,
    entries: &[Entry],
    index: &HashMap<String, usize>,
    resolved: &mut [Option<Map<String, Value>>],
    chain: &mut Vec<usize>,
) -> Result<(), String> {
    if resolved[i].is_some() {
        return Ok(());
    }
    let (name, def) = &entries[i];
    let mut def = def.clone();
    if let Some(alias) = def.remove("alias") {
        let target = alias.as_str().unwrap_or_default();
        let Some(&t) = index.get(target) else {
            return Err(format!("provider `{name}` is an alias of unknown provider `{target}`"));
        };
        if chain.contains(&t) || t == i {
            return Err(format!("provider `{name}` is part of an alias cycle through `{target}`"));
        }
        chain.push(i);
        resolve_alias(t, entries, index, resolved, chain)?;
        chain.pop();
        let mut merged = resolved[t].clone().unwrap_or_default();
        merged.extend(def);
        def = merged;
    }
    resolved[i] = Some(def);
    Ok(())
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
    let connection_config = schema_fields(&definition, "connection_config")?;
    let credential_fields = schema_fields(&definition, "credentials")?;
    let (needed_config, support) = analyse(auth_mode, &proxy, &connection_config);
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
        connection_config,
        credential_fields,
        needed_config,
        support,
        verification_script: definition.get("credentials_verification_script").is_some_and(|v| !v.is_null()),
        definition,
    })
}

/// The fields of a schema map (`connection_config`, `credentials`); entries that are not
/// maps are ignored, as Nango ignores them.
fn schema_fields(definition: &Map<String, Value>, key: &str) -> Result<Vec<ConfigField>, String> {
    match definition.get(key) {
        Some(Value::Object(fields)) => fields
            .iter()
            .filter(|(_, def)| def.is_object())
            .map(|(field, def)| config_field(field, def).map_err(|e| format!("{key}.{field}: {e}")))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

/// The string leaves of a `proxy.body` map, at any depth.
pub(crate) fn body_leaves<'a>(map: &'a Map<String, Value>, out: &mut Vec<&'a str>) {
    for value in map.values() {
        match value {
            Value::String(s) => out.push(s),
            Value::Object(inner) => body_leaves(inner, out),
            _ => {}
        }
    }
}

/// The `connectionConfig` names the proxy templates need, and whether the provider is
/// supported (auth mode, every template form, credential names its auth mode provides).
fn analyse(auth_mode: AuthMode, proxy: &ProxyDefinition, schema: &[ConfigField]) -> (Vec<String>, Support) {
    let mut templates: Vec<(&str, &str)> = Vec::new();
    let base_url = proxy.base_url.as_deref().unwrap_or_default();
    // The left side of `a || b` may be missing: the right side is used then.
    let needed_base = match base_url.split_once("||") {
        Some((_, right)) if base_url.contains("${") => right,
        _ => base_url,
    };
    templates.push(("proxy.base_url", needed_base));
    if needed_base.len() != base_url.len() {
        templates.push(("proxy.base_url (fallback)", base_url));
    }
    templates.extend(proxy.headers.iter().map(|(_, t)| ("proxy.headers", t.as_str())));
    templates.extend(proxy.query.iter().map(|(_, t)| ("proxy.query", t.as_str())));
    let mut body = Vec::new();
    body_leaves(&proxy.body, &mut body);
    templates.extend(body.into_iter().map(|t| ("proxy.body", t)));
    templates.extend(proxy.connection_config.iter().map(|t| ("proxy.connection_config", t.as_str())));
    if let Some(v) = &proxy.verification {
        templates.extend(v.endpoints.iter().map(|t| ("proxy.verification.endpoints", t.as_str())));
        templates.extend(v.headers.iter().map(|(_, t)| ("proxy.verification.headers", t.as_str())));
        templates.extend(v.base_url_override.iter().map(|t| ("proxy.verification.base_url_override", t.as_str())));
    }
    let provided: &[&str] = match auth_mode {
        AuthMode::ApiKey => &["apiKey"],
        AuthMode::Basic => &["username", "password"],
        _ => &[],
    };
    let mut needed = Vec::new();
    let mut unsupported = Vec::new();
    for (place, text) in templates {
        let uses = template::uses(text);
        if place != "proxy.base_url (fallback)" {
            for name in uses.connection_config {
                let optional = schema.iter().any(|f| f.name == name && (f.optional || f.hidden));
                if !optional && !needed.contains(&name) {
                    needed.push(name);
                }
            }
        }
        for form in uses.unsupported {
            unsupported.push(format!("{form} in {place}"));
        }
        for name in uses.credentials {
            if !provided.contains(&name.as_str()) {
                unsupported.push(format!("${{credentials.{name}}} in {place} (not a credential of {auth_mode})"));
            }
        }
        if matches!(place, "proxy.query" | "proxy.body") && uses.per_request {
            unsupported.push(format!("a per-request value in {place}"));
        }
    }
    let support = if provided.is_empty() {
        Support::AuthMode(auth_mode)
    } else if unsupported.is_empty() {
        Support::Full
    } else {
        unsupported.dedup();
        Support::Templates(unsupported)
    };
    (needed, support)
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
        format: scalar("format")?,
        visible_when,
        hidden: def.get("hidden").and_then(Value::as_bool).unwrap_or(false),
        automated: def.get("automated").and_then(Value::as_bool).unwrap_or(false),
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
