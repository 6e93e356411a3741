//! Nango's "Private API (Generic)" Node snippet, in Rust:
//!
//! ```js
//! await nango.createIntegration({
//!   provider: 'private-api-generic',
//!   unique_key: 'acme-internal',
//!   display_name: 'Acme Internal API',
//!   integration_config: {
//!     baseUrl: 'https://api.acme.com',
//!     keyPlacement: 'header',
//!     keyName: 'Authorization',
//!     valueTemplate: 'Api-Key ${apiKey}',
//!     keyLabel: 'Acme API Key'
//!   }
//! });
//! ```
//!
//! Run it against a local server (`cargo run --release -p nango-server` in another terminal):
//!
//! ```sh
//! NANGO_SECRET_KEY=$(cat nango-data/secret-key-dev) cargo run -p nango-sdk --example private_api_generic
//! ```
//!
//! `NANGO_HOST` defaults to `http://localhost:3003`.

use nango_sdk::{KeyPlacement, Nango, PrivateApiGeneric, PrivateApiGenericPatch, types};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    #[allow(clippy::disallowed_methods)] // an example reads its settings from the environment
    let (host, secret_key) = (
        std::env::var("NANGO_HOST").unwrap_or_else(|_| "http://localhost:3003".to_owned()),
        std::env::var("NANGO_SECRET_KEY").map_err(|_| "set NANGO_SECRET_KEY to your environment's secret key")?,
    );
    let nango = Nango::new(&host, &secret_key)?;

    let created = nango
        .create_integration(types::CreateIntegrationRequest {
            provider: "private-api-generic".into(),
            unique_key: "acme-internal".into(),
            display_name: Some("Acme Internal API".into()),
            integration_config: PrivateApiGeneric::new("https://api.acme.com", "Authorization")
                .key_placement(KeyPlacement::Header)
                .value_template("Api-Key ${apiKey}")
                .key_label("Acme API Key")
                .into(),
            ..Default::default()
        })
        .await;
    match created {
        Ok(integration) => println!(
            "created {} ({}), key label: {}",
            integration.unique_key,
            integration.display_name,
            integration.credentials_label.map(|l| l.api_key).unwrap_or_default()
        ),
        // Running the example twice: the key exists already (Nango's error, matched by code).
        Err(e) if e.code() == Some("invalid_body") && e.issues().iter().any(|i| i.path == ["uniqueKey"]) => {
            println!("acme-internal exists already");
        }
        Err(e) => return Err(e.into()),
    }

    // Only the fields to change: the key label.
    let updated = nango
        .update_integration(
            "acme-internal",
            types::UpdateIntegrationRequest {
                integration_config: PrivateApiGenericPatch::default().key_label("Acme API Key").into(),
                ..Default::default()
            },
        )
        .await?;
    println!("updated {} at {}", updated.unique_key, updated.updated_at);

    let fetched = nango.get_integration("acme-internal", &[]).await?;
    assert_eq!(fetched.provider, "private-api-generic");
    println!("ok: {} is a {} integration", fetched.unique_key, fetched.provider);
    Ok(())
}
