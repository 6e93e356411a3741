//! Functions: deployed actions and syncs per integration, running an action with a JSON input,
//! and the records browser. Running goes through the service `POST /action/trigger` calls, and
//! its failures are shown as that route answers them; the records browser reads pages through
//! `GET /records`'s own query parser, so its order, cursors and messages are the API's.

use std::time::{Duration, Instant};

use maud::{Markup, html};
use poem::{
    IntoResponse, Request, Response, handler,
    http::StatusCode,
    web::{Data, Path},
};
use serde_json::Value;

use super::{FormErrors, Section, Session, api_error, enc, error_page, field, page, time};
use crate::{
    AppState,
    api::{
        action::{ActionAnswer, failure},
        function::FUNCTION_NAME,
        rules::CONNECTION_ID,
        sync::records_query,
        validate::{self, UNIQUE_KEY},
    },
    error::{ApiError, ErrorEnvelope},
    model::{
        activity::FunctionCall,
        connection::ListFilter,
        function::{FunctionKind, StoredFunction},
    },
    service::{
        self,
        action::{ActionError, Trigger},
    },
};

/// Most connections offered in a select; beyond, the connection id is typed.
const MAX_CONNECTION_OPTIONS: usize = 200;
/// Page sizes the records browser offers (any size `GET /records` takes works in the URL).
const PAGE_SIZES: [u64; 4] = [10, 25, 50, 100];
const DEFAULT_PAGE_SIZE: u64 = 25;
/// Longest record preview in a collapsed row, in characters.
const PREVIEW_CHARS: usize = 120;

// ---- shared ----------------------------------------------------------------------------------

/// The query string's pairs, in order.
fn query(req: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes()).into_owned().collect()
}

/// Every message of `errors` on one line (general ones, then `path: message`).
fn kind_order(kind: FunctionKind) -> u8 {
    match kind {
        FunctionKind::Sync => 0,
        FunctionKind::Action => 1,
        FunctionKind::OnEvent => 2,
    }
}

/// `value` as indented JSON.
fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A size as people read it: `75 MiB`, `2 KiB`, `1000 bytes`.
fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// The JSON schema of model `name` in a function's `models_json_schema`.
fn schema_of<'a>(f: &'a StoredFunction, name: &str) -> Option<&'a Value> {
    f.config.models_json_schema.as_ref()?.get("definitions")?.get(name)
}

/// The connections of integration `key` (at most one more than a select offers), by id.
async fn connections_of(state: &AppState, session: &Session, key: &str) -> Result<Vec<String>, ApiError> {
    let filter = ListFilter {
        integration_keys: Some(vec![key.to_owned()]),
        limit: Some(MAX_CONNECTION_OPTIONS as u64 + 1),
        ..Default::default()
    };
    let mut ids: Vec<String> = service::connection::list(&state.ctx, session.env(), &filter)
        .await?
        .into_iter()
        .map(|c| c.connection_id)
        .collect();
    ids.sort();
    Ok(ids)
}

/// A connection chooser: a select of `connections`, or a text input when there are too many
/// to list.
fn connection_field(
    name: &str,
    connections: &[String],
    chosen: &str,
    errors: &FormErrors,
    hint: Option<&str>,
) -> Markup {
    let id = format!("f-{name}");
    let error = errors.field(name);
    let described: Vec<String> =
        [hint.map(|_| format!("{id}-hint")), error.map(|_| format!("{id}-error"))].into_iter().flatten().collect();
    let described = (!described.is_empty()).then(|| described.join(" "));
    html! {
        div.field {
            label for=(id) { "Connection" }
            @if let Some(h) = hint { p.hint id={ (id) "-hint" } { (h) } }
            @if connections.len() > MAX_CONNECTION_OPTIONS {
                input id=(id) name=(name) type="text" value=(chosen) required autocomplete="off" spellcheck="false"
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[described.as_deref()];
            } @else {
                select id=(id) name=(name) required aria-invalid=[error.map(|_| "true")] aria-describedby=[described.as_deref()] {
                    @if chosen.is_empty() { option value="" selected { "Choose a connection" } }
                    @if !chosen.is_empty() && !connections.iter().any(|c| c == chosen) {
                        option value=(chosen) selected { (chosen) " (not found)" }
                    }
                    @for c in connections {
                        option value=(c) selected[c == chosen] { (c) }
                    }
                }
            }
            @if let Some(e) = error { p.field-error id={ (id) "-error" } { (e) } }
        }
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
        Err(e) => return api_error(&session, Section::Functions, &e.into()),
    };
    let mut groups: Vec<(String, Vec<StoredFunction>)> = if chosen.is_empty() {
        match service::function::by_integration(ctx, env).await {
            Ok(groups) => groups.into_iter().map(|g| (g.provider_config_key, g.functions)).collect(),
            Err(e) => return api_error(&session, Section::Functions, &e.into()),
        }
    } else {
        match service::function::list(ctx, env, &chosen).await {
            Ok(functions) => vec![(chosen.clone(), functions)],
            Err(e) => return api_error(&session, Section::Functions, &e.into()),
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

// ---- running an action -------------------------------------------------------------------------

/// What the run form was filled with.
#[derive(Debug, Default)]
struct RunForm {
    connection: String,
    input: String,
}

/// A finished run: its output, or the error envelope and status `POST /action/trigger` answers.
struct RunResult {
    outcome: Result<Value, (StatusCode, ErrorEnvelope)>,
    elapsed: Duration,
    call: Option<FunctionCall>,
}

impl RunResult {
    /// The input's schema issues, when the action refused its input.
    fn input_issues(&self) -> Vec<(String, String)> {
        match &self.outcome {
            Err((_, envelope)) if envelope.error.code == "invalid_action_input" => envelope
                .error
                .errors
                .iter()
                .flatten()
                .map(|i| (if i.path.is_empty() { "(input)".to_owned() } else { i.path.join(".") }, i.message.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The run page of action `name` of integration `key`: facts, the form, and the last result.
async fn run_page(
    session: &Session,
    state: &AppState,
    (key, name): (&str, &str),
    form: &RunForm,
    errors: &FormErrors,
    result: Option<&RunResult>,
    status: StatusCode,
) -> Response {
    let ctx = &state.ctx;
    let env = session.env();
    let function = match service::function::matching(ctx, env, key, name, Some(FunctionKind::Action)).await {
        Ok(mut found) => match found.pop() {
            Some(f) => f,
            None => return error_page(session, Section::Functions, StatusCode::NOT_FOUND, "Action does not exist"),
        },
        Err(e) => return api_error(session, Section::Functions, &e.into()),
    };
    let connections = match connections_of(state, session, key).await {
        Ok(c) => c,
        Err(e) => return api_error(session, Section::Functions, &e),
    };
    let chosen = if form.connection.is_empty() && connections.len() == 1 { &connections[0] } else { &form.connection };
    let limit = state.config.body_limit;
    let input_schema = function.config.input.as_deref().and_then(|i| schema_of(&function, i).map(|s| (i, s)));
    let issues = result.map(RunResult::input_issues).unwrap_or_default();
    let input_error = errors.field("input");
    let invalid = input_error.is_some() || !issues.is_empty();
    let described = ["f-input-hint", if invalid { "f-input-error" } else { "" }].join(" ");
    let action = format!("/dashboard/functions/{}/{}/run", enc(key), enc(&function.name));
    let body = html! {
        p { a href={ "/dashboard/functions?integration=" (enc(key)) } { "← Functions of " (key) } }
        dl.facts {
            dt { "Integration" } dd { a href={ "/dashboard/integrations/" (enc(key)) } { (key) } }
            dt { "Version" } dd { code { (function.version) } }
            dt { "Last deployed" } dd { (time(function.updated_at)) }
            @if let Some(d) = function.config.description.as_deref().filter(|d| !d.is_empty()) { dt { "Description" } dd { (d) } }
            @if let Some(i) = &function.config.input { dt { "Input model" } dd { code { (i) } } }
            @if let Some(o) = function.config.models.first() { dt { "Output model" } dd { code { (o) } } }
            @if !function.enabled { dt { "Status" } dd.bad { "Disabled: it cannot run." } }
        }
        (errors.summary(&["connection_id", "input"]))
        @if connections.is_empty() {
            p.notice { "This integration has no connection yet: an action runs for one. "
                a href={ "/dashboard/connections?integration=" (enc(key)) } { "Add a connection" } "." }
        } @else {
            form.stack method="post" action={ (action) "#result" } {
                (session.csrf_field())
                (connection_field("connection_id", &connections, chosen, errors, Some("The action runs with this connection's credentials (the Connection-Id header).")))
                div.field {
                    label for="f-input" { "Input" }
                    p.hint #f-input-hint {
                        "JSON, sent as " code { "input" } " of " code { "POST /action/trigger" }
                        "; checked against the action's input schema. Leave empty to send none. At most " (size(limit)) "."
                    }
                    textarea #f-input .code name="input" rows="12" spellcheck="false" autocomplete="off"
                        aria-invalid=[invalid.then_some("true")] aria-describedby=(described.trim()) { (form.input) }
                    @if invalid {
                        div.field-error #f-input-error {
                            @if let Some(e) = input_error { p { (e) } }
                            @if !issues.is_empty() {
                                p { "The input does not match the action's input schema:" }
                                ul.issues { @for (path, message) in &issues { li { code { (path) } ": " (message) } } }
                            }
                        }
                    }
                }
                @if let Some((model, schema)) = input_schema {
                    details.schema {
                        summary { "Input schema " code.small { (model) } }
                        pre.json { (pretty(schema)) }
                    }
                }
                div { button type="submit" { "Run action" } }
            }
        }
        @if let Some(r) = result { (result_section(r)) }
    };
    let mut resp = page(session, Section::Functions, &format!("Run {}", function.name), body);
    resp.set_status(status);
    resp
}

fn result_section(r: &RunResult) -> Markup {
    let ms = r.elapsed.as_millis();
    html! {
        section.run-result aria-labelledby="result" {
            @match &r.outcome {
                Ok(output) => {
                    h2 #result tabindex="-1" { "Output" }
                    p.ok role="status" { "Succeeded in " (ms) " ms." }
                    pre.json #run-output { (pretty(output)) }
                    button.secondary type="button" data-copy="run-output" hidden { "Copy output" }
                }
                Err((status, envelope)) => {
                    h2 #result tabindex="-1" { "Error" }
                    div.error role="alert" {
                        p {
                            "The action failed after " (ms) " ms: " code { (envelope.error.code) }
                            " (" code { "POST /action/trigger" } " answers " (status.as_u16()) ")."
                        }
                        @if let Some(m) = &envelope.error.message { p { (m) } }
                    }
                    @let json = poem_openapi::types::ToJSON::to_json(envelope).unwrap_or(Value::Null);
                    pre.json #run-error { (pretty(&json)) }
                }
            }
            @if let Some(call) = &r.call {
                p.hint {
                    "Version " (call.version.as_deref().unwrap_or("?")) " · " (call.proxied_calls) " proxied call"
                    @if call.proxied_calls != 1 { "s" }
                }
                @if !call.logs.is_empty() {
                    h3 { "Logs" }
                    div.table-wrap {
                        table {
                            thead { tr { th scope="col" { "Level" } th scope="col" { "Message" } } }
                            tbody { @for (level, message) in &call.logs { tr { td { (level) } td { pre.log { (message) } } } } }
                        }
                    }
                }
            }
        }
    }
}

/// The run form (`?connection=` chooses the connection).
#[handler]
pub async fn run_form(
    req: &Request,
    Path((key, name)): Path<(String, String)>,
    session: Session,
    state: Data<&AppState>,
) -> Response {
    let pairs = query(req);
    let form = RunForm { connection: field(&pairs, "connection").to_owned(), input: "{}".to_owned() };
    run_page(&session, &state, (&key, &name), &form, &FormErrors::default(), None, StatusCode::OK).await
}

/// Reads an `application/x-www-form-urlencoded` body of at most `limit` bytes.
async fn read_form(req: &Request, body: poem::Body, limit: usize) -> Result<Vec<(String, String)>, StatusCode> {
    let is_form = req
        .content_type()
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let bytes = body.into_bytes_limit(limit).await.map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

/// Runs the action synchronously, as `POST /action/trigger` does, and shows its output or
/// error. The form is refused before running when the input is not JSON (the text is kept),
/// larger than the API's body limit, or the connection is missing.
#[handler]
pub async fn run(
    req: &Request,
    Path((key, name)): Path<(String, String)>,
    body: poem::Body,
    session: Session,
    state: Data<&AppState>,
) -> Response {
    let limit = state.config.body_limit;
    // The input may be percent-encoded three bytes a character, plus the other fields.
    let fields = match read_form(req, body, limit.saturating_mul(3).saturating_add(64 * 1024)).await {
        Ok(f) => f,
        Err(StatusCode::PAYLOAD_TOO_LARGE) => {
            let errors = FormErrors::message(format!(
                "The form is too large: the input may have at most {} (NANGO_SERVER_PUBLIC_BODY_LIMIT).",
                size(limit)
            ));
            let status = StatusCode::PAYLOAD_TOO_LARGE;
            return run_page(&session, &state, (&key, &name), &RunForm::default(), &errors, None, status).await;
        }
        Err(status) => return status.into_response(),
    };
    if let Err(resp) = session.check_csrf(&fields) {
        return resp;
    }
    let form = RunForm {
        connection: field(&fields, "connection_id").trim().to_owned(),
        input: field(&fields, "input").to_owned(),
    };
    let mut errors = FormErrors::default();
    let path_issues = validate::check_str(&key, &UNIQUE_KEY, &["integration".to_owned()])
        .into_iter()
        .chain(validate::check_str(&name, &FUNCTION_NAME, &["action_name".to_owned()]));
    errors.general.extend(path_issues.map(|i| format!("{}: {}", i.path.join("."), i.message)));
    if form.connection.is_empty() {
        errors.fields.push(("connection_id".to_owned(), "Choose a connection.".to_owned()));
    } else if let Some(issue) =
        validate::check_str(&form.connection, &CONNECTION_ID, &["connection_id".to_owned()]).first()
    {
        errors.fields.push(("connection_id".to_owned(), issue.message.clone()));
    }
    let input = if form.input.len() > limit {
        let message = format!(
            "The input has {}, more than the API's limit of {} (NANGO_SERVER_PUBLIC_BODY_LIMIT).",
            size(form.input.len()),
            size(limit)
        );
        errors.fields.push(("input".to_owned(), message));
        Value::Null
    } else if form.input.trim().is_empty() {
        Value::Null
    } else {
        match serde_json::from_str::<Value>(&form.input) {
            Ok(v) => v,
            Err(e) => {
                errors.fields.push(("input".to_owned(), format!("This is not valid JSON: {e}.")));
                Value::Null
            }
        }
    };
    if !errors.is_empty() {
        return run_page(&session, &state, (&key, &name), &form, &errors, None, StatusCode::BAD_REQUEST).await;
    }
    let trigger = Trigger {
        provider_config_key: key.clone(),
        connection_id: form.connection.clone(),
        action_name: name.clone(),
        input,
    };
    let started = Instant::now();
    let ran = service::action::run(&state.ctx, session.env(), trigger, crate::request_id::current()).await;
    let elapsed = started.elapsed();
    let outcome = match ran.result {
        Ok(output) => Ok(output),
        Err(ActionError::Refused(e)) => {
            // Refused before running (the connection or the action is gone, it is disabled).
            let e = ApiError::from(e);
            let status = if e.status().is_server_error() { StatusCode::INTERNAL_SERVER_ERROR } else { e.status() };
            return run_page(&session, &state, (&key, &name), &form, &FormErrors::from_api(&e), None, status).await;
        }
        Err(ActionError::Failed(f)) => Err(match failure(f) {
            Ok(ActionAnswer::FailedDependency(envelope)) => (StatusCode::FAILED_DEPENDENCY, envelope.0),
            Ok(ActionAnswer::Output(_) | ActionAnswer::Accepted(..)) => {
                let e = ApiError::code(crate::error::Code::ServerError);
                (e.status(), e.envelope().clone())
            }
            Err(e) => (e.status(), e.envelope().clone()),
        }),
    };
    let result = RunResult { outcome, elapsed, call: ran.function };
    // A refused input is the form's mistake; any other outcome is a run the page reports.
    let status = if result.input_issues().is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    run_page(&session, &state, (&key, &name), &form, &FormErrors::default(), Some(&result), status).await
}

// ---- the records browser -----------------------------------------------------------------------

/// What the records browser was asked for.
#[derive(Debug, Default)]
struct RecordsQuery {
    integration: String,
    connection: String,
    model: String,
    filter: String,
    limit: String,
    cursor: String,
}

impl RecordsQuery {
    /// The browser's URL for this query at `cursor`.
    fn url(&self, cursor: Option<&str>) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("integration", &self.integration);
        s.append_pair("connection", &self.connection);
        s.append_pair("model", &self.model);
        if !self.filter.is_empty() {
            s.append_pair("filter", &self.filter);
        }
        if !self.limit.is_empty() {
            s.append_pair("limit", &self.limit);
        }
        if let Some(c) = cursor {
            s.append_pair("cursor", c);
        }
        format!("/dashboard/records?{}", s.finish())
    }

    /// The `GET /records` query string for this page.
    fn api_query(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("model", &self.model);
        let default = DEFAULT_PAGE_SIZE.to_string();
        s.append_pair("limit", if self.limit.is_empty() { &default } else { &self.limit });
        if !self.filter.is_empty() {
            s.append_pair("filter", &self.filter);
        }
        if !self.cursor.is_empty() {
            s.append_pair("cursor", &self.cursor);
        }
        s.finish()
    }
}

/// One page of records, or why there is none.
enum Listing {
    /// Nothing chosen yet (no connection, no model).
    Nothing(&'static str),
    Page {
        records: Vec<Value>,
        next_cursor: Option<String>,
    },
}

/// A page of one model's records for one connection, with cursor paging, in `GET /records`'s
/// order (last modified, oldest first).
#[handler]
pub async fn records(req: &Request, session: Session, state: Data<&AppState>) -> Response {
    let ctx = &state.ctx;
    let env = session.env();
    let pairs = query(req);
    let get = |name: &str| field(&pairs, name).trim().to_owned();
    let integrations = match service::integration::list(ctx, env).await {
        Ok(found) => found,
        Err(e) => return api_error(&session, Section::Functions, &e.into()),
    };
    let groups = match service::function::by_integration(ctx, env).await {
        Ok(g) => g,
        Err(e) => return api_error(&session, Section::Functions, &e.into()),
    };
    // (model, sync) of every deployed sync, by integration.
    let models_of = |key: &str| -> Vec<(String, String)> {
        let mut models: Vec<(String, String)> = groups
            .iter()
            .filter(|g| g.provider_config_key == key)
            .flat_map(|g| g.functions.iter())
            .filter(|f| f.kind == FunctionKind::Sync)
            .flat_map(|f| f.config.models.iter().map(|m| (m.clone(), f.name.clone())))
            .collect();
        models.sort();
        models.dedup_by(|a, b| a.0 == b.0);
        models
    };
    let with_syncs: Vec<&str> =
        integrations.iter().map(|i| i.unique_key.as_str()).filter(|k| !models_of(k).is_empty()).collect();
    let mut q = RecordsQuery {
        integration: get("integration"),
        connection: get("connection"),
        model: get("model"),
        filter: get("filter"),
        limit: get("limit"),
        cursor: get("cursor"),
    };
    if q.integration.is_empty() {
        match with_syncs.first() {
            Some(k) => q.integration = (*k).to_owned(),
            None => {
                let body = html! {
                    p.empty { "No sync is deployed in this environment, so there are no records yet. "
                        a href="/dashboard/functions" { "Functions" } " lists what is deployed." }
                };
                return page(&session, Section::Functions, "Records", body);
            }
        }
    }
    if !integrations.iter().any(|i| i.unique_key == q.integration) {
        return error_page(&session, Section::Functions, StatusCode::NOT_FOUND, "Integration does not exist");
    }
    let models = models_of(&q.integration);
    let connections = match connections_of(&state, &session, &q.integration).await {
        Ok(c) => c,
        Err(e) => return api_error(&session, Section::Functions, &e),
    };
    if q.connection.is_empty()
        && let Some(first) = connections.first()
    {
        q.connection = first.clone();
    }
    if q.model.is_empty()
        && let Some((first, _)) = models.first()
    {
        q.model = first.clone();
    }
    let mut errors = FormErrors::default();
    let mut status = StatusCode::OK;
    let listing = if q.connection.is_empty() {
        Listing::Nothing("This integration has no connection yet.")
    } else if q.model.is_empty() {
        Listing::Nothing("No deployed sync of this integration saves records.")
    } else {
        match records_query(Some(&q.api_query())) {
            Err(e) => {
                errors = FormErrors::from_api(&e);
                status = e.status();
                Listing::Nothing("")
            }
            Ok((model, page_query)) => {
                match service::sync::records(ctx, env, &q.integration, &q.connection, &model, page_query).await {
                    Ok(p) => Listing::Page { records: p.records, next_cursor: p.next_cursor },
                    Err(service::Error::UnknownConnection(_)) => {
                        let message = format!("No connection {:?} in integration {}.", q.connection, q.integration);
                        errors.fields.push(("connection".to_owned(), message));
                        status = StatusCode::NOT_FOUND;
                        Listing::Nothing("")
                    }
                    Err(e) => return api_error(&session, Section::Functions, &e.into()),
                }
            }
        }
    };
    let body = html! {
        form.inline method="get" action="/dashboard/records" {
            div.field {
                label for="f-integration" { "Integration" }
                select #f-integration name="integration" data-autosubmit {
                    @for i in &integrations {
                        option value=(i.unique_key) selected[i.unique_key == q.integration] {
                            (i.display_name) " (" (i.unique_key) ")"
                            @if !with_syncs.contains(&i.unique_key.as_str()) { " · no sync" }
                        }
                    }
                }
            }
            button.secondary type="submit" { "Choose" }
        }
        (errors.summary(&["connection", "model", "filter", "limit"]))
        form.inline.filters method="get" action="/dashboard/records" {
            input type="hidden" name="integration" value=(q.integration);
            (connection_field("connection", &connections, &q.connection, &errors, None))
            div.field {
                label for="f-model" { "Model" }
                select #f-model name="model" aria-invalid=[errors.field("model").map(|_| "true")] {
                    @if !q.model.is_empty() && !models.iter().any(|(m, _)| *m == q.model) {
                        option value=(q.model) selected { (q.model) " (no deployed sync)" }
                    }
                    @for (m, sync) in &models {
                        option value=(m) selected[*m == q.model] { (m) " (" (sync) ")" }
                    }
                }
                @if let Some(e) = errors.field("model") { p.field-error { (e) } }
            }
            div.field {
                label for="f-filter" { "Last action" }
                select #f-filter name="filter" {
                    @for (value, label) in [("", "Any"), ("added", "Added"), ("updated", "Updated"), ("deleted", "Deleted")] {
                        option value=(value) selected[q.filter == value] { (label) }
                    }
                }
                @if let Some(e) = errors.field("filter") { p.field-error { (e) } }
            }
            div.field {
                label for="f-limit" { "Per page" }
                select #f-limit name="limit" {
                    @let current = q.limit.parse::<u64>().unwrap_or(DEFAULT_PAGE_SIZE);
                    @if !PAGE_SIZES.contains(&current) { option value=(q.limit) selected { (q.limit) } }
                    @for n in PAGE_SIZES { option value=(n) selected[n == current] { (n) } }
                }
                @if let Some(e) = errors.field("limit") { p.field-error { (e) } }
            }
            button type="submit" { "Show records" }
        }
        @match &listing {
            Listing::Nothing(message) => { @if !message.is_empty() { p.empty { (message) } } }
            Listing::Page { records: rows, next_cursor } => {
                p.hint {
                    (rows.len()) " record" @if rows.len() != 1 { "s" } " of " code { (q.model) } " for "
                    a href={ "/dashboard/connections/" (enc(&q.integration)) "/" (enc(&q.connection)) } { (q.connection) }
                    @if !q.cursor.is_empty() { " (a later page)" }
                    ", by last modification, oldest first, as " code { "GET /records" } " answers them."
                }
                @if rows.is_empty() {
                    p.empty {
                        @if !q.cursor.is_empty() { "No more records." }
                        @else if !q.filter.is_empty() { "No record was last " (q.filter) "." }
                        @else { "No records yet: has the sync run for this connection?" }
                    }
                } @else {
                    (records_table(rows))
                }
                nav.pager aria-label="Pages" {
                    @if !q.cursor.is_empty() { a href=(q.url(None)) { "First page" } }
                    @if let Some(next) = next_cursor { a href=(q.url(Some(next))) rel="next" { "Next page" } }
                }
            }
        }
    };
    let mut resp = page(&session, Section::Functions, "Records", body);
    resp.set_status(status);
    resp
}

/// `_nango_metadata.<name>` as a time.
fn meta_time(meta: &Value, name: &str) -> Markup {
    match meta.get(name).and_then(Value::as_str).and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()) {
        Some(t) => time(t.with_timezone(&chrono::Utc)),
        None => html! { "—" },
    }
}

/// A record without its `_nango_metadata`, and the metadata.
fn split_metadata(record: &Value) -> (Value, Value) {
    let mut data = record.clone();
    let meta = data.as_object_mut().and_then(|m| m.remove("_nango_metadata")).unwrap_or(Value::Null);
    (data, meta)
}

fn records_table(rows: &[Value]) -> Markup {
    html! {
        div.table-wrap {
            table.records {
                caption.visually-hidden { "Records" }
                thead { tr {
                    th scope="col" { "ID" } th scope="col" { "Last action" } th scope="col" { "Last modified" }
                    th scope="col" { "First seen" } th scope="col" { "Record" }
                } }
                tbody {
                    @for record in rows {
                        @let (data, meta) = split_metadata(record);
                        @let action = meta.get("last_action").and_then(Value::as_str).unwrap_or("?");
                        @let compact = data.to_string();
                        @let preview: String = compact.chars().take(PREVIEW_CHARS).collect();
                        tr {
                            td { code { (record.get("id").and_then(Value::as_str).unwrap_or("?")) } }
                            td {
                                span.badge.{ "action-" (action.to_ascii_lowercase()) } { (action) }
                                @if meta.get("deleted_at").is_some_and(|d| !d.is_null()) { br; span.hint { "deleted " (meta_time(&meta, "deleted_at")) } }
                            }
                            td { (meta_time(&meta, "last_modified_at")) }
                            td { (meta_time(&meta, "first_seen_at")) }
                            td.record {
                                details {
                                    summary { code.preview { (preview) @if compact.chars().count() > PREVIEW_CHARS { "…" } } }
                                    pre.json { (pretty(&data)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
