//! The call history: filters, newest first, cursor paging, one call's detail, and a chart of
//! requests and errors per minute.

use maud::html;
use poem::{Response, handler};

use super::{Section, Session, page};

#[handler]
pub async fn list(session: Session) -> Response {
    page(&session, Section::Logs, "Logs", html! { p { "Not built yet." } })
}

#[handler]
pub async fn show(session: Session) -> Response {
    page(&session, Section::Logs, "Call", html! { p { "Not built yet." } })
}
