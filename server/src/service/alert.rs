//! Slack alerts on errors: a failed sync or action run, or a connection whose credential the
//! upstream refuses, posts one message to the environment's Slack incoming webhook, naming the
//! environment, integration, connection and function, with a link to the logs. While the
//! problem lasts nothing more is sent for the same (connection, function); when it recovers,
//! one "resolved" message. Messages go through the webhook outbox (durable, retried), queued
//! in the same transaction as the alert's state.

use serde_json::{Value, json};

use super::{Context, webhook};
use crate::{db::repo, model::environment::Environment};

/// What an alert is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Sync(&'a str),
    Action(&'a str),
    /// The upstream refuses the connection's credential.
    Auth,
}

impl Subject<'_> {
    fn key(&self) -> String {
        match self {
            Self::Sync(name) => format!("sync:{name}"),
            Self::Action(name) => format!("action:{name}"),
            Self::Auth => "auth".to_owned(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Sync(name) => format!("Sync `{}`", escape(name)),
            Self::Action(name) => format!("Action `{}`", escape(name)),
            Self::Auth => "Credentials".to_owned(),
        }
    }
}

/// The connection an alert is about.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub connection_row: i64,
    pub connection_id: &'a str,
    pub provider_config_key: &'a str,
}

/// Slack's mrkdwn escaping (`&`, `<`, `>`).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn logs_link(ctx: &Context, t: &Target<'_>) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("integrationId", t.provider_config_key)
        .append_pair("connectionId", t.connection_id)
        .finish();
    format!("{}/logs?{query}", ctx.public_url)
}

/// The Slack message (`text` for notifications, `blocks` for the body).
fn message(ctx: &Context, env: &Environment, t: &Target<'_>, subject: Subject<'_>, detail: Option<&str>) -> Value {
    let (icon, headline) = match (detail, subject) {
        (Some(_), Subject::Auth) => (":x:", "refused by the upstream".to_owned()),
        (Some(_), _) => (":x:", "failed".to_owned()),
        (None, _) => (":white_check_mark:", "resolved".to_owned()),
    };
    let title = format!(
        "{icon} {} {headline} for connection `{}` of `{}` ({})",
        subject.describe(),
        escape(t.connection_id),
        escape(t.provider_config_key),
        escape(&env.name)
    );
    let mut lines = vec![
        format!("*Environment:* {}", escape(&env.name)),
        format!("*Integration:* {}", escape(t.provider_config_key)),
        format!("*Connection:* {}", escape(t.connection_id)),
    ];
    match subject {
        Subject::Sync(name) | Subject::Action(name) => lines.push(format!("*Function:* {}", escape(name))),
        Subject::Auth => {}
    }
    if let Some(detail) = detail {
        let mut detail = escape(detail);
        if detail.len() > 500 {
            let mut cut = 500;
            while !detail.is_char_boundary(cut) {
                cut -= 1;
            }
            detail.truncate(cut);
            detail.push('…');
        }
        lines.push(format!("*Error:* {detail}"));
    }
    let link = logs_link(ctx, t);
    lines.push(format!("<{link}|Logs>"));
    json!({
        "text": title,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": title}},
            {"type": "section", "text": {"type": "mrkdwn", "text": lines.join("\n")}},
        ],
    })
}

/// A problem: the first occurrence (per connection and subject) posts an alert.
pub async fn failed(ctx: &Context, env: &Environment, t: Target<'_>, subject: Subject<'_>, detail: &str) {
    if let Err(e) = open(ctx, env, &t, subject, detail).await {
        tracing::warn!(error = %e, "could not queue a Slack alert");
    }
}

async fn open(
    ctx: &Context,
    env: &Environment,
    t: &Target<'_>,
    subject: Subject<'_>,
    detail: &str,
) -> Result<(), String> {
    use sea_orm::TransactionTrait;
    let settings = webhook::settings(ctx, env).await.map_err(|e| e.to_string())?;
    if settings.slack_url.is_none() {
        return Ok(());
    }
    let txn = ctx.db.begin().await.map_err(|e| e.to_string())?;
    let opened =
        repo::alert::open(&txn, env.id, t.connection_row, &subject.key(), chrono::Utc::now().timestamp_millis())
            .await
            .map_err(|e| e.to_string())?;
    if opened {
        webhook::enqueue_slack(&txn, env, &message(ctx, env, t, subject, Some(detail)))
            .await
            .map_err(|e| e.to_string())?;
    }
    txn.commit().await.map_err(|e| e.to_string())?;
    if opened {
        webhook::wake(ctx);
    }
    Ok(())
}

/// A success: if an alert is open for it, posts one "resolved" message.
pub async fn recovered(ctx: &Context, env: &Environment, t: Target<'_>, subject: Subject<'_>) {
    if let Err(e) = close(ctx, env, &t, subject).await {
        tracing::warn!(error = %e, "could not resolve a Slack alert");
    }
}

async fn close(ctx: &Context, env: &Environment, t: &Target<'_>, subject: Subject<'_>) -> Result<(), String> {
    use sea_orm::TransactionTrait;
    let key = subject.key();
    // The common case (nothing open) costs one read.
    if !repo::alert::is_open(&ctx.db, t.connection_row, &key).await.map_err(|e| e.to_string())? {
        return Ok(());
    }
    let settings = webhook::settings(ctx, env).await.map_err(|e| e.to_string())?;
    let txn = ctx.db.begin().await.map_err(|e| e.to_string())?;
    let closed = repo::alert::close(&txn, t.connection_row, &key).await.map_err(|e| e.to_string())?;
    if closed && settings.slack_url.is_some() {
        webhook::enqueue_slack(&txn, env, &message(ctx, env, t, subject, None)).await.map_err(|e| e.to_string())?;
    }
    txn.commit().await.map_err(|e| e.to_string())?;
    webhook::wake(ctx);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_is_escaped() {
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }
}
