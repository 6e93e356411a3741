//! Functions: deployed actions and syncs per integration, running an action with a JSON input,
//! and the records browser.

use maud::html;
use poem::{Response, handler};

use super::{Section, Session, page};

#[handler]
pub async fn list(session: Session) -> Response {
    page(&session, Section::Functions, "Functions", html! { p { "Not built yet." } })
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
