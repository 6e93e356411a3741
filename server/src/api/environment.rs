//! The environment's webhook settings: where auth webhooks go and the key that signs them.

use poem::{Request, web::Data};
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    extract::{JsonBody, SecretKey},
    rules::webhook_url,
    validate::{self, Obj, StrRule},
};
use crate::{
    AppState,
    error::{ApiError, Code},
    model::webhook::WebhookSettings,
    service::webhook::{self as svc, WebhookPatch},
};

/// Where the environment's webhooks go and how they are signed.
#[derive(Debug, Clone, Object)]
pub struct WebhookSettingsResponse {
    /// Primary URL (null: none).
    #[oai(nullable)]
    pub primary_url: Option<String>,
    /// Secondary URL, also sent every webhook unless a connection overrides the URL.
    #[oai(nullable)]
    pub secondary_url: Option<String>,
    /// Whether `auth` webhooks are sent when a connection is created.
    pub on_auth_creation: bool,
    /// Whether `auth` webhooks are sent when a credential fails.
    pub on_auth_refresh_error: bool,
    /// Whether `sync` webhooks are sent after every successful run (`false`: only when records
    /// were added, updated or deleted).
    pub on_sync_completion_always: bool,
    /// Whether a `sync` webhook with `success: false` is sent when a sync run fails.
    pub on_sync_error: bool,
    /// Whether Slack alerts are on (a Slack URL is set; the URL itself is never shown).
    pub slack_alerts: bool,
    /// The key that signs webhooks: verify `X-Nango-Hmac-Sha256` (hex HMAC-SHA256 of the raw
    /// body with this key).
    pub signing_key: String,
}

/// `PATCH /environment/webhook` body: only the given fields change; an empty string or null
/// clears a URL.
#[derive(Debug, Clone, Object)]
pub struct UpdateWebhookSettingsRequest {
    /// Primary URL (null or an empty string clears it).
    #[oai(nullable, skip_serializing_if_is_none)]
    pub primary_url: Option<String>,
    /// Secondary URL (null or an empty string clears it).
    #[oai(nullable, skip_serializing_if_is_none)]
    pub secondary_url: Option<String>,
    /// Send `auth` webhooks on connection creation.
    #[oai(skip_serializing_if_is_none)]
    pub on_auth_creation: Option<bool>,
    /// Send `auth` webhooks on credential failures.
    #[oai(skip_serializing_if_is_none)]
    pub on_auth_refresh_error: Option<bool>,
    /// Send `sync` webhooks after every successful run, not only when records changed.
    #[oai(skip_serializing_if_is_none)]
    pub on_sync_completion_always: Option<bool>,
    /// Send a `sync` webhook when a sync run fails.
    #[oai(skip_serializing_if_is_none)]
    pub on_sync_error: Option<bool>,
    /// Slack incoming-webhook URL for alerts on failed runs and auth errors (null or an empty
    /// string turns them off).
    #[oai(nullable, skip_serializing_if_is_none)]
    pub slack_webhook_url: Option<String>,
}

fn response(s: WebhookSettings) -> Json<WebhookSettingsResponse> {
    Json(WebhookSettingsResponse {
        primary_url: s.primary_url,
        secondary_url: s.secondary_url,
        on_auth_creation: s.on_auth_creation,
        on_auth_refresh_error: s.on_auth_refresh_error,
        on_sync_completion_always: s.on_sync_completion_always,
        on_sync_error: s.on_sync_error,
        slack_alerts: s.slack_url.is_some(),
        signing_key: s.signing_key,
    })
}

fn url_field(o: &mut Obj<'_>, name: &'static str) -> Option<Option<String>> {
    match o.raw(name) {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(_) => {
            let value = o.string(name, &StrRule::default(), false);
            let (url, issues) = webhook_url(value, vec![name.to_owned()]);
            o.extend(issues);
            Some(url)
        }
    }
}

pub(crate) fn parse_patch(value: Option<&serde_json::Value>) -> Result<WebhookPatch, ApiError> {
    let mut o = Obj::new(value, vec![]);
    let primary_url = url_field(&mut o, "primary_url");
    let secondary_url = url_field(&mut o, "secondary_url");
    let on_auth_creation = o.boolean("on_auth_creation");
    let on_auth_refresh_error = o.boolean("on_auth_refresh_error");
    let on_sync_completion_always = o.boolean("on_sync_completion_always");
    let on_sync_error = o.boolean("on_sync_error");
    let slack_url = url_field(&mut o, "slack_webhook_url");
    validate::done(
        WebhookPatch {
            primary_url,
            secondary_url,
            on_auth_creation,
            on_auth_refresh_error,
            on_sync_completion_always,
            on_sync_error,
            slack_url,
        },
        o.finish(),
        Code::InvalidBody,
    )
}

/// The environment's webhook settings.
pub struct EnvironmentApi;

#[OpenApi(tag = "ApiTags::Webhooks")]
impl EnvironmentApi {
    /// Get the webhook settings
    ///
    /// Where the environment's webhooks go, which auth events are sent, and the signing key
    /// (created on first use).
    #[oai(path = "/environment/webhook", method = "get", operation_id = "get_webhook_settings")]
    async fn get_webhook_settings(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
    ) -> Result<Json<WebhookSettingsResponse>, ApiError> {
        validate::empty_query(req.uri().query())?;
        Ok(response(svc::settings(&state.ctx, &auth.0).await?))
    }

    /// Update the webhook settings
    ///
    /// Changes the given fields only. Webhooks already queued keep their URL.
    #[oai(path = "/environment/webhook", method = "patch", operation_id = "update_webhook_settings")]
    async fn update_webhook_settings(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<UpdateWebhookSettingsRequest>,
    ) -> Result<Json<WebhookSettingsResponse>, ApiError> {
        validate::empty_query(req.uri().query())?;
        let patch = parse_patch(body.value())?;
        Ok(response(svc::update(&state.ctx, &auth.0, patch).await?))
    }

    /// Rotate the webhook signing key
    ///
    /// Replaces the signing key with a new random one and returns the settings with it.
    /// Deliveries still pending are signed with the new key when they are sent.
    #[oai(
        path = "/environment/webhook-signing-key/rotate",
        method = "post",
        operation_id = "rotate_webhook_signing_key"
    )]
    async fn rotate_webhook_signing_key(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
    ) -> Result<Json<WebhookSettingsResponse>, ApiError> {
        validate::empty_query(req.uri().query())?;
        Ok(response(svc::rotate_signing_key(&state.ctx, &auth.0).await?))
    }
}
