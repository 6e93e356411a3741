//! Dashboard sessions. A person signs in with an environment's secret key (more keys add
//! environments to the session, and a switch chooses the active one). The session is a cookie
//! sealed with the server's encryption key (AES-GCM-SIV: nobody can read or forge it), holding
//! the keys, the active environment, an expiry and the CSRF token; it is `HttpOnly`,
//! `SameSite=Strict`, `Secure` over HTTPS, limited to `/dashboard`. Every request checks the
//! keys again (through the same cached lookup as the API), so a rotated key ends its sessions
//! at once. Failed sign-ins are limited per client address. The sealing and the limit are
//! `service::dashboard`'s; this module owns the cookie, the pages and the CSRF checks.

use maud::{Markup, html};
use poem::{
    FromRequest, IntoResponse, Request, RequestBody, Response, handler,
    http::{StatusCode, header},
    web::Data,
};

use super::{FieldAttrs, FormErrors, bare_page, field, form_fields, see_other, text_field};
use crate::{
    AppState,
    model::environment::Environment,
    service::{self, dashboard, dashboard::SessionData},
};

const COOKIE: &str = "nango_dashboard";
const LOGIN_CSRF_COOKIE: &str = "nango_dashboard_login";
/// A signed-in person: the environments their keys open, the active one, and the CSRF token
/// every form carries.
#[derive(Debug, Clone)]
pub struct Session {
    sealed: SessionData,
    environments: Vec<Environment>,
    active: usize,
}

impl Session {
    /// The environment pages act in.
    pub fn env(&self) -> &Environment {
        &self.environments[self.active]
    }

    /// Every environment the session may see.
    pub fn environments(&self) -> &[Environment] {
        &self.environments
    }

    pub fn active_index(&self) -> usize {
        self.active
    }

    /// The hidden CSRF input of a form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.sealed.csrf); }
    }

    /// The fields of a form posted in this session, refused (as a page) unless it is a form
    /// that carries the session's CSRF token.
    pub async fn posted(&self, req: &Request, body: poem::Body) -> Result<Vec<(String, String)>, Response> {
        let fields = form_fields(req, body).await?;
        self.check_csrf(&fields)?;
        Ok(fields)
    }

    /// Whether a submitted form carries this session's CSRF token.
    pub fn check_csrf(&self, fields: &[(String, String)]) -> Result<(), Response> {
        use subtle::ConstantTimeEq as _;
        let given = field(fields, "csrf");
        if bool::from(given.as_bytes().ct_eq(self.sealed.csrf.as_bytes())) && !given.is_empty() {
            Ok(())
        } else {
            Err(bare_page(
                StatusCode::FORBIDDEN,
                "This form expired",
                html! { p { "The page was open too long or came from elsewhere. " a href="/dashboard/" { "Start again" } "." } },
            ))
        }
    }
}

fn cookie_value(req: &Request, name: &str) -> Option<String> {
    req.headers().get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(
        |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        },
    )
}

/// Whether the person reached us over HTTPS (directly or through a proxy that says so).
fn is_https(req: &Request, state: &AppState) -> bool {
    req.uri().scheme_str() == Some("https")
        || req.headers().get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
        || state.ctx.public_url.starts_with("https://")
}

fn set_cookie(req: &Request, state: &AppState, name: &str, value: &str, max_age: i64) -> String {
    let secure = if is_https(req, state) { "; Secure" } else { "" };
    format!("{name}={value}; Path=/dashboard; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

async fn resolve(state: &AppState, sealed: SessionData) -> Option<Session> {
    let mut environments = Vec::with_capacity(sealed.keys.len());
    let mut keys = Vec::with_capacity(sealed.keys.len());
    for key in &sealed.keys {
        if let Ok(Some(env)) = service::environment::authenticate(&state.ctx, key).await
            && !environments.iter().any(|e: &Environment| e.id == env.id)
        {
            environments.push(env);
            keys.push(key.clone());
        }
    }
    if environments.is_empty() {
        return None;
    }
    let active = sealed.active.min(environments.len() - 1);
    Some(Session { sealed: SessionData { keys, active, ..sealed }, environments, active })
}

impl<'a> FromRequest<'a> for Session {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state =
            req.data::<AppState>().ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
        let session = match cookie_value(req, COOKIE).and_then(|v| dashboard::open(&state.ctx, &v)) {
            Some(sealed) => resolve(state, sealed).await,
            None => None,
        };
        session.ok_or_else(|| {
            let to = format!("/dashboard/sign-in?next={}", super::enc(req.original_uri().path()));
            poem::Error::from_response(see_other(&to))
        })
    }
}

fn safe_next(next: &str) -> &str {
    // Only a path of the dashboard itself (never another site, never `//host`).
    if next.starts_with("/dashboard/") && !next.starts_with("//") && !next.contains("://") && !next.contains('\\') {
        next
    } else {
        "/dashboard/"
    }
}

fn sign_in_page(status: StatusCode, next: &str, csrf: &str, errors: &FormErrors, adding: bool) -> Response {
    let title = if adding { "Add an environment" } else { "Sign in" };
    bare_page(
        status,
        title,
        html! {
            p { "Sign in with an environment's secret key: the key the server wrote to "
                code { "secret-key-dev" } " in its data directory on first start (or "
                code { "NANGO_SECRET_KEY_DEV" } ", " code { "NANGO_SECRET_KEY_PROD" } "). Each key opens its environment; sign in with another key to add one." }
            (errors.summary(&["secret_key"]))
            form method="post" action="/dashboard/sign-in" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                (text_field("secret_key", "Secret key", "", None, errors, FieldAttrs { kind: "password", required: true, placeholder: None }))
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// The sign-in form (with a fresh login CSRF token in a cookie of its own).
#[handler]
pub async fn sign_in_form(req: &Request, state: Data<&AppState>) -> Response {
    let next = url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let csrf = dashboard::new_token();
    let adding = cookie_value(req, COOKIE).and_then(|v| dashboard::open(&state.ctx, &v)).is_some();
    let mut resp = sign_in_page(StatusCode::OK, safe_next(&next), &csrf, &FormErrors::default(), adding);
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(req, &state, LOGIN_CSRF_COOKIE, &csrf, 3600).parse().expect("cookie header"),
    );
    resp
}

/// Checks the key; on success adds its environment to the session (a new one, or the one
/// this browser has) and makes it active.
#[handler]
pub async fn sign_in(req: &Request, body: poem::Body, state: Data<&AppState>) -> Response {
    let fields = match form_fields(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let next = safe_next(field(&fields, "next")).to_owned();
    let csrf = field(&fields, "csrf");
    let expected = cookie_value(req, LOGIN_CSRF_COOKIE).unwrap_or_default();
    {
        use subtle::ConstantTimeEq as _;
        if csrf.is_empty() || !bool::from(csrf.as_bytes().ct_eq(expected.as_bytes())) {
            return see_other("/dashboard/sign-in");
        }
    }
    let ip = req.remote_addr().as_socket_addr().map(|a| a.ip());
    if let Some(wait) = dashboard::sign_in_blocked(&state.ctx, ip) {
        let minutes = wait.as_secs().div_ceil(60);
        let errors = FormErrors::message(format!(
            "Too many wrong keys from this address. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        ));
        return sign_in_page(StatusCode::TOO_MANY_REQUESTS, &next, csrf, &errors, false);
    }
    let key = field(&fields, "secret_key").trim().to_owned();
    let env = if key.is_empty() || key.len() > 256 {
        None
    } else {
        service::environment::authenticate(&state.ctx, &key).await.ok().flatten()
    };
    let Some(env) = env else {
        dashboard::record_sign_in_failure(&state.ctx, ip);
        let errors = FormErrors {
            general: Vec::new(),
            fields: vec![("secret_key".to_owned(), "This key does not open any environment.".to_owned())],
        };
        return sign_in_page(StatusCode::UNAUTHORIZED, &next, csrf, &errors, false);
    };
    let existing = match cookie_value(req, COOKIE).and_then(|v| dashboard::open(&state.ctx, &v)) {
        Some(sealed) => resolve(&state, sealed).await,
        None => None,
    };
    // The keys of an existing session were checked by `resolve` (invalid ones dropped).
    let (mut sealed, environments) = match existing {
        Some(s) => (s.sealed, s.environments),
        None => (SessionData::new(), Vec::new()),
    };
    match environments.iter().position(|e| e.id == env.id) {
        Some(i) => sealed.active = i,
        None => {
            sealed.keys.push(key);
            sealed.active = sealed.keys.len() - 1;
        }
    }
    write_session(req, &state, &sealed, &next)
}

fn write_session(req: &Request, state: &AppState, sealed: &SessionData, to: &str) -> Response {
    let Some(value) = dashboard::seal(&state.ctx, sealed) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let max_age = (sealed.exp - chrono::Utc::now().timestamp()).max(0);
    let mut resp = see_other(to);
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(req, state, COOKIE, &value, max_age).parse().expect("cookie header"));
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(req, state, LOGIN_CSRF_COOKIE, "", 0).parse().expect("cookie header"));
    resp
}

/// Ends the session (the cookie is cleared).
#[handler]
pub async fn sign_out(req: &Request, body: poem::Body, session: Session, state: Data<&AppState>) -> Response {
    if let Err(resp) = session.posted(req, body).await {
        return resp;
    }
    let mut resp = see_other("/dashboard/sign-in");
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(req, &state, COOKIE, "", 0).parse().expect("cookie header"));
    resp
}

/// Makes another of the session's environments the active one.
#[handler]
pub async fn switch_environment(req: &Request, body: poem::Body, session: Session, state: Data<&AppState>) -> Response {
    let fields = match session.posted(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let mut sealed = session.sealed.clone();
    if let Ok(i) = field(&fields, "environment").parse::<usize>()
        && i < sealed.keys.len()
    {
        sealed.active = i;
    }
    let back = req
        .headers()
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| {
            // The same section in the other environment (a detail page may not exist there).
            let section = u.path().trim_start_matches("/dashboard/").split('/').next().unwrap_or_default().to_owned();
            format!("/dashboard/{section}")
        })
        .unwrap_or_default();
    write_session(req, &state, &sealed, safe_next(&back))
}
