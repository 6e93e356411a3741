//! Typed `integration_config` for the `private-api-generic` provider, so a typo in a key
//! placement or a field name cannot compile.

use std::collections::HashMap;

/// Where the proxy puts the API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPlacement {
    /// In a request header named `keyName`.
    Header,
    /// In a query parameter named `keyName`.
    Query,
}

impl KeyPlacement {
    /// The wire value (`header` or `query`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Query => "query",
        }
    }
}

/// The `integration_config` of a new `private-api-generic` integration.
///
/// ```
/// use nango_sdk::{KeyPlacement, PrivateApiGeneric, types::CreateIntegrationRequest};
///
/// let body = CreateIntegrationRequest {
///     provider: "private-api-generic".into(),
///     unique_key: "acme-internal".into(),
///     display_name: Some("Acme Internal API".into()),
///     integration_config: PrivateApiGeneric::new("https://api.acme.com", "Authorization")
///         .key_placement(KeyPlacement::Header)
///         .value_template("Api-Key ${apiKey}")
///         .key_label("Acme API Key")
///         .into(),
///     ..Default::default()
/// };
/// assert_eq!(body.integration_config["valueTemplate"], "Api-Key ${apiKey}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateApiGeneric {
    base_url: String,
    key_name: String,
    key_placement: Option<KeyPlacement>,
    value_template: Option<String>,
    key_label: Option<String>,
}

impl PrivateApiGeneric {
    /// The two required settings: the API's base URL and the header or parameter name.
    /// Unset optional settings take the server's defaults (`header`, `${apiKey}`, `API Key`).
    pub fn new(base_url: impl Into<String>, key_name: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            key_name: key_name.into(),
            key_placement: None,
            value_template: None,
            key_label: None,
        }
    }

    /// Where the key goes.
    pub fn key_placement(mut self, placement: KeyPlacement) -> Self {
        self.key_placement = Some(placement);
        self
    }

    /// The value sent, with `${apiKey}` replaced by the connection's key (e.g. `Bearer ${apiKey}`).
    pub fn value_template(mut self, template: impl Into<String>) -> Self {
        self.value_template = Some(template.into());
        self
    }

    /// The label of the key field in the Connect UI.
    pub fn key_label(mut self, label: impl Into<String>) -> Self {
        self.key_label = Some(label.into());
        self
    }
}

impl From<PrivateApiGeneric> for HashMap<String, String> {
    fn from(c: PrivateApiGeneric) -> Self {
        let mut map = HashMap::from([("baseUrl".to_owned(), c.base_url), ("keyName".to_owned(), c.key_name)]);
        if let Some(p) = c.key_placement {
            map.insert("keyPlacement".to_owned(), p.as_str().to_owned());
        }
        if let Some(t) = c.value_template {
            map.insert("valueTemplate".to_owned(), t);
        }
        if let Some(l) = c.key_label {
            map.insert("keyLabel".to_owned(), l);
        }
        map
    }
}

/// Changes to the `integration_config` of a `private-api-generic` integration: only the
/// fields set here are sent (and merged into the stored ones by the server).
///
/// ```
/// use nango_sdk::{KeyPlacement, PrivateApiGenericPatch, types::UpdateIntegrationRequest};
///
/// let body = UpdateIntegrationRequest {
///     integration_config: PrivateApiGenericPatch::default().key_placement(KeyPlacement::Query).key_name("api_key").into(),
///     ..Default::default()
/// };
/// assert_eq!(body.integration_config.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivateApiGenericPatch {
    fields: HashMap<String, String>,
}

impl PrivateApiGenericPatch {
    fn set(mut self, name: &str, value: String) -> Self {
        self.fields.insert(name.to_owned(), value);
        self
    }

    /// New base URL.
    pub fn base_url(self, url: impl Into<String>) -> Self {
        self.set("baseUrl", url.into())
    }

    /// New header or parameter name.
    pub fn key_name(self, name: impl Into<String>) -> Self {
        self.set("keyName", name.into())
    }

    /// New key placement.
    pub fn key_placement(self, placement: KeyPlacement) -> Self {
        self.set("keyPlacement", placement.as_str().to_owned())
    }

    /// New value template (must contain `${apiKey}`).
    pub fn value_template(self, template: impl Into<String>) -> Self {
        self.set("valueTemplate", template.into())
    }

    /// New Connect UI label; an empty string clears it.
    pub fn key_label(self, label: impl Into<String>) -> Self {
        self.set("keyLabel", label.into())
    }
}

impl From<PrivateApiGenericPatch> for HashMap<String, String> {
    fn from(p: PrivateApiGenericPatch) -> Self {
        p.fields
    }
}
