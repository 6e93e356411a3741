//! A minimal browser for the dashboard's server-rendered pages: keeps the cookies the server
//! sets (by name, as a browser would for one site), follows no redirects by itself, and reads
//! the CSRF token of the last page.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode, header};

/// One page as the browser got it.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    /// `Location` of a redirect.
    pub location: Option<String>,
    pub html: String,
    pub headers: header::HeaderMap,
}

impl Page {
    /// The value of the first hidden `csrf` input.
    pub fn csrf(&self) -> Option<String> {
        let at = self.html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
        Some(self.html[at..].split('"').next()?.to_owned())
    }
}

/// A cookie-keeping client for one server.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(base_url: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { base: base_url.to_owned(), http, cookies: BTreeMap::new() }
    }

    /// The cookies the server set and did not clear.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(header::COOKIE, cookie.join("; "));
        }
        if let Some(form) = form {
            let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(body);
        }
        let resp = req.send().await.expect("request sent");
        for set in resp.headers().get_all(header::SET_COOKIE) {
            let text = set.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let cleared = text.contains("Max-Age=0") || value.is_empty();
                if cleared {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let html = resp.text().await.unwrap_or_default();
        Page { status, location, html, headers }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    /// `POST path` with a form.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    /// Posts a form with the CSRF token of `page` added.
    pub async fn submit(&mut self, page: &Page, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = page.csrf().expect("the page has a csrf token");
        let mut fields: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.send(Method::POST, path, Some(&fields)).await
    }

    /// Signs in with `secret_key`; panics unless the server accepts it.
    pub async fn sign_in(&mut self, secret_key: &str) {
        let form = self.get("/dashboard/sign-in").await;
        let signed =
            self.submit(&form, "/dashboard/sign-in", &[("next", "/dashboard/"), ("secret_key", secret_key)]).await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.html);
        assert!(self.cookie("nango_dashboard").is_some(), "the session cookie is set");
    }
}
