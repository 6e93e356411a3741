//! Integrations: list, create (with every `integration_config` field of the provider), edit,
//! delete with confirmation. Forms go through the API's own parsers and services.

use maud::{Markup, html};
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Path},
};
use serde_json::{Map, Value, json};

use super::{FieldAttrs, FormErrors, Section, Session, api_error, enc, field, page, see_other, text_field, time};
use crate::{
    AppState,
    api::integration::{parse_create, parse_update},
    error::ApiError,
    service::{
        self,
        integration::Include,
        provider::{Provider, Support},
    },
};

/// The dashboard's home: the environment's integrations, or how to start when there are none.
#[handler]
pub async fn home(session: Session, state: Data<&AppState>) -> Response {
    list_page(&session, &state).await
}

#[handler]
pub async fn list(session: Session, state: Data<&AppState>) -> Response {
    list_page(&session, &state).await
}

async fn list_page(session: &Session, state: &AppState) -> Response {
    let ctx = &state.ctx;
    let integrations = match service::integration::list(ctx, session.env()).await {
        Ok(items) => items,
        Err(e) => return api_error(session, Section::Integrations, &ApiError::from(e)),
    };
    let statuses = service::activity::integration_statuses(ctx, session.env(), None).await.unwrap_or_default();
    let body = html! {
        p.actions { a.button href="/dashboard/integrations/new" { "New integration" } }
        @if integrations.is_empty() {
            p.empty { "No integration yet. Create one for the API your customers connect to, then import a connection or send your end user a Connect link." }
        } @else {
            div.table-wrap {
                table {
                    caption.visually-hidden { "Integrations" }
                    thead { tr { th scope="col" { "Integration" } th scope="col" { "Provider" } th scope="col" { "Auth" } th scope="col" { "Connections" } th scope="col" { "Auth errors" } th scope="col" { "Last failed call" } th scope="col" { "Created" } } }
                    tbody {
                        @for i in &integrations {
                            @let provider = ctx.catalog.get(&i.provider);
                            @let status = statuses.iter().find(|s| s.unique_key == i.unique_key);
                            tr {
                                td { a href={ "/dashboard/integrations/" (enc(&i.unique_key)) } { (i.display_name) } br; code.small { (i.unique_key) } }
                                td { (provider.map_or(i.provider.as_str(), |p| p.display_name.as_str())) }
                                td { (provider.map_or("?", |p| p.auth_mode.as_str())) }
                                td { a href={ "/dashboard/connections?integration=" (enc(&i.unique_key)) } { (status.map_or(0, |s| s.connections)) } }
                                td { (status.map_or(0, |s| s.connections_with_auth_error)) }
                                td { @match status.and_then(|s| s.last_failure.as_ref()) { Some(c) => { (c.status) " · " (time(ms(c.at_ms))) }, None => "—" } }
                                td { (time(i.created_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    page(session, Section::Integrations, "Integrations", body)
}

/// Providers an integration can be created for (API_KEY and BASIC), in catalog order.
fn connectable(state: &AppState) -> Vec<&Provider> {
    state.ctx.catalog.iter().filter(|p| !matches!(p.support, Support::AuthMode(_))).collect()
}

/// The values a form was filled with (to show them again with errors).
#[derive(Debug, Default)]
struct Filled {
    provider: String,
    unique_key: String,
    display_name: String,
    config: Vec<(String, String)>,
}

impl Filled {
    fn config(&self, name: &str) -> &str {
        self.config.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
}

fn config_fields(provider: Option<&Provider>, filled: &Filled, errors: &FormErrors) -> Markup {
    let Some(provider) = provider else { return html! {} };
    let Some(fields) = &provider.integration_config else { return html! {} };
    let described = |name: &str, key: &str| {
        provider
            .definition
            .get("integration_config")
            .and_then(|c| c.get(name))
            .and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    html! {
        fieldset {
            legend { "Settings of " (provider.display_name) }
            @for f in fields {
                @let name = format!("integration_config.{}", f.name);
                @let value = if filled.config(&f.name).is_empty() { f.default_value.clone().unwrap_or_default() } else { filled.config(&f.name).to_owned() };
                @if f.enum_values.is_empty() {
                    @let hint = described(&f.name, "description");
                    (text_field(&name, &f.title, &value, hint.as_deref(), errors, FieldAttrs { required: !f.optional, ..Default::default() }))
                } @else {
                    div.field {
                        label for={ "f-" (name) } { (f.title) }
                        @if let Some(h) = described(&f.name, "description") { p.hint { (h) } }
                        select id={ "f-" (name) } name=(name) aria-invalid=[errors.field(&name).map(|_| "true")] {
                            @for option in &f.enum_values {
                                option value=(option) selected[*option == value] { (option) }
                            }
                        }
                        @if let Some(e) = errors.field(&name) { p.field-error { (e) } }
                    }
                }
            }
        }
    }
}

fn new_page(session: &Session, state: &AppState, filled: &Filled, errors: &FormErrors, status: StatusCode) -> Response {
    let providers = connectable(state);
    let chosen = state
        .ctx
        .catalog
        .get(&filled.provider)
        .or_else(|| providers.iter().find(|p| p.name == "private-api-generic").copied());
    let body = html! {
        (errors.summary(&["provider", "unique_key", "display_name", "integration_config"]))
        form.stack method="get" action="/dashboard/integrations/new" {
            div.field {
                label for="f-provider" { "Provider" }
                p.hint { "Providers whose keys this server can store and inject (API key and basic auth). Choose one to see its settings." }
                select #f-provider name="provider" data-autosubmit {
                    @for p in &providers {
                        option value=(p.name) selected[chosen.is_some_and(|c| c.name == p.name)] { (p.display_name) " (" (p.auth_mode.as_str()) ")" }
                    }
                }
                button.secondary type="submit" { "Choose" }
            }
        }
        form.stack method="post" action="/dashboard/integrations" {
            (session.csrf_field())
            input type="hidden" name="provider" value=(chosen.map_or("", |p| p.name.as_str()));
            (text_field("unique_key", "Unique key", &filled.unique_key, Some("Your id for the integration (letters, digits, - and _), used as Provider-Config-Key."), errors, FieldAttrs { required: true, ..Default::default() }))
            (text_field("display_name", "Display name", &filled.display_name, None, errors, FieldAttrs::default()))
            (config_fields(chosen, filled, errors))
            button type="submit" { "Create integration" }
        }
    };
    let mut resp = page(session, Section::Integrations, "New integration", body);
    resp.set_status(status);
    resp
}

#[handler]
pub async fn new_form(req: &Request, session: Session, state: Data<&AppState>) -> Response {
    let provider = url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "provider")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    new_page(&session, &state, &Filled { provider, ..Default::default() }, &FormErrors::default(), StatusCode::OK)
}

fn filled(fields: &[(String, String)]) -> Filled {
    Filled {
        provider: field(fields, "provider").to_owned(),
        unique_key: field(fields, "unique_key").trim().to_owned(),
        display_name: field(fields, "display_name").trim().to_owned(),
        config: fields
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("integration_config.").map(|n| (n.to_owned(), v.trim().to_owned())))
            .collect(),
    }
}

fn config_json(filled: &Filled) -> Map<String, Value> {
    filled.config.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()
}

#[handler]
pub async fn create(req: &Request, body: poem::Body, session: Session, state: Data<&AppState>) -> Response {
    let fields = match session.posted(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let filled = filled(&fields);
    let mut body = json!({"provider": filled.provider, "unique_key": filled.unique_key});
    if !filled.display_name.is_empty() {
        body["display_name"] = Value::String(filled.display_name.clone());
    }
    let config = config_json(&filled);
    if !config.is_empty() {
        body["integration_config"] = Value::Object(config);
    }
    let result = match parse_create(Some(&body)) {
        Ok(input) => service::integration::create(&state.ctx, session.env(), input).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(view) => see_other(&format!("/dashboard/integrations/{}?created=1", enc(&view.unique_key))),
        Err(e) => {
            let errors = attach_config_errors(FormErrors::from_api(&e), state.ctx.catalog.get(&filled.provider));
            new_page(&session, &state, &filled, &errors, StatusCode::BAD_REQUEST)
        }
    }
}

async fn show_page(
    session: &Session,
    state: &AppState,
    key: &str,
    filled: Option<&Filled>,
    errors: &FormErrors,
    notice: Option<&str>,
) -> Response {
    let ctx = &state.ctx;
    let view =
        match service::integration::get(ctx, session.env(), key, Include { webhook: true, credentials: false }).await {
            Ok(v) => v,
            Err(e) => return api_error(session, Section::Integrations, &ApiError::from(e)),
        };
    let provider = ctx.catalog.get(&view.provider);
    let stored = service::integration::settings_of(ctx, session.env(), key).await.unwrap_or_default();
    let current = match filled {
        Some(f) => Filled {
            provider: view.provider.clone(),
            unique_key: f.unique_key.clone(),
            display_name: f.display_name.clone(),
            config: f.config.clone(),
        },
        None => Filled {
            provider: view.provider.clone(),
            unique_key: view.unique_key.clone(),
            display_name: view.display_name.clone(),
            config: stored.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        },
    };
    let base = format!("/dashboard/integrations/{}", enc(&view.unique_key));
    let body = html! {
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        dl.facts {
            dt { "Provider" } dd { (provider.map_or(view.provider.as_str(), |p| p.display_name.as_str())) " " code.small { (view.provider) } }
            dt { "Auth mode" } dd { (provider.map_or("?", |p| p.auth_mode.as_str())) }
            dt { "Created" } dd { (time(view.created_at)) }
            dt { "Updated" } dd { (time(view.updated_at)) }
            @if let Some(Some(url)) = &view.webhook_url { dt { "Webhook URL" } dd { code { (url) } } }
        }
        p.actions {
            a href={ "/dashboard/connections?integration=" (enc(&view.unique_key)) } { "Connections" }
            " · " a href={ "/dashboard/functions?integration=" (enc(&view.unique_key)) } { "Functions" }
            " · " a href={ "/dashboard/logs?integration=" (enc(&view.unique_key)) } { "Logs" }
        }
        h2 { "Edit" }
        (errors.summary(&["unique_key", "display_name", "integration_config"]))
        form.stack method="post" action=(base) {
            (session.csrf_field())
            (text_field("unique_key", "Unique key", &current.unique_key, Some("Renaming changes the Provider-Config-Key your code sends."), errors, FieldAttrs { required: true, ..Default::default() }))
            (text_field("display_name", "Display name", &current.display_name, None, errors, FieldAttrs::default()))
            (config_fields(provider, &current, errors))
            button type="submit" { "Save" }
        }
        h2 { "Delete" }
        p { a.danger href={ (base) "/delete" } { "Delete this integration…" } }
    };
    let mut resp = page(session, Section::Integrations, &view.display_name, body);
    if !errors.is_empty() {
        resp.set_status(StatusCode::BAD_REQUEST);
    }
    resp
}

#[handler]
pub async fn show(req: &Request, Path(key): Path<String>, session: Session, state: Data<&AppState>) -> Response {
    let query = req.uri().query().unwrap_or_default();
    let notice = if query.contains("created=1") {
        Some("The integration was created.")
    } else if query.contains("saved=1") {
        Some("Saved.")
    } else {
        None
    };
    show_page(&session, &state, &key, None, &FormErrors::default(), notice).await
}

#[handler]
pub async fn update(
    req: &Request,
    Path(key): Path<String>,
    body: poem::Body,
    session: Session,
    state: Data<&AppState>,
) -> Response {
    let fields = match session.posted(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let filled = filled(&fields);
    let mut body = json!({});
    if !filled.unique_key.is_empty() && filled.unique_key != key {
        body["unique_key"] = Value::String(filled.unique_key.clone());
    }
    if !filled.display_name.is_empty() {
        body["display_name"] = Value::String(filled.display_name.clone());
    }
    let config = config_json(&filled);
    if !config.is_empty() {
        body["integration_config"] = Value::Object(config);
    }
    let result = match parse_update(Some(&body)) {
        Ok(patch) => service::integration::update(&state.ctx, session.env(), &key, patch).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(view) => see_other(&format!("/dashboard/integrations/{}?saved=1", enc(&view.unique_key))),
        Err(e) => {
            let provider = service::integration::get(&state.ctx, session.env(), &key, Include::default())
                .await
                .ok()
                .and_then(|v| state.ctx.catalog.get(&v.provider));
            let errors = attach_config_errors(FormErrors::from_api(&e), provider);
            show_page(&session, &state, &key, Some(&filled), &errors, None).await
        }
    }
}

#[handler]
pub async fn confirm_delete(Path(key): Path<String>, session: Session, state: Data<&AppState>) -> Response {
    let view = match service::integration::get(&state.ctx, session.env(), &key, Include::default()).await {
        Ok(v) => v,
        Err(e) => return api_error(&session, Section::Integrations, &ApiError::from(e)),
    };
    let body = html! {
        p { "Deleting " strong { (view.display_name) } " (" code { (view.unique_key) } ") deletes its connections and their credentials, and its deployed functions. This cannot be undone." }
        form.stack method="post" action={ "/dashboard/integrations/" (enc(&view.unique_key)) "/delete" } data-confirm="Delete this integration and all its connections?" {
            (session.csrf_field())
            div.field.check {
                input #f-confirm type="checkbox" name="confirm" value="yes" required;
                label for="f-confirm" { "I understand that its connections are deleted too" }
            }
            button.danger type="submit" { "Delete integration" }
            " " a href={ "/dashboard/integrations/" (enc(&view.unique_key)) } { "Cancel" }
        }
    };
    page(&session, Section::Integrations, "Delete integration", body)
}

#[handler]
pub async fn delete(
    req: &Request,
    Path(key): Path<String>,
    body: poem::Body,
    session: Session,
    state: Data<&AppState>,
) -> Response {
    let fields = match session.posted(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    if field(&fields, "confirm") != "yes" {
        return see_other(&format!("/dashboard/integrations/{}/delete", enc(&key)));
    }
    match service::integration::delete(&state.ctx, session.env(), &key).await {
        Ok(()) => see_other("/dashboard/integrations"),
        Err(e) => api_error(&session, Section::Integrations, &ApiError::from(e)),
    }
}

/// Moves the integration-config messages of an API error (Nango's format joins them into one
/// message, each starting with the field's title) next to their fields.
fn attach_config_errors(mut errors: FormErrors, provider: Option<&Provider>) -> FormErrors {
    let Some(fields) = provider.and_then(|p| p.integration_config.as_ref()) else { return errors };
    let mut general = Vec::new();
    for message in std::mem::take(&mut errors.general) {
        // Split where a new message starts: ", " followed by a field's title.
        let mut parts: Vec<String> = Vec::new();
        for chunk in message.split(", ") {
            let starts_message =
                fields.iter().any(|f| chunk.starts_with(&f.title)) || chunk.starts_with("Unknown field");
            match parts.last_mut() {
                Some(last) if !starts_message => {
                    last.push_str(", ");
                    last.push_str(chunk);
                }
                _ => parts.push(chunk.to_owned()),
            }
        }
        for part in parts {
            match fields.iter().filter(|f| part.starts_with(&f.title)).max_by_key(|f| f.title.len()) {
                Some(f) => errors.fields.push((format!("integration_config.{}", f.name), part)),
                None => general.push(part),
            }
        }
    }
    errors.general = general;
    errors
}

/// Milliseconds since the epoch as a time.
pub fn ms(at_ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default()
}
