//! sea-orm entities: one module per table. Never returned from handlers (see `api/`).

pub mod action_run;
pub mod alert;
pub mod connect_session;
pub mod connection;
pub mod connection_activity;
pub mod environment;
pub mod function;
pub mod integration;
pub mod record;
pub mod request_log;
pub mod sync_schedule;
pub mod vault;
pub mod webhook_outbox;
pub mod webhook_settings;
