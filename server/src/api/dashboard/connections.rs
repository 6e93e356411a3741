//! Connections: list with search and filters, one connection's page (end user, tags, metadata,
//! masked credentials, status, syncs, recent calls), delete, and Connect links. Forms build the
//! body an API client would send and go through the API's own parsers and services, so they
//! get the API's validation and messages.

use std::collections::BTreeSet;

use maud::{Markup, html};
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Path},
};
use serde_json::{Map, Value, json};

use super::{
    FieldAttrs, FormErrors, Section, Session, api_error, enc, field, integrations::ms, mask, page, see_other,
    text_field, time,
};
use crate::{
    AppState,
    api::{connect::parse_new_session, connection::parse, sync::pause_start_body},
    error::ApiError,
    model::{
        activity::{CallOutcome, ConnectionStatusFilter, Kind, LogEntry, LogFilter},
        connection::{ConnectionRecord, Credentials, MetadataMode},
        sync::{ScheduleStatus, TriggerKind},
    },
    service::{self, sync::SyncStatus},
};

/// Connections per page of the list.
const PER_PAGE: u64 = 50;
/// Calls shown on a connection's page.
const RECENT_CALLS: u64 = 20;

/// The base path of a connection's pages.
fn base(key: &str, id: &str) -> String {
    format!("/dashboard/connections/{}/{}", enc(key), enc(id))
}

/// The values of query parameter `name`, in order.
fn query_values(req: &Request, name: &str) -> Vec<String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect()
}

fn query_value(req: &Request, name: &str) -> String {
    query_values(req, name).pop().unwrap_or_default()
}

/// Everything an error says, in one sentence or a few.
/// The page for a connection that does not exist (or no longer does).
fn not_found(session: &Session, key: &str, id: &str) -> Response {
    let body = html! {
        p.error role="alert" { "There is no connection " code { (id) } " of integration " code { (key) } " in this environment." }
        p { a href="/dashboard/connections" { "All connections" } }
    };
    let mut resp = page(session, Section::Connections, "Connection not found", body);
    resp.set_status(StatusCode::NOT_FOUND);
    resp
}

/// The connection, without recording a credential read; `Err` is the page to answer.
async fn load(session: &Session, state: &AppState, key: &str, id: &str) -> Result<ConnectionRecord, Response> {
    match service::connection::find(&state.ctx, session.env(), key, id).await {
        Ok(record) => Ok(record),
        Err(e) => {
            let err = ApiError::from(e);
            Err(if err.status().is_client_error() {
                not_found(session, key, id)
            } else {
                api_error(session, Section::Connections, &err)
            })
        }
    }
}

/// A call outcome: status and time, linking to its log entry.
fn outcome(o: Option<&CallOutcome>) -> Markup {
    html! {
        @match o {
            Some(c) => {
                a href=(super::logs::detail_link(&c.request_id, Some(c.at_ms))) { (c.status) } " · " (time(ms(c.at_ms)))
            }
            None => span.empty { "—" },
        }
    }
}

// ---- list ----------------------------------------------------------------------------------

/// The list's filters, as the dashboard's query names them.
#[derive(Debug, Default)]
struct ListQuery {
    integration: String,
    end_user: String,
    search: String,
    /// `""` (any), `yes` or `no`.
    auth_error: String,
    page: String,
}

impl ListQuery {
    fn from_request(req: &Request) -> Self {
        Self {
            integration: query_value(req, "integration").trim().to_owned(),
            end_user: query_value(req, "end_user").trim().to_owned(),
            search: query_value(req, "search").trim().to_owned(),
            auth_error: query_value(req, "auth_error"),
            page: query_value(req, "page").trim().to_owned(),
        }
    }

    /// The page number (0 when absent or not a number; the API's parser says why).
    fn page(&self) -> u64 {
        self.page.parse().unwrap_or(0)
    }

    /// `GET /connections`'s query for these filters and page (validated by the API's parser;
    /// see [`list`] for the limit actually asked).
    fn api_query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in
            [("integrationId", &self.integration), ("endUserId", &self.end_user), ("search", &self.search)]
        {
            if !value.is_empty() {
                q.append_pair(name, value);
            }
        }
        q.append_pair("limit", &PER_PAGE.to_string());
        if !self.page.is_empty() {
            q.append_pair("page", &self.page);
        }
        q.finish()
    }

    /// This list's address at page `page`.
    fn url(&self, page: u64) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("integration", &self.integration),
            ("end_user", &self.end_user),
            ("search", &self.search),
            ("auth_error", &self.auth_error),
        ] {
            if !value.is_empty() {
                q.append_pair(name, value);
            }
        }
        if page > 0 {
            q.append_pair("page", &page.to_string());
        }
        let q = q.finish();
        if q.is_empty() { "/dashboard/connections".to_owned() } else { format!("/dashboard/connections?{q}") }
    }

    fn filtered(&self) -> bool {
        !(self.integration.is_empty()
            && self.end_user.is_empty()
            && self.search.is_empty()
            && self.auth_error.is_empty())
    }
}

/// The API's issues renamed to the dashboard's filter names.
fn list_errors(err: &ApiError) -> FormErrors {
    let mut errors = FormErrors::from_api(err);
    for (path, _) in &mut errors.fields {
        let renamed = match path.as_str() {
            "integrationId" => "integration",
            "endUserId" => "end_user",
            _ => continue,
        };
        *path = renamed.to_owned();
    }
    errors
}

#[handler]
pub async fn list(req: &Request, session: Session, state: Data<&AppState>) -> Response {
    let ctx = &state.ctx;
    let q = ListQuery::from_request(req);
    let integrations = match service::integration::list(ctx, session.env()).await {
        Ok(items) => items,
        Err(e) => return api_error(&session, Section::Connections, &e.into()),
    };
    let page_number = q.page();
    let result = match parse::list_filter(Some(&q.api_query())) {
        Ok(mut filter) => {
            filter.auth_error = match q.auth_error.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            };
            // Up to the end of this page and one more (to know whether there is a next page):
            // the API's `page` skips `page * limit`, which cannot ask for one more.
            filter.page = 0;
            filter.limit = Some((page_number + 1).saturating_mul(PER_PAGE).saturating_add(1));
            service::connection::list(ctx, session.env(), &filter).await.map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    let rows = match result {
        Ok(rows) => Ok(rows),
        Err(e) if e.status().is_server_error() => return api_error(&session, Section::Connections, &e),
        Err(e) => Err(list_errors(&e)),
    };
    let (rows, errors) = match rows {
        Ok(rows) => (rows, FormErrors::default()),
        Err(errors) => (Vec::new(), errors),
    };
    let skip = page_number.saturating_mul(PER_PAGE) as usize;
    let more = rows.len() > skip.saturating_add(PER_PAGE as usize);
    let rows: Vec<ConnectionRecord> = rows.into_iter().skip(skip).take(PER_PAGE as usize).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let outcomes = service::activity::outcomes_of(ctx, &ids).await.unwrap_or_default();
    let new_link = if q.integration.is_empty() {
        "/dashboard/connections/connect-link".to_owned()
    } else {
        format!("/dashboard/connections/connect-link?integration={}", enc(&q.integration))
    };
    let known = integrations.iter().any(|i| i.unique_key == q.integration);
    let body = html! {
        @if query_value(req, "deleted") == "1" { p.notice role="status" { "The connection was deleted." } }
        p.actions { a.button href=(new_link) { "Create a Connect link" } }
        (errors.summary(&["integration", "end_user", "search"]))
        form.inline.filters method="get" action="/dashboard/connections" role="search" aria-label="Filter connections" {
            div.field {
                label for="f-integration" { "Integration" }
                select #f-integration name="integration" {
                    option value="" selected[q.integration.is_empty()] { "All" }
                    @for i in &integrations {
                        option value=(i.unique_key) selected[i.unique_key == q.integration] { (i.display_name) " (" (i.unique_key) ")" }
                    }
                    @if !known && !q.integration.is_empty() {
                        option value=(q.integration) selected { (q.integration) }
                    }
                }
                @if let Some(e) = errors.field("integration") { p.field-error { (e) } }
            }
            (text_field("end_user", "End user id", &q.end_user, None, &errors, FieldAttrs::default()))
            (text_field("search", "Search", &q.search, None, &errors, FieldAttrs { kind: "search", placeholder: Some("Connection id, end user name or email"), ..Default::default() }))
            div.field {
                label for="f-auth_error" { "Auth" }
                select #f-auth_error name="auth_error" {
                    option value="" selected[q.auth_error.is_empty()] { "Any" }
                    option value="yes" selected[q.auth_error == "yes"] { "With an auth error" }
                    option value="no" selected[q.auth_error == "no"] { "Without auth error" }
                }
            }
            div.field.filter-buttons {
                button type="submit" { "Filter" }
                @if q.filtered() { a href="/dashboard/connections" { "Clear filters" } }
            }
        }
        @if !errors.is_empty() {
            // The form above says what to correct.
        } @else if rows.is_empty() && page_number == 0 && !q.filtered() {
            p.empty { "No connection yet. Import one with " code { "POST /connections" } ", or create a Connect link and send it to your end user." }
        } @else if rows.is_empty() {
            p.empty { "No connection matches these filters." }
        } @else {
            div.table-wrap {
                table {
                    caption.visually-hidden { "Connections" }
                    thead { tr {
                        th scope="col" { "Connection" } th scope="col" { "Integration" } th scope="col" { "End user" }
                        th scope="col" { "Auth" } th scope="col" { "Last successful call" } th scope="col" { "Last failed call" } th scope="col" { "Created" }
                    } }
                    tbody {
                        @for c in &rows {
                            @let (success, failure) = outcomes.get(&c.id).cloned().unwrap_or_default();
                            tr {
                                td { a href=(base(&c.provider_config_key, &c.connection_id)) { (c.connection_id) } }
                                td { a href={ "/dashboard/integrations/" (enc(&c.provider_config_key)) } { (c.provider_config_key) } }
                                td { (end_user_cell(c)) }
                                td {
                                    @match &c.auth_error {
                                        Some((since, request)) => a.badge.bad href=(super::logs::detail_link(request, Some(since.timestamp_millis()))) { "Auth error" },
                                        None => span.ok { "OK" },
                                    }
                                }
                                td { (outcome(success.as_ref())) }
                                td { (outcome(failure.as_ref())) }
                                td { (time(c.created_at)) }
                            }
                        }
                    }
                }
            }
        }
        @if page_number > 0 || more {
            nav.pager aria-label="Pages" {
                @if page_number > 0 { a href=(q.url(page_number - 1)) rel="prev" { "← Previous" } }
                span { "Page " (page_number + 1) }
                @if more { a href=(q.url(page_number + 1)) rel="next" { "Next →" } }
            }
        }
    };
    let mut resp = page(&session, Section::Connections, "Connections", body);
    if !errors.is_empty() {
        resp.set_status(StatusCode::BAD_REQUEST);
    }
    resp
}

fn end_user_cell(c: &ConnectionRecord) -> Markup {
    html! {
        @match &c.end_user {
            Some(u) => {
                (u.display_name.as_deref().or(u.email.as_deref()).unwrap_or(&u.id))
                @if u.display_name.is_some() || u.email.is_some() { br; code.small { (u.id) } }
            }
            None => span.empty { "—" },
        }
    }
}

// ---- one connection --------------------------------------------------------------------------

/// What a form on the connection's page sent back, to show again with its errors.
#[derive(Debug, Default)]
struct Feedback<'a> {
    /// The metadata text as submitted, and what is wrong with it.
    metadata: Option<(&'a str, &'a FormErrors)>,
    /// What went wrong with a sync control.
    sync: Option<&'a FormErrors>,
    notice: Option<String>,
}

async fn show_page(session: &Session, state: &AppState, key: &str, id: &str, feedback: Feedback<'_>) -> Response {
    let ctx = &state.ctx;
    let record = match load(session, state, key, id).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let provider = ctx.catalog.get(&record.provider);
    let status_filter = ConnectionStatusFilter {
        integration: Some(key.to_owned()),
        connection_id: Some(id.to_owned()),
        auth_error: None,
    };
    let status = service::activity::connection_statuses(ctx, session.env(), &status_filter, 1, None)
        .await
        .ok()
        .and_then(|(rows, _)| rows.into_iter().next());
    let syncs = service::sync::status(ctx, session.env(), key, Some(id), &[]).await.map_err(ApiError::from);
    let log_filter =
        LogFilter { integration: Some(key.to_owned()), connection_id: Some(id.to_owned()), ..LogFilter::default() };
    let calls = service::activity::list(ctx, session.env(), &log_filter, RECENT_CALLS, None).await;
    let here = base(key, id);
    let stored_metadata = serde_json::to_string_pretty(&Value::Object(record.metadata.clone().unwrap_or_default()))
        .unwrap_or_else(|_| "{}".to_owned());
    let no_errors = FormErrors::default();
    let (metadata_text, metadata_errors) = feedback.metadata.unwrap_or((stored_metadata.as_str(), &no_errors));
    let body = html! {
        @if let Some(n) = &feedback.notice { p.notice role="status" { (n) } }
        @if let Some(errors) = feedback.sync { (errors.summary(&[])) }
        @if feedback.metadata.is_some() {
            div.error role="alert" { p { "The metadata was not saved. " a href="#f-metadata" { "Correct it below" } "." } }
        }
        dl.facts {
            dt { "Integration" } dd { a href={ "/dashboard/integrations/" (enc(key)) } { (key) } }
            dt { "Provider" } dd { (provider.map_or(record.provider.as_str(), |p| p.display_name.as_str())) " " code.small { (record.provider) } }
            dt { "Created" } dd { (time(record.created_at)) }
            dt { "Updated" } dd { (time(record.updated_at)) }
            dt { "Credentials last read" } dd { @match record.last_fetched_at { Some(t) => (time(t)), None => "Never" } }
            @if let Some(url) = &record.webhook_url_override { dt { "Webhook URL override" } dd { code { (url) } } }
        }
        p.actions {
            a href="#status" { "Status" } " · " a href="#syncs" { "Syncs" } " · " a href="#metadata" { "Metadata" }
            " · " a href="#calls" { "Recent calls" } " · " a.danger href={ (here) "/delete" } { "Delete…" }
        }

        h2 #status { "Status" }
        dl.facts {
            dt { "Auth" }
            dd {
                @match status.as_ref().and_then(|s| s.auth_error.as_ref()) {
                    Some((since, request)) => {
                        span.bad { "The upstream refuses the credential" } " since " (time(*since)) " · "
                        a href=(super::logs::detail_link(request, Some(since.timestamp_millis()))) { "the call that saw it" }
                    }
                    None => @match &record.auth_error {
                        Some((since, request)) => { span.bad { "The upstream refuses the credential" } " · " a href=(super::logs::detail_link(request, Some(since.timestamp_millis()))) { "the call that saw it" } }
                        None => span.ok { "No auth error" },
                    },
                }
            }
            dt { "Last successful call" } dd { (outcome(status.as_ref().and_then(|s| s.last_success.as_ref()))) }
            dt { "Last failed call" } dd { (outcome(status.as_ref().and_then(|s| s.last_failure.as_ref()))) }
        }

        h2 #end-user { "End user" }
        @match &record.end_user {
            Some(u) => {
                dl.facts {
                    dt { "Id" } dd { code { (u.id) } }
                    @if let Some(v) = &u.display_name { dt { "Name" } dd { (v) } }
                    @if let Some(v) = &u.email { dt { "Email" } dd { (v) } }
                    @if let Some(o) = &u.organization {
                        dt { "Organization" } dd { (o.display_name.as_deref().unwrap_or(&o.id)) @if o.display_name.is_some() { " " code.small { (o.id) } } }
                    }
                }
                p { a href={ "/dashboard/connections/connect-link?" (end_user_query(key, &record)) } { "Create a Connect link for this end user" } }
            }
            None => p.empty { "No end user." },
        }

        h2 #tags { "Tags" }
        @if record.tags.is_empty() {
            p.empty { "No tags." }
        } @else {
            div.table-wrap {
                table {
                    caption.visually-hidden { "Tags" }
                    thead { tr { th scope="col" { "Key" } th scope="col" { "Value" } } }
                    tbody {
                        @for (k, v) in &record.tags {
                            tr { td { code { (k) } } td { (v.as_str().map_or_else(|| v.to_string(), str::to_owned)) } }
                        }
                    }
                }
            }
        }

        h2 #credentials { "Credentials" }
        (credentials(&record.credentials))
        @if !record.connection_config.is_empty() {
            h3 { "Connection configuration" }
            pre { code { (serde_json::to_string_pretty(&record.connection_config).unwrap_or_default()) } }
        }

        h2 #syncs { "Syncs" }
        (sync_section(session, key, id, &syncs))

        h2 #metadata { "Metadata" }
        (metadata_form(session, &here, metadata_text, metadata_errors))

        h2 #calls { "Recent calls" }
        (calls_section(key, id, &calls.map(|(rows, _)| rows).map_err(ApiError::from)))

        h2 #delete { "Delete" }
        p { a.danger href={ (here) "/delete" } { "Delete this connection…" } }
    };
    let mut resp = page(session, Section::Connections, &record.connection_id, body);
    if feedback.metadata.is_some() || feedback.sync.is_some() {
        resp.set_status(StatusCode::BAD_REQUEST);
    }
    resp
}

/// The Connect link form's query, filled with the connection's end user and integration.
fn end_user_query(key: &str, record: &ConnectionRecord) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("integration", key);
    if let Some(u) = &record.end_user {
        q.append_pair("end_user.id", &u.id);
        if let Some(v) = &u.email {
            q.append_pair("end_user.email", v);
        }
        if let Some(v) = &u.display_name {
            q.append_pair("end_user.display_name", v);
        }
        if let Some(o) = &u.organization {
            q.append_pair("organization.id", &o.id);
            if let Some(v) = &o.display_name {
                q.append_pair("organization.display_name", v);
            }
        }
    }
    q.finish()
}

/// The credentials' type and masked values: never a secret in clear.
fn credentials(c: &Credentials) -> Markup {
    html! {
        dl.facts {
            dt { "Type" } dd { code { (c.auth_mode().as_str()) } }
            @match c {
                Credentials::ApiKey { api_key } => { dt { "API key" } dd { code { (mask(api_key)) } } }
                Credentials::Basic { username, password } => {
                    dt { "Username" } dd { code { (mask(username)) } }
                    dt { "Password" } dd { code { (mask(password)) } }
                }
            }
        }
        p.hint { "Credentials are shown masked. Your backend reads them with " code { "GET /connections/{connectionId}" } "." }
    }
}

fn metadata_form(session: &Session, here: &str, text: &str, errors: &FormErrors) -> Markup {
    let error = errors.field("metadata");
    let rows = text.lines().count().clamp(6, 30);
    let described = if error.is_some() { "f-metadata-hint f-metadata-error" } else { "f-metadata-hint" };
    html! {
        (errors.summary(&["metadata"]))
        form.stack method="post" action={ (here) "/metadata#metadata" } {
            (session.csrf_field())
            div.field {
                label for="f-metadata" { "Metadata (JSON object)" }
                p.hint #f-metadata-hint { "Replaces the connection's metadata, as " code { "POST /connections/metadata" } " does. " code { "{}" } " clears it." }
                textarea.code #f-metadata name="metadata" rows=(rows) spellcheck="false" autocomplete="off"
                    aria-invalid=[error.map(|_| "true")] aria-describedby=(described) { (text) }
                @if let Some(e) = error { p.field-error #f-metadata-error { (e) } }
            }
            div { button type="submit" { "Save metadata" } }
        }
    }
}

/// An ISO time of the sync status as a time.
fn iso_time(at: Option<&str>) -> Option<Markup> {
    at.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| time(t.with_timezone(&chrono::Utc)))
}

fn sync_section(session: &Session, key: &str, id: &str, syncs: &Result<Vec<SyncStatus>, ApiError>) -> Markup {
    let here = base(key, id);
    html! {
        @match syncs {
            Err(e) => p.error role="alert" { "The syncs' status could not be read: " (FormErrors::one_line(&FormErrors::from_api(e))) },
            Ok(syncs) if syncs.is_empty() => p.empty {
                "No sync is deployed for this integration. " a href={ "/dashboard/functions?integration=" (enc(key)) } { "Functions" }
            },
            Ok(syncs) => div.table-wrap {
                table {
                    caption.visually-hidden { "Syncs of this connection" }
                    thead { tr {
                        th scope="col" { "Sync" } th scope="col" { "Status" } th scope="col" { "Last run" } th scope="col" { "Next run" }
                        th scope="col" { "Last run's changes" } th scope="col" { "Records" } th scope="col" { "Actions" }
                    } }
                    tbody {
                        @for s in syncs {
                            @let models: BTreeSet<&String> = s.record_count.keys().chain(s.latest_result.iter().flat_map(|r| r.keys())).collect();
                            tr {
                                th scope="row" { (s.name) }
                                td { span class=(sync_class(&s.status)) { (s.status) } }
                                td {
                                    @if s.status == "RUNNING" { "Running now" br; }
                                    @match iso_time(s.finished_at.as_deref()) {
                                        Some(t) => { (t) br; span.hint { (s.run_type) @if let Some(e) = &s.latest_execution_status { " · " (e) } } }
                                        None => @if s.status != "RUNNING" { span.empty { "Never" } },
                                    }
                                }
                                td {
                                    @match iso_time(s.next_scheduled_sync_at.as_deref()) { Some(t) => (t), None => span.empty { "—" } }
                                    @if let Some(f) = &s.frequency { br; span.hint { (f) } }
                                }
                                td {
                                    @match &s.latest_result {
                                        Some(result) if !result.is_empty() => ul.models {
                                            @for (model, c) in result {
                                                li { (model) ": " span title="added" { "+" (c.added) } " " span title="updated" { "~" (c.updated) } " " span title="deleted" { "−" (c.deleted) } }
                                            }
                                        },
                                        _ => span.empty { "—" },
                                    }
                                }
                                td {
                                    @if models.is_empty() { span.empty { "—" } }
                                    ul.models {
                                        @for model in &models {
                                            li {
                                                a href={ "/dashboard/records?integration=" (enc(key)) "&connection=" (enc(id)) "&model=" (enc(model)) } { (model) }
                                                ": " (s.record_count.get(*model).and_then(Value::as_u64).unwrap_or(0))
                                            }
                                        }
                                    }
                                }
                                td {
                                    form.sync-actions method="post" action={ (here) "/syncs#syncs" } {
                                        (session.csrf_field())
                                        input type="hidden" name="sync" value=(s.name);
                                        button.secondary type="submit" name="action" value="trigger" { "Trigger" span.visually-hidden { " " (s.name) } }
                                        @if s.status == "PAUSED" {
                                            button.secondary type="submit" name="action" value="start" { "Start" span.visually-hidden { " " (s.name) } }
                                        } @else {
                                            button.secondary type="submit" name="action" value="pause" { "Pause" span.visually-hidden { " " (s.name) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        }
    }
}

/// The badge of a sync status.
fn sync_class(status: &str) -> &'static str {
    match status {
        "SUCCESS" => "badge ok",
        "ERROR" | "STOPPED" => "badge bad",
        _ => "badge",
    }
}

fn calls_section(key: &str, id: &str, calls: &Result<Vec<LogEntry>, ApiError>) -> Markup {
    html! {
        @match calls {
            Err(e) => p.error role="alert" { "The calls could not be read: " (FormErrors::one_line(&FormErrors::from_api(e))) },
            Ok(calls) if calls.is_empty() => p.empty { "No call of this connection is kept." },
            Ok(calls) => {
                div.table-wrap {
                    table {
                        caption.visually-hidden { "Recent calls of this connection" }
                        thead { tr { th scope="col" { "Time" } th scope="col" { "Call" } th scope="col" { "Status" } th.num scope="col" { "Duration" } } }
                        tbody {
                            @for entry in calls {
                                @let r = &entry.record;
                                tr {
                                    td { a href=(super::logs::detail_link(&r.request_id, Some(r.at_ms))) { (time(ms(r.at_ms))) } }
                                    td {
                                        @if r.kind == Kind::Proxy {
                                            span.badge { "proxy" } " " code { (r.method) " " (r.upstream_host.as_deref().unwrap_or_default()) (r.upstream_path.as_deref().unwrap_or(&r.path)) }
                                        } @else {
                                            code { (r.method) " " (r.path) }
                                        }
                                        @if let Some(f) = &r.function { br; span.hint { (f.name) " · " (f.outcome) } }
                                    }
                                    td { span class=[(r.status >= 400).then_some("bad")] { (r.status) } @if let Some(code) = &r.error_code { " " code.small { (code) } } }
                                    td.num { (format!("{:.0} ms", r.duration_ms)) }
                                }
                            }
                        }
                    }
                }
                p { a href={ "/dashboard/logs?integration=" (enc(key)) "&connection=" (enc(id)) } { "All calls of this connection" } }
            }
        }
    }
}

#[handler]
pub async fn show(
    req: &Request,
    Path((key, id)): Path<(String, String)>,
    session: Session,
    state: Data<&AppState>,
) -> Response {
    let notice = match query_value(req, "done").as_str() {
        "metadata" => Some("The metadata was saved.".to_owned()),
        action @ ("triggered" | "paused" | "started") => {
            let sync = query_value(req, "sync");
            Some(match action {
                "triggered" => format!("Sync {sync} was triggered: it runs in a moment."),
                "paused" => format!("Sync {sync} was paused: it does not run on its schedule until started."),
                _ => format!("Sync {sync} was started."),
            })
        }
        _ => None,
    };
    show_page(&session, &state, &key, &id, Feedback { notice, ..Feedback::default() }).await
}

/// What is wrong with the metadata text, before the API's parser sees it.
fn metadata_value(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Err("Enter a JSON object, such as {\"plan\": \"pro\"}; {} clears the metadata.".to_owned());
    }
    match serde_json::from_str::<Value>(text) {
        Err(e) => Err(format!("This is not valid JSON: {e}.")),
        Ok(Value::Object(m)) => Ok(Value::Object(m)),
        Ok(other) => {
            let kind = match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            };
            Err(format!("Metadata must be a JSON object ({{ … }}), not {kind}."))
        }
    }
}

#[handler]
pub async fn update_metadata(
    req: &Request,
    Path((key, id)): Path<(String, String)>,
    body: poem::Body,
    session: Session,
    state: Data<&AppState>,
) -> Response {
    let fields = match session.posted(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let text = field(&fields, "metadata");
    // The API's limit on metadata writes holds here too (the form's own limit is larger).
    let limit = state.config.metadata_body_limit.min(state.config.body_limit);
    let checked = if text.len() > limit {
        Err(format!("Metadata may have at most {limit} bytes (NANGO_METADATA_BODY_LIMIT)."))
    } else {
        metadata_value(text)
    };
    let result = match checked {
        Err(message) => Err(FormErrors { general: Vec::new(), fields: vec![("metadata".to_owned(), message)] }),
        Ok(metadata) => {
            let body = json!({"connection_id": id, "provider_config_key": key, "metadata": metadata});
            let saved = match parse::parse_metadata(Some(&body)) {
                Ok((ids, key, metadata)) => service::connection::set_metadata(
                    &state.ctx,
                    session.env(),
                    &key,
                    &ids,
                    metadata,
                    MetadataMode::Replace,
                )
                .await
                .map_err(ApiError::from),
                Err(e) => Err(e),
            };
            saved.map_err(|e| FormErrors::from_api(&e))
        }
    };
    match result {
        Ok(()) => see_other(&format!("{}?done=metadata#metadata", base(&key, &id))),
        Err(errors) => {
            show_page(&session, &state, &key, &id, Feedback { metadata: Some((text, &errors)), ..Feedback::default() })
                .await
        }
    }
}

#[handler]
pub async fn control_sync(
    req: &Request,
    Path((key, id)): Path<(String, String)>,
    body: poem::Body,
    session: Session,
    state: Data<&AppState>,
) -> Response {
    let fields = match session.posted(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let sync = field(&fields, "sync").trim().to_owned();
    let action = field(&fields, "action");
    let result = if sync.is_empty() {
        Err(FormErrors::message("Choose a sync."))
    } else {
        let body = json!({"syncs": [sync], "provider_config_key": key, "connection_id": id});
        match pause_start_body(Some(&body)) {
            Err(e) => Err(FormErrors::from_api(&e)),
            Ok(target) => {
                let done = match action {
                    "trigger" => Some((
                        service::sync::trigger(&state.ctx, session.env(), &target, TriggerKind::Run).await,
                        "triggered",
                    )),
                    "pause" => Some((
                        service::sync::set_status(&state.ctx, session.env(), &target, ScheduleStatus::Paused).await,
                        "paused",
                    )),
                    "start" => Some((
                        service::sync::set_status(&state.ctx, session.env(), &target, ScheduleStatus::Started).await,
                        "started",
                    )),
                    _ => None,
                };
                match done {
                    None => Err(FormErrors::message("Choose to trigger, pause or start the sync.")),
                    Some((Ok(()), done)) => Ok(done),
                    Some((Err(service::Error::NoSyncsFound), _)) => Err(FormErrors::message(format!(
                        "There is no sync named “{sync}” for this connection: it may have been removed by a deploy."
                    ))),
                    Some((Err(e), _)) => Err(FormErrors::from_api(&e.into())),
                }
            }
        }
    };
    match result {
        Ok(done) => see_other(&format!("{}?done={done}&sync={}#syncs", base(&key, &id), enc(&sync))),
        Err(errors) => {
            show_page(&session, &state, &key, &id, Feedback { sync: Some(&errors), ..Feedback::default() }).await
        }
    }
}

// ---- delete --------------------------------------------------------------------------------

fn delete_page(session: &Session, record: &ConnectionRecord, error: Option<&str>) -> Response {
    let here = base(&record.provider_config_key, &record.connection_id);
    let body = html! {
        p { "Deleting connection " strong { code { (record.connection_id) } } " of " code { (record.provider_config_key) }
            " deletes its credentials, its sync schedules and records. Your backend can no longer call the API through it. This cannot be undone." }
        form.stack method="post" action={ (here) "/delete" } data-confirm="Delete this connection?" {
            (session.csrf_field())
            div.field.check {
                input #f-confirm type="checkbox" name="confirm" value="yes" required
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "f-confirm-error")];
                label for="f-confirm" { "I understand that its credentials are deleted" }
            }
            @if let Some(e) = error { p.field-error #f-confirm-error { (e) } }
            div.actions {
                button.danger type="submit" { "Delete connection" }
                a href=(here) { "Cancel" }
            }
        }
    };
    let mut resp = page(session, Section::Connections, "Delete connection", body);
    if error.is_some() {
        resp.set_status(StatusCode::BAD_REQUEST);
    }
    resp
}

#[handler]
pub async fn confirm_delete(
    Path((key, id)): Path<(String, String)>,
    session: Session,
    state: Data<&AppState>,
) -> Response {
    match load(&session, &state, &key, &id).await {
        Ok(record) => delete_page(&session, &record, None),
        Err(resp) => resp,
    }
}

#[handler]
pub async fn delete(
    req: &Request,
    Path((key, id)): Path<(String, String)>,
    body: poem::Body,
    session: Session,
    state: Data<&AppState>,
) -> Response {
    let fields = match session.posted(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    if field(&fields, "confirm") != "yes" {
        return match load(&session, &state, &key, &id).await {
            Ok(record) => delete_page(&session, &record, Some("Tick the box to confirm the deletion.")),
            Err(resp) => resp,
        };
    }
    match service::connection::delete(&state.ctx, session.env(), &key, &id).await {
        Ok(()) => see_other("/dashboard/connections?deleted=1"),
        Err(e) => {
            let err = ApiError::from(e);
            if err.status().is_client_error() {
                not_found(&session, &key, &id)
            } else {
                api_error(&session, Section::Connections, &err)
            }
        }
    }
}

// ---- Connect links -------------------------------------------------------------------------

/// The Connect link form's values.
#[derive(Debug, Default)]
struct LinkForm {
    end_user_id: String,
    email: String,
    display_name: String,
    organization_id: String,
    organization_name: String,
    integrations: Vec<String>,
}

impl LinkForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |name: &str| field(pairs, name).trim().to_owned();
        Self {
            end_user_id: get("end_user.id"),
            email: get("end_user.email"),
            display_name: get("end_user.display_name"),
            organization_id: get("organization.id"),
            organization_name: get("organization.display_name"),
            integrations: pairs
                .iter()
                .filter(|(k, v)| k == "integration" && !v.is_empty())
                .map(|(_, v)| v.trim().to_owned())
                .collect(),
        }
    }

    /// `POST /connect/sessions`'s body.
    fn body(&self) -> Value {
        let mut end_user = Map::new();
        end_user.insert("id".to_owned(), Value::String(self.end_user_id.clone()));
        if !self.email.is_empty() {
            end_user.insert("email".to_owned(), Value::String(self.email.clone()));
        }
        if !self.display_name.is_empty() {
            end_user.insert("display_name".to_owned(), Value::String(self.display_name.clone()));
        }
        let mut body = json!({ "end_user": end_user });
        if !self.organization_id.is_empty() || !self.organization_name.is_empty() {
            let mut org = Map::new();
            org.insert("id".to_owned(), Value::String(self.organization_id.clone()));
            if !self.organization_name.is_empty() {
                org.insert("display_name".to_owned(), Value::String(self.organization_name.clone()));
            }
            body["organization"] = Value::Object(org);
        }
        if !self.integrations.is_empty() {
            body["allowed_integrations"] = json!(self.integrations);
        }
        body
    }
}

/// A created link: the link and when it expires.
struct Created {
    link: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

async fn link_page(
    session: &Session,
    state: &AppState,
    form: &LinkForm,
    errors: &FormErrors,
    created: Option<&Created>,
) -> Response {
    let integrations = match service::integration::list(&state.ctx, session.env()).await {
        Ok(items) => items,
        Err(e) => return api_error(session, Section::Connections, &e.into()),
    };
    // Issues about the allowed integrations are shown next to their checkboxes.
    let integration_error =
        errors.fields.iter().find(|(p, _)| p.starts_with("allowed_integrations")).map(|(_, m)| m.as_str());
    let others = FormErrors {
        general: errors.general.clone(),
        fields: errors.fields.iter().filter(|(p, _)| !p.starts_with("allowed_integrations")).cloned().collect(),
    };
    let body = html! {
        @if let Some(c) = created {
            section.created aria-labelledby="link-title" {
                h2 #link-title { "Connect link" }
                p.notice role="status" { "The link was created. It works until " (time(c.expires_at)) "." }
                div.field {
                    label for="connect-link" { "Link for " (form.end_user_id) }
                    div.copy-row {
                        input #connect-link type="text" readonly value=(c.link) spellcheck="false" autocomplete="off";
                        button.secondary type="button" data-copy="connect-link" hidden { "Copy" }
                    }
                    p.hint { "Send it to your end user. Whoever has the link can connect an account for this end user until it expires." }
                }
            }
            h2 { "Another link" }
        } @else {
            p { "A Connect link lets your end user enter their credential themselves in the Connect UI; the connection appears here once they have. The link works for 30 minutes." }
        }
        (others.summary(&["end_user.id", "end_user.email", "end_user.display_name", "organization.id", "organization.display_name"]))
        form.stack method="post" action="/dashboard/connections/connect-link" {
            (session.csrf_field())
            fieldset {
                legend { "End user" }
                (text_field("end_user.id", "End user id", &form.end_user_id, Some("Your id for the person who will connect."), &others, FieldAttrs { required: true, ..Default::default() }))
                (text_field("end_user.email", "Email", &form.email, None, &others, FieldAttrs { kind: "email", ..Default::default() }))
                (text_field("end_user.display_name", "Display name", &form.display_name, None, &others, FieldAttrs::default()))
            }
            fieldset {
                legend { "Organization (optional)" }
                (text_field("organization.id", "Organization id", &form.organization_id, None, &others, FieldAttrs::default()))
                (text_field("organization.display_name", "Organization name", &form.organization_name, None, &others, FieldAttrs::default()))
            }
            fieldset aria-describedby=[integration_error.map(|_| "f-integrations-error")] {
                legend { "Integrations the end user may connect" }
                p.hint { "None ticked: any integration of this environment." }
                @if integrations.is_empty() {
                    p.empty { "No integration yet. " a href="/dashboard/integrations/new" { "Create one" } " first." }
                }
                @for (i, integration) in integrations.iter().enumerate() {
                    div.field.check {
                        input id={ "f-integration-" (i) } type="checkbox" name="integration" value=(integration.unique_key)
                            checked[form.integrations.contains(&integration.unique_key)];
                        label for={ "f-integration-" (i) } { (integration.display_name) " " code.small { (integration.unique_key) } }
                    }
                }
                @if let Some(e) = integration_error { p.field-error #f-integrations-error { (e) } }
            }
            div { button type="submit" { "Create Connect link" } }
        }
    };
    let mut resp = page(session, Section::Connections, "Connect link", body);
    if !errors.is_empty() {
        resp.set_status(StatusCode::BAD_REQUEST);
    }
    resp
}

#[handler]
pub async fn connect_link_form(req: &Request, session: Session, state: Data<&AppState>) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes()).into_owned().collect();
    link_page(&session, &state, &LinkForm::from_pairs(&pairs), &FormErrors::default(), None).await
}

#[handler]
pub async fn create_connect_link(
    req: &Request,
    body: poem::Body,
    session: Session,
    state: Data<&AppState>,
) -> Response {
    let fields = match session.posted(req, body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let form = LinkForm::from_pairs(&fields);
    let body = form.body();
    let result = match parse_new_session(Some(&body)) {
        Ok(input) => service::connect::create(&state.ctx, session.env(), input, None).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(created) => {
            let created = Created { link: created.connect_link, expires_at: created.expires_at };
            link_page(&session, &state, &form, &FormErrors::default(), Some(&created)).await
        }
        Err(e) if e.status().is_server_error() => api_error(&session, Section::Connections, &e),
        Err(e) => link_page(&session, &state, &form, &FormErrors::from_api(&e), None).await,
    }
}
