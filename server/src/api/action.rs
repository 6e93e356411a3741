//! `/action/trigger`: run a deployed action for one connection and answer its output.

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use serde_json::Value;

use super::{
    ApiTags,
    extract::{JsonBody, SecretKey},
    rules::CONNECTION_ID,
    validate::{self, Obj, UNIQUE_KEY, issue},
};
use crate::{
    AppState,
    error::{ApiError, Code, ErrorBody, ErrorEnvelope, ValidationIssue},
    model::function::RunOutcome,
    runtime::Failure,
    service::action::{self as svc, ActionError, Trigger},
};

/// `POST /action/trigger` body.
#[derive(Debug, Clone, Object)]
pub struct TriggerActionRequest {
    /// The action's name.
    pub action_name: String,
    /// The action's input (checked against its input schema before it runs).
    pub input: Option<Value>,
}

/// Where an asynchronous run's outcome will be.
#[derive(Debug, Clone, Object)]
pub struct AsyncActionResponse {
    /// The run's id.
    pub id: String,
    /// `GET` it for the outcome: `/action/<id>`.
    #[oai(rename = "statusUrl")]
    pub status_url: String,
}

/// Answers of `POST /action/trigger` besides the shared errors.
#[derive(ApiResponse)]
pub enum ActionAnswer {
    /// The action's output, exactly as it returned it.
    #[oai(status = 200)]
    Output(Json<Value>),
    /// Queued (`X-Async: true`): `{id, statusUrl}` (an [`AsyncActionResponse`]); the outcome
    /// will be at `Location`. (Documented as any JSON so that both success answers share one
    /// type in generated clients.)
    #[oai(status = 202)]
    Accepted(Json<Value>, #[oai(header = "Location")] String),
    /// An HTTP call the action made answered with an error (`script_http_error`, with the
    /// upstream's status, content-type and rate-limit headers, and body).
    #[oai(status = 424)]
    FailedDependency(Json<ErrorEnvelope>),
}

/// Answers of `GET /action/{id}` besides the shared errors.
#[derive(ApiResponse)]
pub enum ActionResult {
    /// The action's output, exactly as it returned it.
    #[oai(status = 200)]
    Output(Json<Value>),
    /// An HTTP call the action made answered with an error (`script_http_error`).
    #[oai(status = 424)]
    FailedDependency(Json<ErrorEnvelope>),
}

/// Nango's action control headers: `Connection-Id`, `Provider-Config-Key`, `X-Async`,
/// `X-Max-Retries`.
fn headers(req: &Request) -> Result<(String, String, bool, u8), ApiError> {
    let get = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap_or_default().to_owned());
    let mut issues = Vec::new();
    let mut required = |name: &str, rule| match get(name) {
        None => {
            issues.push(issue(
                "invalid_type",
                "Invalid input: expected string, received undefined",
                vec![name.to_owned()],
            ));
            String::new()
        }
        Some(v) => {
            issues.extend(validate::check_str(&v, rule, &[name.to_owned()]));
            v
        }
    };
    let key = required("provider-config-key", &UNIQUE_KEY);
    let connection = required("connection-id", &CONNECTION_ID);
    let is_async = match get("x-async").map(|v| v.to_ascii_lowercase()) {
        None => false,
        Some(v) if matches!(v.as_str(), "true" | "1" | "yes" | "on" | "y" | "enabled") => true,
        Some(v) if matches!(v.as_str(), "false" | "0" | "no" | "off" | "n" | "disabled") => false,
        Some(_) => {
            issues.push(issue(
                "invalid_format",
                "Invalid string: must be a boolean-like string",
                vec!["x-async".to_owned()],
            ));
            false
        }
    };
    let retries = match get("x-max-retries") {
        None => 0,
        Some(v) => match v.trim().parse::<f64>() {
            Ok(n) if (0.0..=5.0).contains(&n) && n.fract() == 0.0 => n as u8,
            Ok(n) if n > 5.0 => {
                issues.push(issue("too_big", "Too big: expected number to be <=5", vec!["x-max-retries".to_owned()]));
                0
            }
            _ => {
                issues.push(issue(
                    "too_small",
                    "Too small: expected number to be >=0",
                    vec!["x-max-retries".to_owned()],
                ));
                0
            }
        },
    };
    validate::done((key, connection, is_async, retries), issues, Code::InvalidHeaders)
}

/// zod issues (`{code, path: (string|number)[], message, …}`) in the envelope's shape.
fn zod_issues(issues: &Value) -> Vec<ValidationIssue> {
    issues
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| ValidationIssue {
            code: i.get("code").and_then(Value::as_str).unwrap_or("custom").to_owned(),
            message: i.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
            path: i
                .get("path")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                .collect(),
        })
        .collect()
}

/// A failed run in Nango's envelope and status.
pub(crate) fn failure(f: Failure) -> Result<ActionAnswer, ApiError> {
    let issues_error = |code: Code, issues: &Value| ApiError::issues(code, zod_issues(issues));
    Err(match f {
        Failure::Input { issues } => issues_error(Code::InvalidActionInput, &issues),
        Failure::Output { issues } => issues_error(Code::InvalidActionOutput, &issues),
        Failure::Action { payload } => ApiError::with_payload(Code::ActionScriptRuntimeError, None, payload),
        Failure::Http { status, headers, body } => {
            let _ = ApiError::code(Code::ScriptHttpError); // notes the code for the call record
            return Ok(ActionAnswer::FailedDependency(Json(ErrorEnvelope {
                error: ErrorBody {
                    code: Code::ScriptHttpError.row().0.to_owned(),
                    message: None,
                    errors: None,
                    payload: Some(body.clone()),
                    method: None,
                    path: None,
                    upstream: Some(serde_json::json!({"status": status, "headers": headers, "body": body})),
                },
            })));
        }
        Failure::Network { payload } => ApiError::with_payload(Code::ScriptNetworkError, None, payload),
        Failure::Internal { payload } => ApiError::with_payload(Code::ScriptInternalError, None, payload),
        Failure::Load { message } => ApiError::with_payload(
            Code::ScriptInternalError,
            None,
            serde_json::json!({"name": "Error", "message": message}),
        ),
        Failure::OutputTooLarge { bytes, limit } => ApiError::with_payload(
            Code::ScriptOutputTooLarge,
            None,
            serde_json::json!({"bytes": bytes, "limit": limit}),
        ),
        Failure::Timeout { limit } => {
            let error = format!("the action ran longer than its limit of {} s", limit.as_secs_f64());
            ApiError::with_payload(
                Code::ActionScriptFailure,
                Some(format!("The action script failed with an error: {error}")),
                serde_json::json!({"error": error}),
            )
        }
        Failure::OutOfMemory { limit } => {
            let error = format!("the action used more than its memory limit of {} MiB", limit >> 20);
            ApiError::with_payload(
                Code::ActionScriptFailure,
                Some(format!("The action script failed with an error: {error}")),
                serde_json::json!({"error": error}),
            )
        }
        Failure::Engine { message } => {
            tracing::error!(error = %message, "the functions runtime failed");
            ApiError::message(Code::ServerError, "Failed to run action")
        }
    })
}

/// Runs deployed actions.
pub struct ActionApi;

#[OpenApi(tag = "ApiTags::Actions")]
impl ActionApi {
    /// Trigger an action
    ///
    /// Runs the deployed action `action_name` for the connection named by `Connection-Id`
    /// and `Provider-Config-Key` and answers its output as the body. The input is checked
    /// against the action's input schema first (400 `invalid_action_input`), the output
    /// against its output schema. Failures keep Nango's codes: `action_script_runtime_error`
    /// (an `ActionError`, its payload), `script_http_error` (424, the upstream's answer),
    /// `script_internal_error`, `action_script_failure` (time or memory limit).
    #[oai(path = "/action/trigger", method = "post", operation_id = "trigger_action")]
    #[allow(clippy::too_many_arguments)] // one argument per documented header
    async fn trigger_action(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<TriggerActionRequest>,
        /// The connection the action runs for.
        #[oai(name = "Connection-Id")]
        _connection_id: poem_openapi::param::Header<super::extract::DocRequired<String>>,
        /// The integration's unique key.
        #[oai(name = "Provider-Config-Key")]
        _provider_config_key: poem_openapi::param::Header<super::extract::DocRequired<String>>,
        /// `true` to queue the run and answer 202 at once.
        #[oai(name = "X-Async")]
        _is_async: poem_openapi::param::Header<Option<String>>,
        /// Retries of a failed asynchronous run, 0 to 5.
        #[oai(name = "X-Max-Retries")]
        _max_retries: poem_openapi::param::Header<Option<String>>,
    ) -> Result<ActionAnswer, ApiError> {
        let (key, connection, is_async, retries) = headers(req)?;
        validate::empty_query(req.uri().query())?;
        let mut o = Obj::new(body.value(), vec![]);
        let action_name = o.string("action_name", &super::function::FUNCTION_NAME, true);
        let input = o.raw("input").cloned().unwrap_or(Value::Null);
        let action_name = validate::done(action_name, o.finish_lenient(), Code::InvalidBody)?.unwrap_or_default();
        crate::request_id::set_subject(Some(&key), Some(&connection));
        let trigger = Trigger { provider_config_key: key, connection_id: connection, action_name, input };
        if is_async {
            let id = svc::enqueue(&state.ctx, &auth.0, trigger, u32::from(retries)).await?;
            let status_url = format!("/action/{id}");
            let body = AsyncActionResponse { id, status_url: status_url.clone() };
            let body = poem_openapi::types::ToJSON::to_json(&body).unwrap_or_default();
            return Ok(ActionAnswer::Accepted(Json(body), status_url));
        }
        let ran = svc::run(&state.ctx, &auth.0, trigger, crate::request_id::current()).await;
        if let Some(function) = ran.function {
            crate::request_id::set_function(function);
        }
        match ran.result {
            Ok(output) => Ok(ActionAnswer::Output(Json(output))),
            Err(ActionError::Refused(e)) => Err(e.into()),
            Err(ActionError::Failed(f)) => failure(f),
        }
    }

    /// Get an asynchronous action's result
    ///
    /// The output of a run queued with `X-Async: true`, as the action returned it; the run's
    /// error (same codes as `POST /action/trigger`) when it failed; 404 `not_found` while it
    /// is queued or running, and for an unknown id.
    #[oai(path = "/action/:id", method = "get", operation_id = "get_action_result")]
    async fn get_action_result(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// The run's id (a UUID).
        id: poem_openapi::param::Path<String>,
    ) -> Result<ActionResult, ApiError> {
        validate::empty_query(req.uri().query())?;
        if uuid::Uuid::parse_str(&id).is_err() {
            return Err(ApiError::issues(
                Code::InvalidUriParams,
                vec![issue("invalid_format", "Invalid UUID", vec!["id".to_owned()])],
            ));
        }
        match svc::outcome(&state.ctx, &auth.0, &id).await? {
            None => Err(ApiError::message(Code::NotFound, format!("No action '{}' found", id.0))),
            Some(RunOutcome::Output { output }) => Ok(ActionResult::Output(Json(output))),
            Some(RunOutcome::Failed { failure: f }) => match failure(f)? {
                ActionAnswer::FailedDependency(envelope) => Ok(ActionResult::FailedDependency(envelope)),
                ActionAnswer::Output(output) | ActionAnswer::Accepted(output, _) => Ok(ActionResult::Output(output)),
            },
        }
    }
}
