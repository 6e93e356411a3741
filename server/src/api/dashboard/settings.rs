//! Settings: webhook URLs and events, the signing key (reveal, rotate), the Slack alert URL.

use maud::html;
use poem::{Response, handler};

use super::{Section, Session, page};

#[handler]
pub async fn show(session: Session) -> Response {
    page(&session, Section::Settings, "Settings", html! { p { "Not built yet." } })
}

#[handler]
pub async fn update(session: Session) -> Response {
    page(&session, Section::Settings, "Settings", html! { p { "Not built yet." } })
}

#[handler]
pub async fn signing_key(session: Session) -> Response {
    page(&session, Section::Settings, "Settings", html! { p { "Not built yet." } })
}
