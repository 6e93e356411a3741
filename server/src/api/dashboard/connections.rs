//! Connections: list with search and filters, one connection's page (end user, tags, metadata,
//! masked credentials, recent calls, syncs), delete, and Connect links.

use maud::html;
use poem::{Response, handler, web::Data};

use super::{Section, Session, page};
use crate::AppState;

#[handler]
pub async fn list(session: Session, _state: Data<&AppState>) -> Response {
    page(&session, Section::Connections, "Connections", html! { p { "Not built yet." } })
}

#[handler]
pub async fn show(session: Session) -> Response {
    page(&session, Section::Connections, "Connection", html! { p { "Not built yet." } })
}

#[handler]
pub async fn update_metadata(session: Session) -> Response {
    page(&session, Section::Connections, "Connection", html! { p { "Not built yet." } })
}

#[handler]
pub async fn control_sync(session: Session) -> Response {
    page(&session, Section::Connections, "Connection", html! { p { "Not built yet." } })
}

#[handler]
pub async fn confirm_delete(session: Session) -> Response {
    page(&session, Section::Connections, "Connection", html! { p { "Not built yet." } })
}

#[handler]
pub async fn delete(session: Session) -> Response {
    page(&session, Section::Connections, "Connection", html! { p { "Not built yet." } })
}

#[handler]
pub async fn connect_link_form(session: Session) -> Response {
    page(&session, Section::Connections, "Connect link", html! { p { "Not built yet." } })
}

#[handler]
pub async fn create_connect_link(session: Session) -> Response {
    page(&session, Section::Connections, "Connect link", html! { p { "Not built yet." } })
}
