//! Dashboard sessions. A person signs in with an environment's secret key (more keys add
//! environments to the session, and a switch chooses the active one). The session is a cookie
//! sealed with the server's encryption key (AES-GCM-SIV: nobody can read or forge it), holding
//! the keys, the active environment, an expiry and the CSRF token; it is `HttpOnly`,
//! `SameSite=Strict`, `Secure` over HTTPS, limited to `/dashboard`. Every request checks the
//! keys again (through the same cached lookup as the API), so a rotated key ends its sessions
//! at once. Failed sign-ins are limited per client address.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use base64::Engine as _;
use maud::{Markup, html};
use poem::{
    FromRequest, IntoResponse, Request, RequestBody, Response, handler,
    http::{StatusCode, header},
    web::Data,
};
use serde::{Deserialize, Serialize};

use super::{FieldAttrs, FormErrors, bare_page, field, form_fields, see_other, text_field};
use crate::{AppState, model::environment::Environment, service};

const COOKIE: &str = "nango_dashboard";
const LOGIN_CSRF_COOKIE: &str = "nango_dashboard_login";
/// How long a session lasts from sign-in.
pub const SESSION_HOURS: i64 = 12;
const AAD: &[u8] = b"nango-dashboard-session-v1";
/// Failed sign-ins allowed per client address and window.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sealed {
    /// Secret keys, one per environment.
    keys: Vec<String>,
    active: usize,
    /// Unix seconds.
    exp: i64,
    csrf: String,
}

/// A signed-in person: the environments their keys open, the active one, and the CSRF token
/// every form carries.
#[derive(Debug, Clone)]
pub struct Session {
    sealed: Sealed,
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

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the system's random source");
    hex::encode(bytes)
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

fn seal(state: &AppState, sealed: &Sealed) -> Option<String> {
    let plain = serde_json::to_vec(sealed).ok()?;
    let bytes = state.ctx.cipher.seal(&plain, AAD).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn open(state: &AppState, value: &str) -> Option<Sealed> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value).ok()?;
    let plain = state.ctx.cipher.open(&bytes, AAD).ok()?;
    let sealed: Sealed = serde_json::from_slice(&plain).ok()?;
    (sealed.exp > chrono::Utc::now().timestamp()).then_some(sealed)
}

async fn resolve(state: &AppState, sealed: Sealed) -> Option<Session> {
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
    Some(Session { sealed: Sealed { keys, active, ..sealed }, environments, active })
}

impl<'a> FromRequest<'a> for Session {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state =
            req.data::<AppState>().ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
        let session = match cookie_value(req, COOKIE).and_then(|v| open(state, &v)) {
            Some(sealed) => resolve(state, sealed).await,
            None => None,
        };
        session.ok_or_else(|| {
            let to = format!("/dashboard/sign-in?next={}", super::enc(req.original_uri().path()));
            poem::Error::from_response(see_other(&to))
        })
    }
}

/// Client addresses and their recent failed sign-ins, per server (its encryption key's id:
/// several servers in one process, as in tests, count apart).
static FAILURES: LazyLock<Mutex<HashMap<Client, (u32, Instant)>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// A client of one server: the server's key id and the client's address.
type Client = (String, IpAddr);

fn client_ip(req: &Request, state: &AppState) -> Option<Client> {
    req.remote_addr().as_socket_addr().map(|a| (state.ctx.cipher.primary_key_id(), a.ip()))
}

/// The wait before `ip` may try again, when it failed too often.
fn blocked(ip: Option<Client>) -> Option<Duration> {
    let ip = ip?;
    let failures = FAILURES.lock().unwrap_or_else(|e| e.into_inner());
    let (count, since) = failures.get(&ip)?;
    (*count >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW).then(|| FAILURE_WINDOW - since.elapsed())
}

fn record_failure(ip: Option<Client>) {
    let Some(ip) = ip else { return };
    let mut failures = FAILURES.lock().unwrap_or_else(|e| e.into_inner());
    if failures.len() > 10_000 {
        failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
    }
    let entry = failures.entry(ip).or_insert((0, Instant::now()));
    if entry.1.elapsed() >= FAILURE_WINDOW {
        *entry = (0, Instant::now());
    }
    entry.0 += 1;
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
    let csrf = random_token();
    let adding = cookie_value(req, COOKIE).and_then(|v| open(&state, &v)).is_some();
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
    let ip = client_ip(req, &state);
    if let Some(wait) = blocked(ip.clone()) {
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
        record_failure(ip);
        let errors = FormErrors {
            general: Vec::new(),
            fields: vec![("secret_key".to_owned(), "This key does not open any environment.".to_owned())],
        };
        return sign_in_page(StatusCode::UNAUTHORIZED, &next, csrf, &errors, false);
    };
    let existing = match cookie_value(req, COOKIE).and_then(|v| open(&state, &v)) {
        Some(sealed) => resolve(&state, sealed).await,
        None => None,
    };
    let mut sealed = match existing {
        Some(s) => s.sealed,
        None => Sealed {
            keys: Vec::new(),
            active: 0,
            exp: chrono::Utc::now().timestamp() + SESSION_HOURS * 3600,
            csrf: random_token(),
        },
    };
    let mut environments = Vec::new();
    for k in &sealed.keys {
        if let Ok(Some(e)) = service::environment::authenticate(&state.ctx, k).await {
            environments.push(e);
        }
    }
    match environments.iter().position(|e| e.id == env.id) {
        Some(i) => sealed.active = i,
        None => {
            sealed.keys.push(key);
            sealed.active = sealed.keys.len() - 1;
        }
    }
    write_session(req, &state, &sealed, &next)
}

fn write_session(req: &Request, state: &AppState, sealed: &Sealed, to: &str) -> Response {
    let Some(value) = seal(state, sealed) else {
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
