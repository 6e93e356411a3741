//! Functions: deployed actions and syncs per integration, running an action with a JSON input,
//! and the records browser.

use maud::{Markup, html};
use poem::{Request, Response, handler, http::StatusCode, web::Data};
use serde_json::Value;

use super::{FormErrors, Section, Session, enc, error_page, field, page, time};
use crate::{
    AppState,
    error::ApiError,
    model::function::{FunctionKind, StoredFunction},
    service,
};

// ---- shared ----------------------------------------------------------------------------------

/// The query string's pairs, in order.
fn query(req: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes()).into_owned().collect()
}

/// Every message of `errors` on one line (general ones, then `path: message`).
fn one_line(errors: &FormErrors) -> String {
    errors
        .general
        .iter()
        .cloned()
        .chain(errors.fields.iter().map(|(p, m)| format!("{p}: {m}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An API error as a page of this section (404 for what does not exist, 400 otherwise).
fn api_error_page(session: &Session, err: &ApiError) -> Response {
    let status = err.status();
    let status = if status.is_server_error() { StatusCode::INTERNAL_SERVER_ERROR } else { status };
    error_page(session, Section::Functions, status, &one_line(&FormErrors::from_api(err)))
}

fn kind_order(kind: FunctionKind) -> u8 {
    match kind {
        FunctionKind::Sync => 0,
        FunctionKind::Action => 1,
        FunctionKind::OnEvent => 2,
    }
}

// ---- the list ----------------------------------------------------------------------------------

/// Deployed functions by integration (one integration with `?integration=`).
#[handler]
pub async fn list(req: &Request, session: Session, state: Data<&AppState>) -> Response {
    let ctx = &state.ctx;
    let env = session.env();
    let pairs = query(req);
    let chosen = field(&pairs, "integration").trim().to_owned();
    let integrations = match service::integration::list(ctx, env).await {
        Ok(found) => found,
        Err(e) => return api_error_page(&session, &e.into()),
    };
    let mut groups: Vec<(String, Vec<StoredFunction>)> = if chosen.is_empty() {
        match service::function::by_integration(ctx, env).await {
            Ok(groups) => groups.into_iter().map(|g| (g.provider_config_key, g.functions)).collect(),
            Err(e) => return api_error_page(&session, &e.into()),
        }
    } else {
        match service::function::list(ctx, env, &chosen).await {
            Ok(functions) => vec![(chosen.clone(), functions)],
            Err(e) => return api_error_page(&session, &e.into()),
        }
    };
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, functions) in &mut groups {
        functions.sort_by(|a, b| (kind_order(a.kind), &a.name).cmp(&(kind_order(b.kind), &b.name)));
    }
    let display = |key: &str| integrations.iter().find(|i| i.unique_key == key).map(|i| i.display_name.clone());
    let body = html! {
        form.inline method="get" action="/dashboard/functions" {
            div.field {
                label for="f-integration" { "Integration" }
                select #f-integration name="integration" data-autosubmit {
                    option value="" selected[chosen.is_empty()] { "All integrations" }
                    @for i in &integrations {
                        option value=(i.unique_key) selected[i.unique_key == chosen] { (i.display_name) " (" (i.unique_key) ")" }
                    }
                }
            }
            button.secondary type="submit" { "Show" }
        }
        @if groups.iter().all(|(_, f)| f.is_empty()) {
            p.empty {
                "No function is deployed" @if !chosen.is_empty() { " for this integration" } ". Deploy actions and syncs with Nango's CLI: "
                code { "nango deploy dev" } " in your functions project, with " code { "NANGO_HOSTPORT" }
                " set to this server's URL and " code { "NANGO_SECRET_KEY_DEV" } " to the environment's secret key."
            }
        } @else {
            @for (key, functions) in &groups {
                (function_table(key, display(key).as_deref(), functions))
            }
        }
    };
    page(&session, Section::Functions, "Functions", body)
}

fn function_table(key: &str, display_name: Option<&str>, functions: &[StoredFunction]) -> Markup {
    let heading = format!("fn-{}", enc(key));
    let run_url = |f: &StoredFunction| format!("/dashboard/functions/{}/{}/run", enc(key), enc(&f.name));
    let records_url = |model: &str| format!("/dashboard/records?integration={}&model={}", enc(key), enc(model));
    html! {
        section.fn-group aria-labelledby=(heading) {
            h2 id=(heading) {
                a href={ "/dashboard/integrations/" (enc(key)) } { (display_name.unwrap_or(key)) }
                " " code.small { (key) }
            }
            div.table-wrap {
                table.functions {
                    caption.visually-hidden { "Functions of " (key) }
                    thead { tr {
                        th scope="col" { "Function" } th scope="col" { "Type" } th scope="col" { "Version" }
                        th scope="col" { "Models" } th scope="col" { "Runs" } th scope="col" { "Status" }
                        th scope="col" { "Last deployed" } th scope="col" { span.visually-hidden { "Actions" } }
                    } }
                    tbody {
                        @for f in functions {
                            tr {
                                td {
                                    strong { (f.name) }
                                    @if let Some(d) = f.config.description.as_deref().filter(|d| !d.is_empty()) { br; span.hint { (d) } }
                                }
                                td { span.badge.{ "kind-" (f.kind.as_str()) } { (f.kind.as_str()) } }
                                td { code { (f.version) } }
                                td {
                                    @match f.kind {
                                        FunctionKind::Sync => {
                                            @for (i, m) in f.config.models.iter().enumerate() {
                                                @if i > 0 { ", " }
                                                a href=(records_url(m)) title={ "Records of " (m) } { (m) }
                                            }
                                        }
                                        FunctionKind::Action => {
                                            @if let Some(input) = &f.config.input { span.hint { "in " } code.small { (input) } br; }
                                            @for m in &f.config.models { span.hint { "out " } code.small { (m) } }
                                        }
                                        FunctionKind::OnEvent => {
                                            @if let Some(e) = f.config.attributes.get("event").and_then(Value::as_str) { "on " code.small { (e) } }
                                        }
                                    }
                                }
                                td {
                                    @match (&f.kind, &f.config.runs) {
                                        (FunctionKind::Sync, Some(runs)) => { (runs) @if let Some(t) = &f.config.sync_type { br; span.hint { (t) } } }
                                        _ => "—",
                                    }
                                }
                                td {
                                    @if f.enabled { span.ok { "Enabled" } } @else { span.bad { "Disabled" } }
                                    @if f.kind == FunctionKind::Sync && f.config.auto_start { br; span.hint { "starts by itself" } }
                                }
                                td.when {
                                    (time(f.updated_at))
                                    @if f.created_at != f.updated_at { br; span.hint { "first " (time(f.created_at)) } }
                                }
                                td {
                                    @if f.kind == FunctionKind::Action {
                                        a.button.secondary href=(run_url(f)) aria-label={ "Run " (f.name) } { "Run" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[handler]
pub async fn run_form(session: Session) -> Response {
    page(&session, Section::Functions, "Run an action", html! { p { "Not built yet." } })
}

#[handler]
pub async fn run(session: Session) -> Response {
    page(&session, Section::Functions, "Run an action", html! { p { "Not built yet." } })
}

#[handler]
pub async fn records(session: Session) -> Response {
    page(&session, Section::Functions, "Records", html! { p { "Not built yet." } })
}
