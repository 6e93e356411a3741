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
    /// Send `sync` webhooks after every successful run, not only when records changed.
    pub on_sync_completion_always: bool,
    /// Send a `sync` webhook with `success: false` when a run fails.
    pub on_sync_error: bool,
    /// Slack incoming-webhook URL for alerts (a bearer secret: sealed at rest, never shown).
    pub slack_url: Option<String>,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("primary_url", &self.primary_url)
            .field("secondary_url", &self.secondary_url)
            .field("signing_key", &"***")
            .field("on_auth_creation", &self.on_auth_creation)
            .field("on_auth_refresh_error", &self.on_auth_refresh_error)
            .field("on_sync_completion_always", &self.on_sync_completion_always)
            .field("on_sync_error", &self.on_sync_error)
            .field("slack_url", &self.slack_url.as_ref().map(|_| "***"))
            .finish()
    }
}
