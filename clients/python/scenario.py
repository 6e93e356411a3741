"""Python client scenario: drives a running server through the client that
openapi-python-client generates from openapi/nango.json (clients/run.sh generates it into
clients/python/generated/ and puts that directory on PYTHONPATH).

Environment: NANGO_HOST (base URL) and NANGO_SECRET_KEY; CLIENTS_STRICT=1 fails the run when a
workaround was needed. Prints one line per step and a closing `python: N passed, N failed`;
exits non-zero at the first failing step.

Where the generator cannot produce an operation or model from today's document, or a generated
model cannot parse what the server sends, the step says `WORKAROUND` and uses the generated
client's own httpx client (same base URL and auth) or reads the body as JSON instead.
Each workaround names the document problem behind it (docs/generating-clients.md, "Known
problems"); the typed branch is taken by itself once the document is fixed and regenerated.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import uuid
from http import HTTPStatus

from nango_client import AuthenticatedClient
from nango_client.api.connect import create_connect_session
from nango_client.api.connections import create_metadata, delete_connection, get_connection, list_connections
from nango_client.api.integrations import delete_integration, get_integration, list_integrations
from nango_client.models import (
    ConnectionListResponse,
    ConnectSessionCreatedEnvelope,
    CreateConnectSessionRequest,
    DeleteIntegrationResponse,
    ErrorEnvelope,
    IntegrationEnvelope,
    IntegrationListEnvelope,
    MetadataRequest,
    MetadataRequestMetadata,
    SuccessResponse,
)
from nango_client.types import Response

# Operations and models that openapi-python-client 0.29.1 drops from today's document (problem
# P1: an enum behind `allOf: [{$ref}, {description}]`). None means "not generated".
try:
    from nango_client.api.integrations import create_integration, update_integration
except ImportError:
    create_integration = update_integration = None
try:
    from nango_client.api.connections import create_connection
except ImportError:
    create_connection = None
try:
    from nango_client.models import (
        ConnectionCredentials,
        ConnectionCredentialsType,
        ConnectionResponse,
        CreateIntegrationRequest,
        CreateIntegrationRequestIntegrationConfig,
        ImportConnectionRequest,
        UpdateIntegrationRequest,
        UpdateIntegrationRequestIntegrationConfig,
    )
except ImportError:
    ConnectionResponse = None

INTEGRATION_CONFIG = {
    "baseUrl": "https://api.acme.com",
    "keyPlacement": "header",
    "keyName": "Authorization",
    "valueTemplate": "Api-Key ${apiKey}",
    "keyLabel": "Acme API Key",
}

workarounds: list[str] = []


def workaround(problem: str, what: str) -> None:
    workarounds.append(problem)
    print(f"     WORKAROUND ({problem}): {what}")


def expect(resp: Response, status: int, model: type):
    """The typed body of a response, after checking its status and model."""
    assert resp.status_code == status, f"HTTP {int(resp.status_code)} (expected {status}): {resp.content!r}"
    assert isinstance(resp.parsed, model), f"parsed as {type(resp.parsed).__name__}, expected {model.__name__}"
    return resp.parsed


def main() -> int:
    host = os.environ["NANGO_HOST"]
    secret = os.environ["NANGO_SECRET_KEY"]
    # The last HTTP response, kept for the WORKAROUND branches: when a generated model cannot
    # parse a body the server sent (problem P3), the step reads that body as JSON instead.
    last: dict = {}

    def remember(response):
        response.read()
        last["response"] = response

    client = AuthenticatedClient(
        base_url=host,
        token=secret,
        raise_on_unexpected_status=False,
        httpx_args={"event_hooks": {"response": [remember]}},
    )
    # The generated client's own httpx client: base URL and `Authorization: Bearer` already set.
    # Used only by the WORKAROUND branches.
    raw = client.get_httpx_client()

    def parse_or_json(call, *args, **kwargs):
        """(typed response, None), or (None, JSON body) when the generated model fails to parse it."""
        try:
            return call(*args, client=client, **kwargs), None
        except (TypeError, KeyError, ValueError, AttributeError) as e:
            r = last["response"]
            workaround(
                "P3",
                f"the generated model failed on the HTTP {r.status_code} body ({type(e).__name__}: {e}); read as JSON",
            )
            return None, r.json()

    suffix = uuid.uuid4().hex[:8]
    key = f"acme-{suffix}"
    connection_id = f"conn-{suffix}"
    api_key = f"sk-{uuid.uuid4().hex}"
    state: dict = {}

    def create_integration_step():
        if create_integration is not None:
            body = CreateIntegrationRequest(
                provider="private-api-generic",
                unique_key=key,
                display_name="Acme Internal API",
                integration_config=CreateIntegrationRequestIntegrationConfig.from_dict(INTEGRATION_CONFIG),
            )
            resp = create_integration.sync_detailed(client=client, body=body)
        else:
            workaround("P1", "POST /integrations not generated; sent with the client's httpx client")
            r = raw.post(
                "/integrations",
                json={
                    "provider": "private-api-generic",
                    "unique_key": key,
                    "display_name": "Acme Internal API",
                    "integration_config": INTEGRATION_CONFIG,
                },
            )
            resp = Response(
                status_code=HTTPStatus(r.status_code),
                content=r.content,
                headers=r.headers,
                parsed=IntegrationEnvelope.from_dict(r.json()) if r.status_code == 200 else None,
            )
        data = expect(resp, 200, IntegrationEnvelope).data
        assert data.unique_key == key and data.provider == "private-api-generic", data
        assert data.display_name == "Acme Internal API", data.display_name
        assert data.credentials_label.api_key == "Acme API Key", data.credentials_label
        state["updated_at"] = data.updated_at
        return f"{key} (label {data.credentials_label.api_key!r})"

    def get_integration_step():
        data = expect(get_integration.sync_detailed(key, client=client), 200, IntegrationEnvelope).data
        assert data.unique_key == key and data.forward_webhooks is True, data
        return f"{data.unique_key}: {data.display_name}, created {data.created_at.isoformat()}"

    def list_integrations_step():
        envelope = expect(list_integrations.sync_detailed(client=client), 200, IntegrationListEnvelope)
        keys = [i.unique_key for i in envelope.data]
        assert key in keys, keys
        return f"{len(keys)} integration(s), ours included"

    def update_integration_step():
        changes = {"keyName": "X-Api-Key", "valueTemplate": "${apiKey}", "keyLabel": "Acme Key (v2)"}
        if update_integration is not None:
            body = UpdateIntegrationRequest(
                integration_config=UpdateIntegrationRequestIntegrationConfig.from_dict(changes)
            )
            resp = update_integration.sync_detailed(key, client=client, body=body)
        else:
            workaround("P1", "PATCH /integrations/{uniqueKey} not generated; sent with the client's httpx client")
            r = raw.patch(f"/integrations/{key}", json={"integration_config": changes})
            resp = Response(
                status_code=HTTPStatus(r.status_code),
                content=r.content,
                headers=r.headers,
                parsed=IntegrationEnvelope.from_dict(r.json()) if r.status_code == 200 else None,
            )
        data = expect(resp, 200, IntegrationEnvelope).data
        assert data.credentials_label.api_key == "Acme Key (v2)", data.credentials_label
        assert data.updated_at >= state["updated_at"], (data.updated_at, state["updated_at"])
        return f"keyName=X-Api-Key, label now {data.credentials_label.api_key!r}"

    def import_connection_step():
        if create_connection is not None:
            body = ImportConnectionRequest(
                provider_config_key=key,
                connection_id=connection_id,
                credentials=ConnectionCredentials(type_=ConnectionCredentialsType.API_KEY, api_key=api_key),
            )
            resp, body_json = parse_or_json(create_connection.sync_detailed, body=body)
            if resp is not None:
                conn = expect(resp, 201, ConnectionResponse)
                got = (conn.connection_id, conn.provider_config_key, conn.credentials.type_, conn.credentials.api_key)
            else:
                assert last["response"].status_code == 201, last["response"].content
                c = body_json
                got = (
                    c["connection_id"],
                    c["provider_config_key"],
                    c["credentials"]["type"],
                    c["credentials"]["apiKey"],
                )
        else:
            workaround("P1", "POST /connections not generated; sent with the client's httpx client")
            r = raw.post(
                "/connections",
                json={
                    "provider_config_key": key,
                    "connection_id": connection_id,
                    "credentials": {"type": "API_KEY", "apiKey": api_key},
                },
            )
            assert r.status_code == 201, f"HTTP {r.status_code}: {r.content!r}"
            conn = r.json()
            got = (
                conn["connection_id"],
                conn["provider_config_key"],
                conn["credentials"]["type"],
                conn["credentials"]["apiKey"],
            )
        assert got == (connection_id, key, "API_KEY", api_key), got
        return f"{connection_id} on {key}"

    def get_connection_step():
        resp, conn = parse_or_json(get_connection.sync_detailed, connection_id, provider_config_key=key)
        if resp is not None and ConnectionResponse is not None:
            typed = expect(resp, 200, ConnectionResponse)
            got = (typed.connection_id, typed.credentials.type_, typed.credentials.api_key, typed.end_user)
            fetched = typed.last_fetched_at
        else:
            if resp is not None:
                assert resp.status_code == 200, f"HTTP {int(resp.status_code)}: {resp.content!r}"
                workaround("P1", "ConnectionResponse not generated, the 200 body is left unparsed; read as JSON")
                assert resp.parsed is None, resp.parsed
                conn = json.loads(resp.content)
            got = (conn["connection_id"], conn["credentials"]["type"], conn["credentials"]["apiKey"], conn["end_user"])
            fetched = conn["last_fetched_at"]
        assert got == (connection_id, "API_KEY", api_key, None), got
        assert fetched is not None, "last_fetched_at not recorded"
        return "API key round-trips"

    def list_connections_step():
        resp, body_json = parse_or_json(list_connections.sync_detailed, integration_id=key)
        if resp is not None:
            listing = expect(resp, 200, ConnectionListResponse)
            ids = [(c.connection_id, c.provider_config_key, c.end_user) for c in listing.connections]
        else:
            ids = [(c["connection_id"], c["provider_config_key"], c["end_user"]) for c in body_json["connections"]]
        assert ids == [(connection_id, key, None)], ids
        return f"{len(ids)} connection(s) for {key}"

    def set_metadata_step():
        body = MetadataRequest(
            connection_id=connection_id,
            provider_config_key=key,
            metadata=MetadataRequestMetadata.from_dict({"plan": "pro", "seats": 3}),
        )
        echoed = expect(create_metadata.sync_detailed(client=client, body=body), 201, MetadataRequest)
        assert echoed.metadata.to_dict() == {"plan": "pro", "seats": 3}, echoed.metadata
        resp, body_json = parse_or_json(list_connections.sync_detailed, connection_id=connection_id)
        if resp is not None:
            stored = expect(resp, 200, ConnectionListResponse).connections[0].metadata
            stored = None if stored is None else stored.to_dict()
        else:
            stored = body_json["connections"][0]["metadata"]
        assert stored == {"plan": "pro", "seats": 3}, stored
        return "metadata {plan: pro, seats: 3} stored"

    def connect_session_step():
        # The end user model's class name comes from the document's inline schema
        # (CreateConnectSessionRequestEndUser today, EndUserInput once P2 is fixed): build it
        # through from_dict of the request model rather than naming it.
        body = CreateConnectSessionRequest.from_dict(
            {"end_user": {"id": f"user-{suffix}"}, "allowed_integrations": [key]}
        )
        created = expect(
            create_connect_session.sync_detailed(client=client, body=body), 201, ConnectSessionCreatedEnvelope
        ).data
        assert created.token.startswith("nango_connect_session_"), created.token
        assert created.token in created.connect_link, created.connect_link
        return f"token {created.token[:30]}…, expires {created.expires_at.isoformat()}"

    def error_step():
        missing = f"missing-{suffix}"
        err = expect(get_integration.sync_detailed(missing, client=client), 404, ErrorEnvelope)
        assert err.error.code == "not_found", err.error.code
        return f"GET /integrations/{missing} → 404 {err.error.code}: {err.error.message}"

    def delete_connection_step():
        ok = expect(
            delete_connection.sync_detailed(connection_id, client=client, provider_config_key=key), 200, SuccessResponse
        )
        assert ok.success is True
        gone = expect(
            get_connection.sync_detailed(connection_id, client=client, provider_config_key=key), 404, ErrorEnvelope
        )
        assert gone.error.code == "not_found", gone.error.code
        return f"{connection_id} deleted, then 404"

    def delete_integration_step():
        ok = expect(delete_integration.sync_detailed(key, client=client), 200, DeleteIntegrationResponse)
        assert ok.success is True
        gone = expect(get_integration.sync_detailed(key, client=client), 404, ErrorEnvelope)
        assert gone.error.code == "not_found", gone.error.code
        return f"{key} deleted, then 404"

    steps = [
        ("create integration", create_integration_step),
        ("get integration", get_integration_step),
        ("list integrations", list_integrations_step),
        ("update integration", update_integration_step),
        ("import connection", import_connection_step),
        ("get connection", get_connection_step),
        ("list connections", list_connections_step),
        ("set metadata", set_metadata_step),
        ("create connect session", connect_session_step),
        ("error envelope", error_step),
        ("delete connection", delete_connection_step),
        ("delete integration", delete_integration_step),
    ]
    passed = 0
    with client:
        for number, (name, run) in enumerate(steps, 1):
            try:
                detail = run()
            except Exception:
                print(f"FAIL {number:2} {name}")
                traceback.print_exc()
                print(f"python: {passed} passed, 1 failed")
                return 1
            passed += 1
            print(f"ok   {number:2} {name}: {detail}")
    if workarounds:
        print(f"python: {len(workarounds)} workaround(s) for document problems {sorted(set(workarounds))}")
        if os.environ.get("CLIENTS_STRICT", "1") == "1":
            print(f"python: {passed} passed, 1 failed (CLIENTS_STRICT=1 allows no workaround)")
            return 1
    print(f"python: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
