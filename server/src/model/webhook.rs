//! An environment's webhook settings.

use std::fmt;

/// An environment's webhook settings. `Debug` hides the signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub primary_url: Option<String>,
    pub secondary_url: Option<String>,
    /// Signs every webhook (`X-Nango-Hmac-Sha256`, `X-Nango-Signature`).
    pub signing_key: String,
    /// Send `auth` webhooks when a connection is created.
    pub on_auth_creation: bool,
    /// Send `auth` webhooks when a credential fails.
    pub on_auth_refresh_error: bool,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("primary_url", &self.primary_url)
            .field("secondary_url", &self.secondary_url)
            .field("signing_key", &"***")
            .field("on_auth_creation", &self.on_auth_creation)
            .field("on_auth_refresh_error", &self.on_auth_refresh_error)
            .finish()
    }
}
