//! Nango's deprecated singular `/connection` routes, which Nango still serves and its CLI
//! still calls (`nango dryrun` reads `GET /connection/{id}`): the same answers as the
//! `/connections` operations, plus the per-connection metadata routes.

use poem::{Request, web::Data};
use poem_openapi::{OpenApi, param::Path, payload::Json};
use serde_json::{Map, Value};

use super::{
    CreatedMetadata, MetadataEcho, echo,
    parse::{connection_query, list_filter, parse_metadata},
    wire::*,
};
use crate::{
    AppState,
    api::{
        ApiTags,
        extract::{DocOnly, JsonBody, SecretKey},
        rules::CONNECTION_ID,
        types::RawJson,
        validate::{self, UNIQUE_KEY, issue},
    },
    error::{ApiError, Code},
    model::connection::MetadataMode,
    service::connection as svc,
};

/// The integration of a legacy per-connection call: `provider_config_key` in the query, or
/// the `Provider-Config-Key` header.
fn integration_key(req: &Request) -> Result<String, ApiError> {
    let from_query = validate::query_pairs(req.uri().query())
        .into_iter()
        .rev()
        .find(|(k, _)| k == "provider_config_key")
        .map(|(_, v)| v);
    let key = from_query
        .or_else(|| req.headers().get("provider-config-key").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .unwrap_or_default();
    let issues = if key.is_empty() {
        vec![issue(
            "invalid_type",
            "Invalid input: expected string, received undefined",
            vec!["provider_config_key".to_owned()],
        )]
    } else {
        validate::check_str(&key, &UNIQUE_KEY, &["provider_config_key".to_owned()])
    };
    validate::done(key, issues, Code::InvalidQueryParams)
}

fn metadata_body(value: Option<&Value>) -> Result<&Map<String, Value>, ApiError> {
    match value {
        Some(Value::Object(m)) => Ok(m),
        other => Err(ApiError::issues(
            Code::InvalidBody,
            vec![issue(
                "invalid_type",
                format!("Invalid input: expected record, received {}", validate::js_type(other)),
                Vec::<String>::new(),
            )],
        )),
    }
}

/// Nango's deprecated `/connection` routes.
pub struct LegacyConnectionApi;

#[OpenApi(tag = "ApiTags::Connections")]
impl LegacyConnectionApi {
    /// List connections (deprecated route)
    ///
    /// `GET /connections` under Nango's deprecated singular path.
    #[oai(path = "/connection", method = "get", operation_id = "list_legacy_connections", deprecated)]
    async fn list_legacy_connections(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Exact connection id.
        #[oai(name = "connectionId")]
        _connection_id: poem_openapi::param::Query<DocOnly<String>>,
    ) -> Result<Json<ConnectionListResponse>, ApiError> {
        let filter = list_filter(req.uri().query())?;
        let rows = svc::list(&state.ctx, &auth.0, &filter).await?;
        Ok(Json(ConnectionListResponse { connections: rows.into_iter().map(list_item).collect() }))
    }

    /// Get a connection (deprecated route)
    ///
    /// `GET /connections/{connectionId}` under Nango's deprecated singular path (what
    /// `nango dryrun` calls).
    #[oai(path = "/connection/:connectionId", method = "get", operation_id = "get_legacy_connection", deprecated)]
    async fn get_legacy_connection(
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
    ) -> Result<Json<ConnectionResponse>, ApiError> {
        let key = connection_query(
            req.uri().query(),
            &["provider_config_key", "refresh_token", "force_refresh", "refresh_github_app_jwt_token"],
        )?;
        validate::path_param("connectionId", &connection_id, &CONNECTION_ID)?;
        let record = svc::get(&state.ctx, &auth.0, &key, &connection_id).await?;
        Ok(Json(full(&record, false)))
    }

    /// Delete a connection (deprecated route)
    ///
    /// `DELETE /connections/{connectionId}` under Nango's deprecated singular path.
    #[oai(path = "/connection/:connectionId", method = "delete", operation_id = "delete_legacy_connection", deprecated)]
    async fn delete_legacy_connection(
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

    /// Set one connection's metadata (deprecated route)
    ///
    /// Replaces the metadata of the connection with the request body (an object); the
    /// integration comes from `provider_config_key` or the `Provider-Config-Key` header.
    /// Answers 201 echoing the body.
    #[oai(
        path = "/connection/:connectionId/metadata",
        method = "post",
        operation_id = "create_legacy_connection_metadata",
        deprecated
    )]
    async fn create_legacy_connection_metadata(
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
        body: JsonBody<RawJson<std::collections::HashMap<String, Value>>>,
    ) -> Result<CreatedMetadata, ApiError> {
        let key = integration_key(req)?;
        let metadata = metadata_body(body.value())?;
        let ids = [connection_id.0];
        svc::set_metadata(&state.ctx, &auth.0, &key, &ids, metadata, MetadataMode::Replace).await?;
        Ok(CreatedMetadata::Created(Json(echo(body.into_value()))))
    }

    /// Update one connection's metadata (deprecated route)
    ///
    /// Merges the request body (an object) into the connection's metadata; the integration
    /// comes from `provider_config_key` or the `Provider-Config-Key` header. Answers 200
    /// echoing the body.
    #[oai(
        path = "/connection/:connectionId/metadata",
        method = "patch",
        operation_id = "update_legacy_connection_metadata",
        deprecated
    )]
    async fn update_legacy_connection_metadata(
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
        body: JsonBody<RawJson<std::collections::HashMap<String, Value>>>,
    ) -> Result<Json<MetadataEcho>, ApiError> {
        let key = integration_key(req)?;
        let metadata = metadata_body(body.value())?;
        let ids = [connection_id.0];
        svc::set_metadata(&state.ctx, &auth.0, &key, &ids, metadata, MetadataMode::Merge).await?;
        Ok(Json(echo(body.into_value())))
    }

    /// Set connection metadata (deprecated route)
    ///
    /// `POST /connections/metadata` under Nango's deprecated singular path.
    #[oai(path = "/connection/metadata", method = "post", operation_id = "create_legacy_metadata", deprecated)]
    async fn create_legacy_metadata(
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

    /// Update connection metadata (deprecated route)
    ///
    /// `PATCH /connections/metadata` under Nango's deprecated singular path.
    #[oai(path = "/connection/metadata", method = "patch", operation_id = "update_legacy_metadata", deprecated)]
    async fn update_legacy_metadata(
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
