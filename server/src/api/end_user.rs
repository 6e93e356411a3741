//! The end user a connection or a connect session belongs to, as sent and as shown: one
//! wire type each way, shared by `/connections` and `/connect/sessions`.

use std::collections::HashMap;

use poem_openapi::Object;
use serde_json::{Map, Value};

use crate::model::connection::EndUser;

/// The customer's end user a connection or session belongs to (as submitted).
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct EndUserRequest {
    /// Your id of the end user (1 to 255 characters).
    pub id: String,
    /// Email address.
    pub email: Option<String>,
    /// Display name (at most 255 characters).
    pub display_name: Option<String>,
    /// Free-form tags (at most 10).
    pub tags: Option<HashMap<String, String>>,
}

/// An organization as sent (connect sessions).
#[derive(Debug, Clone, Object)]
pub struct OrganizationRequest {
    /// Your id of the organization (at most 255 characters).
    pub id: String,
    /// Display name (at most 255 characters).
    #[oai(skip_serializing_if_is_none)]
    pub display_name: Option<String>,
}

/// The organization of an end user.
#[derive(Debug, Clone, Object)]
pub struct OrganizationResponse {
    /// Your id of the organization.
    pub id: String,
    /// Display name.
    #[oai(nullable)]
    pub display_name: Option<String>,
}

/// The end user of a connection.
#[derive(Debug, Clone, Object)]
pub struct EndUserResponse {
    /// Your id of the end user.
    pub id: String,
    /// Display name.
    #[oai(nullable)]
    pub display_name: Option<String>,
    /// Email address.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Tags as submitted.
    #[oai(nullable)]
    pub tags: Option<HashMap<String, Value>>,
    /// Organization.
    #[oai(nullable)]
    pub organization: Option<OrganizationResponse>,
}

impl From<&EndUser> for EndUserResponse {
    fn from(u: &EndUser) -> Self {
        Self {
            id: u.id.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            tags: u.tags.as_ref().map(to_hash_map),
            organization: u
                .organization
                .as_ref()
                .map(|o| OrganizationResponse { id: o.id.clone(), display_name: o.display_name.clone() }),
        }
    }
}

/// A JSON object as the map type poem-openapi documents.
pub fn to_hash_map(map: &Map<String, Value>) -> HashMap<String, Value> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
