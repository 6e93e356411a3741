//! Settings: webhook URLs and events, the signing key (reveal, rotate), the Slack alert URL.
//!
//! The form builds the body of `PATCH /environment/webhook` and goes through the API's parser
//! and the webhook service. Secrets stay out of pages by default: the Slack URL is write-only
//! (the page only says whether one is set), and the signing key is masked until a POST asks
//! to reveal it (that answer is never stored by the browser); rotating asks first.

use maud::{Markup, html};
use poem::{
    Request, Response, handler,
    http::{StatusCode, header},
    web::Data,
};
use serde_json::{Value, json};

use super::{FieldAttrs, FormErrors, Section, Session, error_page, field, mask, page, see_other, text_field};
use crate::{AppState, api::environment::parse_patch, error::ApiError, model::webhook::WebhookSettings, service};

/// The event toggles: field name, label, what it means.
const EVENTS: [(&str, &str, &str); 4] = [
    ("on_auth_creation", "Connection created", "An auth webhook when a connection is created."),
    ("on_auth_refresh_error", "Credential failed", "An auth webhook when a connection's credential fails."),
    (
        "on_sync_completion_always",
        "Every successful sync run",
        "A sync webhook after every successful run, not only when records were added, updated or deleted.",
    ),
    ("on_sync_error", "Failed sync run", "A sync webhook with success: false when a run fails."),
];

/// What the form was filled with, to show it again with its errors (never the Slack URL).
#[derive(Debug, Clone)]
struct Filled {
    primary_url: String,
    secondary_url: String,
    events: [bool; 4],
}

impl Filled {
    fn stored(s: &WebhookSettings) -> Self {
        Self {
            primary_url: s.primary_url.clone().unwrap_or_default(),
            secondary_url: s.secondary_url.clone().unwrap_or_default(),
            events: [s.on_auth_creation, s.on_auth_refresh_error, s.on_sync_completion_always, s.on_sync_error],
        }
    }

    fn submitted(fields: &[(String, String)]) -> Self {
        Self {
            primary_url: field(fields, "primary_url").trim().to_owned(),
            secondary_url: field(fields, "secondary_url").trim().to_owned(),
            events: EVENTS.map(|(name, _, _)| field(fields, name) == "yes"),
        }
    }
}

fn settings_error(session: &Session, err: &ApiError) -> Response {
    let status = err.status();
    let message = FormErrors::from_api(err).general.join(" ");
    error_page(
        session,
        Section::Settings,
        if status.is_server_error() { StatusCode::INTERNAL_SERVER_ERROR } else { status },
        &message,
    )
}

fn check(name: &str, label: &str, hint: &str, checked: bool) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field.check.with-hint {
            input id=(id) type="checkbox" name=(name) value="yes" checked[checked] aria-describedby={ (id) "-hint" };
            label for=(id) { (label) }
            span.hint id={ (id) "-hint" } { (hint) }
        }
    }
}

/// What the page shows, besides the settings.
#[derive(Debug, Default)]
struct View<'a> {
    filled: Option<Filled>,
    errors: FormErrors,
    notice: Option<&'a str>,
    /// Show the signing key (only in the answer to the reveal POST).
    reveal: bool,
    /// Errors of the rotate form.
    rotate_errors: FormErrors,
}

fn settings_page(session: &Session, s: &WebhookSettings, view: View<'_>) -> Response {
    let filled = view.filled.clone().unwrap_or_else(|| Filled::stored(s));
    let errors = &view.errors;
    let slack_set = s.slack_url.is_some();
    let url_attrs =
        FieldAttrs { kind: "url", placeholder: Some("https://example.com/webhooks/nango"), ..Default::default() };
    let body = html! {
        @if let Some(n) = view.notice { p.notice role="status" { (n) } }
        p { "Settings of the " strong { (session.env().name) } " environment." }
        h2 #webhooks { "Webhooks" }
        (errors.summary(&["primary_url", "secondary_url", "slack_webhook_url"]))
        form.stack method="post" action="/dashboard/settings" {
            (session.csrf_field())
            (text_field("primary_url", "Primary URL", &filled.primary_url, Some("Receives the environment's webhooks. Empty: none."), errors, url_attrs))
            (text_field("secondary_url", "Secondary URL", &filled.secondary_url, Some("Also receives every webhook, unless a connection overrides the URL. Empty: none."), errors, url_attrs))
            fieldset {
                legend { "Events sent" }
                @for (i, (name, label, hint)) in EVENTS.iter().enumerate() {
                    (check(name, label, hint, filled.events[i]))
                }
            }
            fieldset {
                legend { "Slack alerts" }
                p #slack-state {
                    @if slack_set {
                        span.ok { "On" } ": a Slack URL is set. It is never shown; enter a new one to replace it."
                    } @else {
                        span.bad { "Off" } ": no Slack URL is set."
                    }
                }
                (text_field("slack_webhook_url", if slack_set { "New Slack incoming-webhook URL" } else { "Slack incoming-webhook URL" },
                    "", Some("Alerts on failed runs and auth errors. Leave empty to keep the current setting."), errors,
                    FieldAttrs { kind: "url", ..Default::default() }))
                @if slack_set {
                    (check("slack_off", "Turn Slack alerts off", "Forgets the Slack URL.", false))
                }
            }
            div { button type="submit" { "Save" } }
        }
        h2 #signing-key { "Signing key" }
        p { "Every webhook carries " code { "X-Nango-Hmac-Sha256" } ": the hex HMAC-SHA256 of the raw body keyed with this key. Verify it before trusting a webhook." }
        @if view.reveal {
            div.copy-row {
                label.visually-hidden for="signing-key-value" { "Signing key" }
                input #signing-key-value type="text" readonly value=(s.signing_key) autocomplete="off" spellcheck="false";
                button.secondary type="button" data-copy="signing-key-value" hidden { "Copy" }
                a href="/dashboard/settings" { "Hide" }
            }
        } @else {
            form.copy-row method="post" action="/dashboard/settings/signing-key" {
                (session.csrf_field())
                input type="hidden" name="action" value="reveal";
                code #signing-key-masked { (mask(&s.signing_key)) }
                button.secondary type="submit" { "Reveal" }
            }
        }
        h3 { "Rotate" }
        p { "A new random key signs every webhook sent from now on, pending retries included. Receivers that verify with the old key refuse them until you update them." }
        (view.rotate_errors.summary(&["confirm"]))
        form.stack method="post" action="/dashboard/settings/signing-key" data-confirm="Rotate the signing key? Receivers must be updated with the new key." {
            (session.csrf_field())
            input type="hidden" name="action" value="rotate";
            div.field.check {
                input #f-confirm type="checkbox" name="confirm" value="yes" required
                    aria-invalid=[view.rotate_errors.field("confirm").map(|_| "true")]
                    aria-describedby=[view.rotate_errors.field("confirm").map(|_| "f-confirm-error")];
                label for="f-confirm" { "I understand that the old key stops working" }
            }
            @if let Some(e) = view.rotate_errors.field("confirm") { p.field-error #f-confirm-error { (e) } }
            div { button.danger type="submit" { "Rotate the signing key" } }
        }
    };
    let mut resp = page(session, Section::Settings, "Settings", body);
    if !view.errors.is_empty() || !view.rotate_errors.is_empty() {
        resp.set_status(StatusCode::BAD_REQUEST);
    }
    resp
}

#[handler]
pub async fn show(req: &Request, session: Session, state: Data<&AppState>) -> Response {
    let settings = match service::webhook::settings(&state.ctx, session.env()).await {
        Ok(s) => s,
        Err(e) => return settings_error(&session, &e.into()),
    };
    let query = req.uri().query().unwrap_or_default();
    let notice = if query.contains("saved=1") {
        Some("Saved.")
    } else if query.contains("rotated=1") {
        Some("The signing key was rotated. Reveal it to update your receivers.")
    } else {
        None
    };
    settings_page(&session, &settings, View { notice, ..View::default() })
}

/// Saves the webhook settings through `PATCH /environment/webhook`'s parser.
#[handler]
pub async fn update(req: &Request, body: poem::Body, session: Session, state: Data<&AppState>) -> Response {
    let fields = match session.posted(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let filled = Filled::submitted(&fields);
    let mut patch = json!({
        "primary_url": filled.primary_url,
        "secondary_url": filled.secondary_url,
    });
    for (i, (name, _, _)) in EVENTS.iter().enumerate() {
        patch[*name] = Value::Bool(filled.events[i]);
    }
    let slack = field(&fields, "slack_webhook_url").trim();
    if field(&fields, "slack_off") == "yes" {
        patch["slack_webhook_url"] = Value::Null;
    } else if !slack.is_empty() {
        patch["slack_webhook_url"] = Value::String(slack.to_owned());
    }
    let result = match parse_patch(Some(&patch)) {
        Ok(p) => service::webhook::update(&state.ctx, session.env(), p).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let err = match result {
        Ok(_) => return see_other("/dashboard/settings?saved=1#webhooks"),
        Err(e) => e,
    };
    let mut errors = FormErrors::from_api(&err);
    if errors.fields.is_empty() && err.status().is_server_error() {
        return settings_error(&session, &err);
    }
    // The Slack URL is not shown again: say so when it was typed and is now lost.
    if !slack.is_empty() && errors.field("slack_webhook_url").is_none() {
        errors
            .fields
            .push(("slack_webhook_url".to_owned(), "Nothing was saved: enter the Slack URL again.".to_owned()));
    }
    let settings = match service::webhook::settings(&state.ctx, session.env()).await {
        Ok(s) => s,
        Err(e) => return settings_error(&session, &e.into()),
    };
    settings_page(&session, &settings, View { filled: Some(filled), errors, ..View::default() })
}

/// Reveals (`action=reveal`) or rotates (`action=rotate`, with `confirm=yes`) the signing key.
#[handler]
pub async fn signing_key(req: &Request, body: poem::Body, session: Session, state: Data<&AppState>) -> Response {
    let fields = match session.posted(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let ctx = &state.ctx;
    match field(&fields, "action") {
        "reveal" => {
            let settings = match service::webhook::settings(ctx, session.env()).await {
                Ok(s) => s,
                Err(e) => return settings_error(&session, &e.into()),
            };
            let mut resp = settings_page(&session, &settings, View { reveal: true, ..View::default() });
            resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            resp
        }
        "rotate" if field(&fields, "confirm") == "yes" => {
            match service::webhook::rotate_signing_key(ctx, session.env()).await {
                Ok(_) => see_other("/dashboard/settings?rotated=1#signing-key"),
                Err(e) => settings_error(&session, &e.into()),
            }
        }
        "rotate" => {
            let settings = match service::webhook::settings(ctx, session.env()).await {
                Ok(s) => s,
                Err(e) => return settings_error(&session, &e.into()),
            };
            let rotate_errors = FormErrors {
                general: Vec::new(),
                fields: vec![("confirm".to_owned(), "Tick the box to confirm the rotation.".to_owned())],
            };
            settings_page(&session, &settings, View { rotate_errors, ..View::default() })
        }
        _ => see_other("/dashboard/settings"),
    }
}
