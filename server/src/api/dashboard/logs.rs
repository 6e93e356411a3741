//! The call history: filters, newest first, cursor paging, one call's detail, and a chart of
//! requests and errors per minute.
//!
//! The filter form is a GET form; its values become the query an API client would send to
//! `GET /logs` and go through the API's own parser, so the page filters, pages and refuses
//! exactly as the API does. The chart is SVG drawn here (no script), with its numbers in a
//! caption and a table for those who cannot see it.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use maud::{Markup, html};
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Path},
};

use super::{FieldAttrs, FormErrors, Section, Session, enc, error_page, page, text_field, time};
use crate::{
    AppState,
    api::logs::parse_list_query,
    error::ApiError,
    model::activity::{Kind, LogEntry, MinuteCount},
    service,
};

/// Entries per page.
const PAGE_SIZE: u64 = 50;
/// The chart's choices of span, in hours; the first is the default.
const HOURS: [i64; 3] = [1, 6, 24];

/// The filters as the form holds them (what the person typed, shown again as typed).
#[derive(Debug, Default)]
struct Filters {
    integration: String,
    connection: String,
    status: String,
    kind: String,
    from: String,
    to: String,
    cursor: String,
    hours: i64,
}

impl Filters {
    fn from_query(raw: Option<&str>) -> Self {
        let mut f = Self { hours: HOURS[0], ..Self::default() };
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let v = v.trim().to_owned();
            match k.as_ref() {
                "integration" => f.integration = v,
                "connection" => f.connection = v,
                "status" => f.status = v,
                "type" => f.kind = v,
                "from" => f.from = v,
                "to" => f.to = v,
                "cursor" => f.cursor = v,
                "hours" => f.hours = v.parse().ok().filter(|h| HOURS.contains(h)).unwrap_or(HOURS[0]),
                _ => {}
            }
        }
        f
    }

    /// The query string of `GET /logs` for these filters (empty fields left out).
    fn api_query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("integrationId", self.integration.clone()),
            ("connectionId", self.connection.clone()),
            ("status", self.status.clone()),
            ("type", self.kind.clone()),
            ("from", api_time(&self.from)),
            ("to", api_time(&self.to)),
            ("cursor", self.cursor.clone()),
        ] {
            if !value.is_empty() {
                q.append_pair(name, &value);
            }
        }
        q.append_pair("limit", &PAGE_SIZE.to_string());
        q.finish()
    }

    /// This page with these filters, at `cursor` (the first page without one).
    fn link(&self, cursor: Option<&str>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("integration", self.integration.as_str()),
            ("connection", self.connection.as_str()),
            ("status", self.status.as_str()),
            ("type", self.kind.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ] {
            if !value.is_empty() {
                q.append_pair(name, value);
            }
        }
        if self.hours != HOURS[0] {
            q.append_pair("hours", &self.hours.to_string());
        }
        if let Some(c) = cursor {
            q.append_pair("cursor", c);
        }
        format!("/dashboard/logs?{}", q.finish())
    }
}

/// A time as the API takes it: RFC 3339 as given, or a `datetime-local` value
/// (`2026-11-23T10:00`, read as UTC) converted; anything else as typed, for the parser to
/// refuse.
fn api_time(value: &str) -> String {
    if value.is_empty() || DateTime::parse_from_rfc3339(value).is_ok() {
        return value.to_owned();
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
        .map_or_else(|| value.to_owned(), |t| t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// A time in the form a `datetime-local` input shows (UTC), or the text as typed.
fn input_time(value: &str) -> String {
    match DateTime::parse_from_rfc3339(&api_time(value)) {
        Ok(t) => t.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%S").to_string(),
        Err(_) => value.to_owned(),
    }
}

/// The API's issues under the form's field names.
fn form_errors(err: &ApiError) -> FormErrors {
    let mut errors = FormErrors::from_api(err);
    for (path, _) in &mut errors.fields {
        match path.as_str() {
            "integrationId" => "integration".clone_into(path),
            "connectionId" => "connection".clone_into(path),
            _ => {}
        }
    }
    errors
}

fn ms(at_ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at_ms).unwrap_or_default()
}

fn duration(ms: f64) -> String {
    if ms >= 1000.0 { format!("{:.2} s", ms / 1000.0) } else { format!("{ms:.1} ms") }
}

fn status_class(status: u16) -> &'static str {
    if status >= 400 { "bad" } else { "ok" }
}

/// The detail page of a call; with the call's time, the lookup reads only the rows near it
/// (through the time index) instead of the environment's whole history.
pub(super) fn detail_link(request_id: &str, at_ms: Option<i64>) -> String {
    match at_ms {
        Some(at) => format!("/dashboard/logs/{}?at={at}", enc(request_id)),
        None => format!("/dashboard/logs/{}", enc(request_id)),
    }
}

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Api => "API",
        Kind::Proxy => "Proxy",
    }
}

/// A page of the layout in the Logs section for an API error.
fn logs_error(session: &Session, err: &ApiError) -> Response {
    let status = err.status();
    let message = FormErrors::from_api(err).general.join(" ");
    error_page(
        session,
        Section::Logs,
        if status.is_server_error() { StatusCode::INTERNAL_SERVER_ERROR } else { status },
        &message,
    )
}

fn filter_form(f: &Filters, integrations: &[(String, String)], errors: &FormErrors) -> Markup {
    let status_error = errors.field("status");
    let known = integrations.iter().any(|(key, _)| *key == f.integration);
    html! {
        form.inline method="get" action="/dashboard/logs" aria-label="Filter the calls" {
            div.field {
                label for="f-integration" { "Integration" }
                select #f-integration name="integration" aria-invalid=[errors.field("integration").map(|_| "true")] {
                    option value="" { "All" }
                    @for (key, name) in integrations {
                        option value=(key) selected[*key == f.integration] { (key) @if name != key { " (" (name) ")" } }
                    }
                    @if !f.integration.is_empty() && !known {
                        option value=(f.integration) selected { (f.integration) }
                    }
                }
                @if let Some(e) = errors.field("integration") { p.field-error { (e) } }
            }
            (text_field("connection", "Connection id", &f.connection, None, errors, FieldAttrs::default()))
            div.field {
                label for="f-status" { "Status" }
                p.hint #f-status-hint { "401, 4xx, success or error" }
                input #f-status name="status" type="text" value=(f.status) list="statuses" autocomplete="off"
                    spellcheck="false" aria-invalid=[status_error.map(|_| "true")]
                    aria-describedby={ "f-status-hint" @if status_error.is_some() { " f-status-error" } };
                datalist #statuses {
                    @for s in ["success", "error", "2xx", "3xx", "4xx", "5xx", "401", "429"] { option value=(s) {} }
                }
                @if let Some(e) = status_error { p.field-error #f-status-error { (e) } }
            }
            div.field {
                label for="f-type" { "Type" }
                select #f-type name="type" aria-invalid=[errors.field("type").map(|_| "true")] {
                    option value="" { "All" }
                    option value="api" selected[f.kind == "api"] { "API calls" }
                    option value="proxy" selected[f.kind == "proxy"] { "Proxied calls" }
                }
                @if let Some(e) = errors.field("type") { p.field-error { (e) } }
            }
            (text_field("from", "From (UTC)", &input_time(&f.from), None, errors, FieldAttrs { kind: "datetime-local", ..Default::default() }))
            (text_field("to", "Until (UTC)", &input_time(&f.to), None, errors, FieldAttrs { kind: "datetime-local", ..Default::default() }))
            div.field {
                label for="f-hours" { "Chart span" }
                select #f-hours name="hours" {
                    @for h in HOURS {
                        option value=(h) selected[h == f.hours] { "Last " (h) " hour" @if h != 1 { "s" } }
                    }
                }
            }
            div.field {
                button type="submit" { "Apply" }
            }
            div.field { a href="/dashboard/logs" { "Reset" } }
        }
    }
}

/// Plot geometry of the chart, in SVG user units (the stylesheet scales it to the width).
mod geometry {
    pub const WIDTH: f64 = 800.0;
    pub const HEIGHT: f64 = 200.0;
    pub const LEFT: f64 = 40.0;
    pub const RIGHT: f64 = 8.0;
    pub const TOP: f64 = 10.0;
    pub const BASE: f64 = 176.0;
}

/// The smallest of 1, 2, 5, 10, 20, 50, … at least `n`: the top of the chart's scale.
fn scale_top(n: u64) -> u64 {
    let n = n.max(1);
    let mut power = 1u64;
    loop {
        for m in [1, 2, 5] {
            if m * power >= n {
                return m * power;
            }
        }
        power = power.saturating_mul(10);
    }
}

fn minute_label(minute_ms: i64) -> String {
    ms(minute_ms).format("%H:%M").to_string()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Calls and failed calls per minute from `start_ms` over `minutes` minutes, as SVG bars
/// with a caption that says the same in words and a table of the minutes with calls.
fn chart(counts: &[MinuteCount], start_ms: i64, minutes: i64, hours: i64, integration: Option<&str>) -> Markup {
    use geometry::*;
    let total: u64 = counts.iter().map(|c| c.requests).sum();
    let errors: u64 = counts.iter().map(|c| c.errors).sum();
    let busiest = counts.iter().max_by_key(|c| (c.requests, -c.minute_ms));
    let top = scale_top(busiest.map_or(0, |c| c.requests));
    let slot = (WIDTH - LEFT - RIGHT) / minutes as f64;
    let gap = if slot >= 4.0 { slot * 0.15 } else { 0.0 };
    let height = |n: u64| (BASE - TOP) * n as f64 / top as f64;
    let x_of = |minute_ms: i64| LEFT + ((minute_ms - start_ms) / 60_000) as f64 * slot;
    // About six time labels, on round minutes.
    let every = (minutes / 6).max(1);
    let ticks: Vec<i64> = (0..minutes).map(|i| start_ms + i * 60_000).filter(|m| (m / 60_000) % every == 0).collect();
    let scope = integration.map_or_else(|| "all integrations".to_owned(), |k| format!("integration {k}"));
    let span = plural(u64::try_from(hours).unwrap_or_default(), "hour", "hours");
    html! {
        figure.chart-figure {
            figcaption #chart-caption {
                "Calls per minute over the last " (span) " (UTC), " (scope) ": "
                (plural(total, "call", "calls")) ", " (plural(errors, "error", "errors")) "."
                @if let Some(b) = busiest.filter(|b| b.requests > 0) {
                    " Busiest minute: " (minute_label(b.minute_ms)) " with " (plural(b.requests, "call", "calls")) "."
                }
            }
            p.legend aria-hidden="true" {
                span.swatch.requests {} "Calls" span.swatch.errors {} "Errors (status 400 and above)"
            }
            svg.chart viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-labelledby="chart-caption" {
                @for value in [top, top / 2, 0] {
                    @let y = BASE - height(value);
                    line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y) y2=(y) {}
                    text x=(LEFT - 4.0) y=(y + 3.0) text-anchor="end" { (value) }
                }
                @for t in &ticks {
                    text x=(format!("{:.2}", x_of(*t))) y=(HEIGHT - 8.0) text-anchor="middle" { (minute_label(*t)) }
                }
                @for c in counts.iter().filter(|c| c.minute_ms >= start_ms && c.requests > 0) {
                    @let x = format!("{:.2}", x_of(c.minute_ms) + gap);
                    @let w = format!("{:.2}", (slot - 2.0 * gap).max(0.5));
                    @let at = ms(c.minute_ms).to_rfc3339_opts(SecondsFormat::Secs, true);
                    @let label = format!("{} UTC: {}, {}", minute_label(c.minute_ms), plural(c.requests, "call", "calls"), plural(c.errors, "error", "errors"));
                    rect.requests x=(x) y=(format!("{:.2}", BASE - height(c.requests))) width=(w)
                        height=(format!("{:.2}", height(c.requests))) data-minute=(at) data-count=(c.requests) {
                        title { (label) }
                    }
                    @if c.errors > 0 {
                        rect.errors x=(x) y=(format!("{:.2}", BASE - height(c.errors))) width=(w)
                            height=(format!("{:.2}", height(c.errors))) data-minute=(at) data-count=(c.errors) {
                            title { (label) }
                        }
                    }
                }
            }
            @if total > 0 {
                details {
                    summary { "The minutes with calls, as a table" }
                    div.table-wrap {
                        table {
                            caption.visually-hidden { "Calls and errors per minute (UTC)" }
                            thead { tr { th scope="col" { "Minute (UTC)" } th.num scope="col" { "Calls" } th.num scope="col" { "Errors" } } }
                            tbody {
                                @for c in counts.iter().filter(|c| c.requests > 0) {
                                    tr { td { (ms(c.minute_ms).format("%Y-%m-%d %H:%M")) } td.num { (c.requests) } td.num { (c.errors) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One entry as a table row; `link`: its time links to its detail page.
fn entry_row(e: &LogEntry, link: bool) -> Markup {
    let r = &e.record;
    if let Some(d) = &e.dropped {
        return html! {
            tr.dropped {
                td colspan="7" {
                    strong { (plural(d.count, "call was", "calls were")) " not kept" }
                    " between " (time(ms(d.from_ms))) " and " (time(ms(d.to_ms)))
                    ": the database could not keep up with the calls."
                }
            }
        };
    }
    html! {
        tr {
            td { @if link { a href=(detail_link(&r.request_id, Some(r.at_ms))) { (time(ms(r.at_ms))) } } @else { (time(ms(r.at_ms))) } }
            td {
                (kind_label(r.kind))
                @if let Some(op) = &e.operation { br; code.small { (op) } }
            }
            td {
                (r.method) " " code { (r.path) }
                @if let Some(host) = &r.upstream_host {
                    br; span.hint { "→ " (host) (r.upstream_path.as_deref().unwrap_or_default()) }
                }
            }
            td.num { span class=(status_class(r.status)) { (r.status) } }
            td.num { (duration(r.duration_ms)) }
            td {
                @if let Some(key) = &r.integration { a href={ "/dashboard/integrations/" (enc(key)) } { (key) } }
                @if let Some(id) = &r.connection_id { br; code.small { (id) } }
            }
            td {
                @if let Some(code) = &r.error_code { code { (code) } }
                @if let Some(f) = &r.function {
                    @if r.error_code.is_some() { br; }
                    "Function " code { (f.name) } " · " (f.outcome)
                }
            }
        }
    }
}

/// The call history of the session's environment.
#[handler]
pub async fn list(req: &Request, session: Session, state: Data<&AppState>) -> Response {
    let ctx = &state.ctx;
    let filters = Filters::from_query(req.uri().query());
    let integrations: Vec<(String, String)> = match service::integration::list(ctx, session.env()).await {
        Ok(items) => items.into_iter().map(|i| (i.unique_key, i.display_name)).collect(),
        Err(e) => return logs_error(&session, &e.into()),
    };
    let parsed = parse_list_query(Some(&filters.api_query()));
    let (listing, errors) = match parsed {
        Ok((filter, limit, cursor)) => {
            match service::activity::list(ctx, session.env(), &filter, limit, cursor).await {
                Ok(page) => (Some(page), FormErrors::default()),
                Err(e) => return logs_error(&session, &e.into()),
            }
        }
        Err(e) => (None, form_errors(&e)),
    };
    let now_ms = Utc::now().timestamp_millis();
    let minutes = filters.hours * 60;
    let end_ms = (now_ms / 60_000 + 1) * 60_000;
    let start_ms = end_ms - minutes * 60_000;
    let scope = Some(filters.integration.as_str()).filter(|k| !k.is_empty());
    let counts = match service::activity::per_minute(ctx, session.env(), scope, start_ms, end_ms).await {
        Ok(c) => c,
        Err(e) => return logs_error(&session, &e.into()),
    };
    let body = html! {
        (errors.summary(&["integration", "connection", "status", "type", "from", "to"]))
        (filter_form(&filters, &integrations, &errors))
        h2 { "Calls per minute" }
        p.hint { "The chart follows the integration filter; the other filters apply to the list below." }
        (chart(&counts, start_ms, minutes, filters.hours, scope))
        h2 #calls { "Calls" }
        @if let Some((entries, next)) = &listing {
            @if entries.is_empty() {
                p.empty {
                    @if filters.cursor.is_empty() { "No call matches these filters." } @else { "No older call matches these filters." }
                }
            } @else {
                div.table-wrap {
                    table.logs {
                        caption.visually-hidden { "Calls, newest first" }
                        thead { tr {
                            th scope="col" { "Finished" } th scope="col" { "Type" } th scope="col" { "Request" }
                            th.num scope="col" { "Status" } th.num scope="col" { "Duration" }
                            th scope="col" { "Integration · connection" } th scope="col" { "Error · function" }
                        } }
                        tbody { @for e in entries { (entry_row(e, true)) } }
                    }
                }
            }
            nav.pager aria-label="Pages" {
                @if !filters.cursor.is_empty() { a href=(filters.link(None)) { "Newest" } }
                @if let Some(c) = next { a href=(filters.link(Some(&c.encode()))) rel="next" { "Older" } }
            }
        }
    };
    let mut resp = page(&session, Section::Logs, "Logs", body);
    if !errors.is_empty() {
        resp.set_status(StatusCode::BAD_REQUEST);
    }
    resp
}

fn facts(e: &LogEntry) -> Markup {
    let r = &e.record;
    html! {
        dl.facts {
            dt { "Request id" }
            dd.copy-row {
                input #request-id type="text" readonly value=(r.request_id) aria-label="Request id";
                button.secondary type="button" data-copy="request-id" hidden { "Copy" }
            }
            dt { "Finished" } dd { (time(ms(r.at_ms))) }
            dt { "Type" } dd { (kind_label(r.kind)) @if let Some(op) = &e.operation { " · " code { (op) } } }
            dt { "Request" } dd { (r.method) " " code { (r.path) } }
            dt { "Status" } dd { span class=(status_class(r.status)) { (r.status) } }
            dt { "Duration" } dd { (duration(r.duration_ms)) }
            @if let Some(key) = &r.integration {
                dt { "Integration" } dd { a href={ "/dashboard/integrations/" (enc(key)) } { (key) } }
            }
            @if let Some(id) = &r.connection_id {
                dt { "Connection" }
                dd { @match &r.integration {
                    Some(key) => a href={ "/dashboard/connections/" (enc(key)) "/" (enc(id)) } { (id) },
                    None => code { (id) },
                } }
            }
            @if let Some(host) = &r.upstream_host {
                dt { "Upstream host" } dd { code { (host) } }
                dt { "Upstream path" } dd { code { (r.upstream_path.as_deref().unwrap_or_default()) } }
                dt { "Upstream status" } dd { @match r.upstream_status { Some(s) => span class=(status_class(s)) { (s) }, None => "no answer" } }
            }
            @if let Some(n) = r.attempts { dt { "Attempts" } dd { (n) } }
            @if let Some(code) = &r.error_code { dt { "Error code" } dd { code { (code) } } }
        }
    }
}

/// One call (by request id), with what its function did and the calls it made.
#[handler]
pub async fn show(req: &Request, Path(id): Path<String>, session: Session, state: Data<&AppState>) -> Response {
    let near_ms = url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "at")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    let entries = match service::activity::by_request_id(&state.ctx, session.env(), &id, near_ms).await {
        Ok(e) => e,
        Err(e) => return logs_error(&session, &e.into()),
    };
    let Some(main) = entries.iter().find(|e| e.record.kind == Kind::Api).or(entries.first()) else {
        return error_page(
            &session,
            Section::Logs,
            StatusCode::NOT_FOUND,
            "No call of this environment has this request id. Calls are kept for the log retention (NANGO_LOG_RETENTION_HOURS, one week by default).",
        );
    };
    let others: Vec<&LogEntry> = entries.iter().filter(|e| !std::ptr::eq(*e, main)).collect();
    let body = html! {
        p { a href="/dashboard/logs" { "← All calls" } }
        @if let Some(d) = &main.dropped {
            p.error role="status" {
                (plural(d.count, "call was", "calls were")) " not kept between " (time(ms(d.from_ms))) " and "
                (time(ms(d.to_ms))) ": the database could not keep up with the calls."
            }
        } @else {
            (facts(main))
        }
        @if let Some(f) = &main.record.function {
            h2 { "Function" }
            dl.facts {
                dt { "Name" } dd { code { (f.name) } }
                @if let Some(v) = &f.version { dt { "Version" } dd { (v) } }
                dt { "Outcome" } dd { span class=(if f.outcome == "success" { "ok" } else { "bad" }) { (f.outcome) } }
                dt { "Proxied calls" } dd { (f.proxied_calls) }
            }
            h3 { "Its log" }
            @if f.logs.is_empty() {
                p.empty { "It logged nothing." }
            } @else {
                div.table-wrap {
                    table {
                        caption.visually-hidden { "The function's log lines, in order" }
                        thead { tr { th scope="col" { "Level" } th scope="col" { "Message" } } }
                        tbody {
                            @for (level, message) in &f.logs {
                                tr { td { span class=[(level == "error").then_some("bad")] { (level) } } td { pre.log-line { (message) } } }
                            }
                        }
                    }
                }
            }
        }
        @if !others.is_empty() {
            h2 { "Calls made for this request" }
            div.table-wrap {
                table.logs {
                    caption.visually-hidden { "Calls with the same request id, oldest first" }
                    thead { tr {
                        th scope="col" { "Finished" } th scope="col" { "Type" } th scope="col" { "Request" }
                        th.num scope="col" { "Status" } th.num scope="col" { "Duration" }
                        th scope="col" { "Integration · connection" } th scope="col" { "Error · function" }
                    } }
                    tbody { @for e in &others { (entry_row(e, false)) } }
                }
            }
        }
    };
    page(&session, Section::Logs, "Call", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_typed_in_the_form_become_rfc3339() {
        assert_eq!(api_time("2026-11-23T10:00"), "2026-11-23T10:00:00Z");
        assert_eq!(api_time("2026-11-23T10:00:30"), "2026-11-23T10:00:30Z");
        assert_eq!(api_time("2026-11-23T10:00:00+02:00"), "2026-11-23T10:00:00+02:00");
        assert_eq!(api_time("yesterday"), "yesterday");
        assert_eq!(input_time("2026-11-23T10:00:00+02:00"), "2026-11-23T08:00:00");
    }

    #[test]
    fn the_scale_is_a_round_number() {
        assert_eq!([0, 1, 3, 7, 10, 11, 49, 51].map(scale_top), [1, 1, 5, 10, 10, 20, 50, 100]);
    }
}
