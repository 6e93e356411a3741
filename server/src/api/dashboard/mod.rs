//! The management dashboard at `/dashboard/`: server-rendered HTML (maud), working without
//! JavaScript (a small same-origin script only adds copy buttons and confirmations), under a
//! strict Content-Security-Policy with no external asset. A person signs in with an
//! environment's secret key; the session is a sealed cookie (see [`session`]). Pages call the
//! same parsers and services as the API, so a form gets the API's validation and messages.

mod connections;
mod functions;
mod integrations;
mod logs;
pub mod session;
mod settings;

use maud::{DOCTYPE, Markup, html};
use poem::{
    Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler,
    http::{StatusCode, header},
    post,
    web::{Path, Redirect},
};

pub use self::session::Session;
use crate::error::ApiError;

/// The policy of every dashboard page: nothing from elsewhere, scripts and styles only from
/// `/dashboard/assets/`, forms only to this server, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes, mounted at `/dashboard`.
pub fn routes() -> impl Endpoint {
    Route::new()
        .at("/", get(integrations::home))
        .at("/sign-in", get(session::sign_in_form).post(session::sign_in))
        .at("/sign-out", post(session::sign_out))
        .at("/environment", post(session::switch_environment))
        .at("/assets/:name", get(asset))
        .at("/integrations", get(integrations::list).post(integrations::create))
        .at("/integrations/new", get(integrations::new_form))
        .at("/integrations/:key", get(integrations::show).post(integrations::update))
        .at("/integrations/:key/delete", get(integrations::confirm_delete).post(integrations::delete))
        .at("/connections", get(connections::list))
        .at("/connections/connect-link", get(connections::connect_link_form).post(connections::create_connect_link))
        .at("/connections/:key/:id", get(connections::show))
        .at("/connections/:key/:id/metadata", post(connections::update_metadata))
        .at("/connections/:key/:id/syncs", post(connections::control_sync))
        .at("/connections/:key/:id/delete", get(connections::confirm_delete).post(connections::delete))
        .at("/logs", get(logs::list))
        .at("/logs/:id", get(logs::show))
        .at("/functions", get(functions::list))
        .at("/functions/:key/:name/run", get(functions::run_form).post(functions::run))
        .at("/records", get(functions::records))
        .at("/settings", get(settings::show).post(settings::update))
        .at("/settings/signing-key", post(settings::signing_key))
        .around(|ep, req| async move {
            let resp = ep.call(req).await?.into_response();
            Ok(secure(resp))
        })
}

/// Adds the dashboard's headers to a response (pages, redirects and errors alike).
fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(CSP));
    h.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    resp
}

/// The stylesheet and the script, embedded in the binary.
#[handler]
fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "dashboard.css" => (include_str!("assets/dashboard.css"), "text/css; charset=utf-8"),
        "dashboard.js" => (include_str!("assets/dashboard.js"), "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    body.with_content_type(kind).with_header(header::CACHE_CONTROL, "public, max-age=300").into_response()
}

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Integrations,
    Connections,
    Logs,
    Functions,
    Settings,
}

impl Section {
    const ALL: [(Section, &'static str, &'static str); 5] = [
        (Section::Integrations, "Integrations", "/dashboard/integrations"),
        (Section::Connections, "Connections", "/dashboard/connections"),
        (Section::Logs, "Logs", "/dashboard/logs"),
        (Section::Functions, "Functions", "/dashboard/functions"),
        (Section::Settings, "Settings", "/dashboard/settings"),
    ];
}

/// A whole page: head, header with the navigation and the environment switch, then `body`.
pub fn page(session: &Session, section: Section, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Nango dashboard" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/dashboard/assets/dashboard.css";
                script src="/dashboard/assets/dashboard.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/dashboard/" { "nango-rs" }
                    nav aria-label="Sections" {
                        ul {
                            @for (s, label, href) in Section::ALL {
                                li { a href=(href) aria-current=[(s == section).then_some("page")] { (label) } }
                            }
                        }
                    }
                    form.env method="post" action="/dashboard/environment" {
                        (session.csrf_field())
                        label for="env" { "Environment" }
                        select #env name="environment" data-autosubmit {
                            @for (i, env) in session.environments().iter().enumerate() {
                                option value=(i) selected[i == session.active_index()] { (env.name) }
                            }
                        }
                        button.secondary type="submit" { "Switch" }
                    }
                    form.signout method="post" action="/dashboard/sign-out" {
                        (session.csrf_field())
                        button.link type="submit" { "Sign out" }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    html_response(StatusCode::OK, markup)
}

/// A page for someone who is not signed in (sign-in, errors before a session exists).
pub fn bare_page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Nango dashboard" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/dashboard/assets/dashboard.css";
            }
            body.bare {
                main #main {
                    p.brand { "nango-rs" }
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    html_response(status, markup)
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    Response::builder().status(status).content_type("text/html; charset=utf-8").body(markup.into_string())
}

/// A 303 to `to` (after a form was handled).
pub fn see_other(to: &str) -> Response {
    Redirect::see_other(to).into_response()
}

/// An error page inside the layout, for what went wrong with a request (not found, refused).
pub fn error_page(session: &Session, section: Section, status: StatusCode, message: &str) -> Response {
    let mut resp = page(session, section, "Something went wrong", html! { p.error role="alert" { (message) } });
    resp.set_status(status);
    resp
}

/// An API error as a page of `section`, with the error's status (500 for what failed here).
pub fn api_error(session: &Session, section: Section, err: &ApiError) -> Response {
    let status = err.status();
    let status = if status.is_server_error() { StatusCode::INTERNAL_SERVER_ERROR } else { status };
    error_page(session, section, status, &FormErrors::from_api(err).one_line())
}

/// What an API error says, by field (`path` joined with `.`) and in general.
#[derive(Debug, Default)]
pub struct FormErrors {
    pub general: Vec<String>,
    pub fields: Vec<(String, String)>,
}

impl FormErrors {
    /// The messages of an API error: its issues by path, or its message.
    pub fn from_api(err: &ApiError) -> Self {
        let envelope = err.envelope();
        let mut errors = Self::default();
        if let Some(issues) = &envelope.error.errors {
            for issue in issues {
                if issue.path.is_empty() {
                    errors.general.push(issue.message.clone());
                } else {
                    errors.fields.push((issue.path.join("."), issue.message.clone()));
                }
            }
        }
        if errors.general.is_empty() && errors.fields.is_empty() {
            let message = envelope.error.message.clone().unwrap_or_else(|| envelope.error.code.clone());
            errors.general.push(message);
        }
        errors
    }

    /// A single general message.
    pub fn message(message: impl Into<String>) -> Self {
        Self { general: vec![message.into()], fields: Vec::new() }
    }

    /// The message for field `name` (the last segments of an issue's path), if any.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(path, _)| path == name || path.ends_with(&format!(".{name}")))
            .map(|(_, m)| m.as_str())
    }

    /// Every message on one line (field messages prefixed by their path).
    pub fn one_line(&self) -> String {
        self.general
            .iter()
            .cloned()
            .chain(self.fields.iter().map(|(p, m)| format!("{p}: {m}")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.general.is_empty() && self.fields.is_empty()
    }

    /// The general messages (and the field messages no field shows), as an alert.
    pub fn summary(&self, shown: &[&str]) -> Markup {
        let unshown: Vec<&(String, String)> = self
            .fields
            .iter()
            .filter(|(p, _)| !shown.iter().any(|s| p == s || p.ends_with(&format!(".{s}"))))
            .collect();
        html! {
            @if !self.general.is_empty() || !unshown.is_empty() {
                div.error role="alert" {
                    @for m in &self.general { p { (m) } }
                    @for (p, m) in unshown { p { code { (p) } ": " (m) } }
                }
            }
        }
    }
}

/// One labelled input with its error (`aria-invalid`, described by the message).
pub fn text_field(
    name: &str,
    label: &str,
    value: &str,
    hint: Option<&str>,
    errors: &FormErrors,
    attrs: FieldAttrs,
) -> Markup {
    let error = errors.field(name);
    let id = format!("f-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described: Vec<&str> =
        [hint.map(|_| hint_id.as_str()), error.map(|_| error_id.as_str())].into_iter().flatten().collect();
    html! {
        div.field {
            label for=(id) { (label) @if attrs.required { span.req aria-hidden="true" { " *" } } }
            @if let Some(h) = hint { p.hint id=(hint_id) { (h) } }
            input id=(id) name=(name) type=(attrs.kind) value=(value)
                required[attrs.required] autocomplete="off" spellcheck="false"
                placeholder=[attrs.placeholder]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[(!described.is_empty()).then(|| described.join(" "))];
            @if let Some(e) = error { p.field-error id=(error_id) { (e) } }
        }
    }
}

/// Options of [`text_field`].
#[derive(Debug, Clone, Copy)]
pub struct FieldAttrs {
    pub kind: &'static str,
    pub required: bool,
    pub placeholder: Option<&'static str>,
}

impl Default for FieldAttrs {
    fn default() -> Self {
        Self { kind: "text", required: false, placeholder: None }
    }
}

/// A timestamp as people read it, in UTC, with the machine form in `datetime`.
pub fn time(at: chrono::DateTime<chrono::Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) { (at.format("%Y-%m-%d %H:%M:%S UTC")) } }
}

/// `…` in place of all but the last four characters of a secret.
pub fn mask(secret: &str) -> String {
    let count = secret.chars().count();
    if count <= 8 {
        return "••••••••".to_owned();
    }
    let tail: String = secret.chars().skip(count - 4).collect();
    format!("••••••••{tail}")
}

/// Everything but RFC 3986's unreserved characters is encoded.
const UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes a path segment or query value (`acme-fn` stays `acme-fn`).
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// The request's form fields, in order (`application/x-www-form-urlencoded`), at most 1 MiB.
pub async fn form_fields(req: &Request, body: poem::Body) -> Result<Vec<(String, String)>, Response> {
    let is_form = req
        .content_type()
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
    }
    let bytes = body.into_bytes_limit(1024 * 1024).await.map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

/// The value of field `name` in `fields` (empty when missing).
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}
