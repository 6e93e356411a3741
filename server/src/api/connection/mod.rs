//! `/connections`: Nango's Connections API (import, read, list, patch, delete, metadata).
//! Wire types are in [`wire`], body and query validation in `parse`.

mod legacy;
pub(crate) mod parse;
pub mod wire;

pub use legacy::LegacyConnectionApi;

use poem::{Request, web::Data};
use poem_openapi::{OpenApi, param::Path, payload::Json};
use serde_json::Value;

use self::{
    parse::{connection_query, list_filter, parse_import, parse_metadata, parse_patch},
    wire::*,
};
use super::{
    ApiTags,
    extract::{DocOnly, JsonBody, SecretKey},
    rules::CONNECTION_ID,
    validate,
};
use crate::{AppState, error::ApiError, model::connection::MetadataMode, service::connection as svc};

/// Nango's Connections API.
pub struct ConnectionApi;

#[OpenApi(tag = "ApiTags::Connections")]
impl ConnectionApi {
    /// List connections
    ///
    /// Lists the environment's connections, newest first, without credentials. Filters:
    /// `connectionId` (exact), `search` (in connection id, end-user name or email),
    /// `endUserId`, `endUserOrganizationId`, `integrationId` (comma-separated keys),
    /// `tags[key]=value` (all must match), `limit` (1 to 2000) and `page`.
    #[oai(path = "/connections", method = "get", operation_id = "list_connections")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn list_connections(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Exact connection id.
        #[oai(name = "connectionId")]
        _connection_id: poem_openapi::param::Query<DocOnly<String>>,
        /// Text to look for in the connection id, end-user display name or email.
        #[oai(name = "search")]
        _search: poem_openapi::param::Query<DocOnly<String>>,
        /// The end user's id.
        #[oai(name = "endUserId")]
        _end_user_id: poem_openapi::param::Query<DocOnly<String>>,
        /// The end user's organization id.
        #[oai(name = "endUserOrganizationId")]
        _end_user_organization_id: poem_openapi::param::Query<DocOnly<String>>,
        /// Integration keys, comma-separated.
        #[oai(name = "integrationId")]
        _integration_id: poem_openapi::param::Query<DocOnly<String>>,
        /// Page size (1 to 2000).
        #[oai(name = "limit")]
        _limit: poem_openapi::param::Query<DocOnly<u32>>,
        /// Page number, from 0.
        #[oai(name = "page")]
        _page: poem_openapi::param::Query<DocOnly<u32>>,
    ) -> Result<Json<ConnectionListResponse>, ApiError> {
        let filter = list_filter(req.uri().query())?;
        let rows = svc::list(&state.ctx, &auth.0, &filter).await?;
        Ok(Json(ConnectionListResponse { connections: rows.into_iter().map(list_item).collect() }))
    }

    /// Import a connection
    ///
    /// Stores a connection with credentials you already hold (an API key, or a username and
    /// password). Importing an existing connection id replaces its credentials. The
    /// provider's `connection_config` schema is enforced (required fields, patterns,
    /// formats, enums, defaults applied; values the provider's templates need must be
    /// present), and a provider that declares a verification request gets the credential
    /// checked first. Answers 201 with the connection, credentials included.
    #[oai(path = "/connections", method = "post", operation_id = "create_connection")]
    async fn create_connection(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<ImportConnectionRequest>,
    ) -> Result<CreatedConnection, ApiError> {
        validate::empty_query(req.uri().query())?;
        let input = parse_import(body.value())?;
        crate::request_id::set_subject(Some(&input.provider_config_key), input.connection_id.as_deref());
        let (record, _created) = svc::import(&state.ctx, &auth.0, input).await?;
        Ok(CreatedConnection::Created(Json(full(&record, true))))
    }

    /// Get a connection
    ///
    /// Returns the connection with its credentials and records the read in
    /// `last_fetched_at`.
    #[oai(path = "/connections/:connectionId", method = "get", operation_id = "get_connection")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn get_connection(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Your id for the connection.
        #[oai(name = "connectionId")]
        connection_id: Path<String>,
        /// The integration's unique key.
        #[oai(name = "provider_config_key")]
        _provider_config_key: poem_openapi::param::Query<DocOnly<String>>,
        /// Accepted for compatibility (API keys are never refreshed).
        #[oai(name = "force_refresh")]
        _force_refresh: poem_openapi::param::Query<DocOnly<bool>>,
        /// Accepted for compatibility (API keys have no refresh token).
        #[oai(name = "refresh_token")]
        _refresh_token: poem_openapi::param::Query<DocOnly<bool>>,
    ) -> Result<Json<ConnectionResponse>, ApiError> {
        let key = connection_query(
            req.uri().query(),
            &["provider_config_key", "refresh_token", "force_refresh", "refresh_github_app_jwt_token"],
        )?;
        validate::path_param("connectionId", &connection_id, &CONNECTION_ID)?;
        let record = svc::get(&state.ctx, &auth.0, &key, &connection_id).await?;
        Ok(Json(full(&record, false)))
    }

    /// Update a connection
    ///
    /// Changes the end user, the tags or the webhook URL override of a connection.
    #[oai(path = "/connections/:connectionId", method = "patch", operation_id = "update_connection")]
    async fn update_connection(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Your id for the connection.
        #[oai(name = "connectionId")]
        connection_id: Path<String>,
        /// The integration's unique key.
        #[oai(name = "provider_config_key")]
        _provider_config_key: poem_openapi::param::Query<DocOnly<String>>,
        body: JsonBody<UpdateConnectionRequest>,
    ) -> Result<Json<SuccessResponse>, ApiError> {
        let key = connection_query(req.uri().query(), &["provider_config_key"])?;
        let patch = parse_patch(body.value())?;
        validate::path_param("connectionId", &connection_id, &CONNECTION_ID)?;
        svc::patch(&state.ctx, &auth.0, &key, &connection_id, patch).await?;
        Ok(Json(SuccessResponse { success: true }))
    }

    /// Delete a connection
    ///
    /// Deletes the connection and its credentials.
    #[oai(path = "/connections/:connectionId", method = "delete", operation_id = "delete_connection")]
    async fn delete_connection(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Your id for the connection.
        #[oai(name = "connectionId")]
        connection_id: Path<String>,
        /// The integration's unique key.
        #[oai(name = "provider_config_key")]
        _provider_config_key: poem_openapi::param::Query<DocOnly<String>>,
    ) -> Result<Json<SuccessResponse>, ApiError> {
        validate::path_param("connectionId", &connection_id, &CONNECTION_ID)?;
        let key = connection_query(req.uri().query(), &["provider_config_key"])?;
        svc::delete(&state.ctx, &auth.0, &key, &connection_id).await?;
        Ok(Json(SuccessResponse { success: true }))
    }

    /// Set connection metadata
    ///
    /// Replaces the metadata of one or several connections (all or nothing). Answers 201
    /// echoing the request.
    #[oai(path = "/connections/metadata", method = "post", operation_id = "create_metadata")]
    async fn set_metadata(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<MetadataRequest>,
    ) -> Result<CreatedMetadata, ApiError> {
        validate::empty_query(req.uri().query())?;
        let (ids, key, metadata) = parse_metadata(body.value())?;
        svc::set_metadata(&state.ctx, &auth.0, &key, &ids, metadata, MetadataMode::Replace).await?;
        Ok(CreatedMetadata::Created(Json(echo(body.into_value()))))
    }

    /// Update connection metadata
    ///
    /// Merges the given keys into the metadata of one or several connections (top level,
    /// all or nothing). Answers 200 echoing the request.
    #[oai(path = "/connections/metadata", method = "patch", operation_id = "update_metadata")]
    async fn update_metadata(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<MetadataRequest>,
    ) -> Result<Json<MetadataEcho>, ApiError> {
        validate::empty_query(req.uri().query())?;
        let (ids, key, metadata) = parse_metadata(body.value())?;
        svc::set_metadata(&state.ctx, &auth.0, &key, &ids, metadata, MetadataMode::Merge).await?;
        Ok(Json(echo(body.into_value())))
    }
}

/// The request body echoed back (Nango's metadata responses), documented as [`MetadataRequest`].
pub type MetadataEcho = super::types::RawJson<MetadataRequest>;

/// The request body, answered back as it came (moved, not copied).
fn echo(value: Option<Value>) -> MetadataEcho {
    super::types::RawJson::new(value.unwrap_or_default())
}

/// `201` with the imported connection.
#[derive(poem_openapi::ApiResponse)]
pub enum CreatedConnection {
    /// The connection, credentials included.
    #[oai(status = 201)]
    Created(Json<ConnectionResponse>),
}

/// `201` echoing the request.
#[derive(poem_openapi::ApiResponse)]
pub enum CreatedMetadata {
    /// The request body.
    #[oai(status = 201)]
    Created(Json<MetadataEcho>),
}
