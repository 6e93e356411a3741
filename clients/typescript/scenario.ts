// TypeScript client scenario: types generated from openapi/nango.json by openapi-typescript
// (generated/nango.d.ts), requests made with openapi-fetch. `tsc` type-checks this file against
// the generated types before it runs (clients/run.sh), so a request or response that does not
// match the document fails the build, not only the run.
//
// Environment: NANGO_HOST (base URL) and NANGO_SECRET_KEY. Prints one line per step and a
// closing `typescript: N passed, N failed`; exits non-zero at the first failing step. The
// functions steps deploy the body Nango's CLI sent for the fixture project
// (tests/functions/fixtures/deploy-body.json, integration `acme-fn`) and remove it again. The
// sync steps use that deploy: they trigger the `checked` and `broken` syncs, wait for their runs
// by polling the status (with a deadline), read the stored records, pause and start a sync, and
// set and reset its frequency for the connection.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/nango.js";

type Schemas = components["schemas"];

const host = process.env.NANGO_HOST;
const secret = process.env.NANGO_SECRET_KEY;
assert.ok(host && secret, "NANGO_HOST and NANGO_SECRET_KEY must be set");

const client = createClient<paths>({
    baseUrl: host,
    headers: { Authorization: `Bearer ${secret}` },
});

const suffix = randomUUID().replaceAll("-", "").slice(0, 8);
const key = `acme-${suffix}`;
const connectionId = `conn-${suffix}`;
const apiKey = `sk-${randomUUID().replaceAll("-", "")}`;

const integrationConfig: Schemas["CreateIntegrationRequest"]["integration_config"] = {
    baseUrl: "https://api.acme.com",
    keyPlacement: "header",
    keyName: "Authorization",
    valueTemplate: "Api-Key ${apiKey}",
    keyLabel: "Acme API Key",
};

/** The body of a successful response, after checking its status. */
function ok<T>(result: { data?: T; error?: unknown; response: Response }, status: number): T {
    assert.equal(
        result.response.status,
        status,
        `HTTP ${result.response.status} (expected ${status}): ${JSON.stringify(result.error)}`,
    );
    assert.ok(result.data !== undefined, "no body");
    return result.data;
}

let createdUpdatedAt = "";

// What `nango deploy` sent for the fixture project tests/functions/acme-fn (nango 0.71.10):
// 7 actions and 4 syncs of the integration `acme-fn`: `items` and `contacts` read the upstream
// (`contacts` starts by itself; its runs fail here, no upstream answers it), `checked` saves records
// without the network, `broken` saves one and fails. Read from dist/scenario.js, hence ../../../.
const deployBody = JSON.parse(
    readFileSync(new URL("../../../tests/functions/fixtures/deploy-body.json", import.meta.url), "utf8"),
) as Schemas["DeployRequest"];
const fnKey = "acme-fn";
const fnConnection = `fn-conn-${suffix}`;
const fnNames = new Set(deployBody.flowConfigs.map((f) => f.syncName));
const syncNames = new Set(deployBody.flowConfigs.filter((f) => f.type === "sync").map((f) => f.syncName));
assert.deepEqual(new Set(deployBody.flowConfigs.map((f) => f.providerConfigKey)), new Set([fnKey]));
assert.equal(fnNames.size, 11);
assert.deepEqual(syncNames, new Set(["items", "contacts", "checked", "broken"]));
const sorted = (names: Iterable<string>) => [...names].sort();

// ---- syncs of the deploy, for the connection fnConnection
type SyncStatus = Schemas["SyncStatusEntry"];
/** Longest wait for a sync run to finish (polled, not slept), in ms. */
const runDeadline = 30_000;

/** GET /sync/status of fnConnection, by sync name. */
async function syncStatus(syncs: string): Promise<Map<string, SyncStatus>> {
    const { syncs: entries } = ok(
        await client.GET("/sync/status", {
            params: { query: { syncs, provider_config_key: fnKey, connection_id: fnConnection } },
        }),
        200,
    );
    for (const e of entries) {
        assert.equal(e.connection_id, fnConnection);
        assert.equal(e.variant, "base");
    }
    return new Map(entries.map((e) => [e.name, e]));
}

/** One sync's status (it must be there). */
async function statusOf(name: string): Promise<SyncStatus> {
    const entry = (await syncStatus(name)).get(name);
    assert.ok(entry, `no status for ${name}`);
    return entry;
}

/** Polls `name` until a run finished other than the one that finished at `before` (undefined
 * before the first run); fails after runDeadline. */
async function runFinished(name: string, before: string | undefined): Promise<SyncStatus> {
    const deadline = Date.now() + runDeadline;
    for (;;) {
        const entry = await statusOf(name);
        if (entry.status !== "RUNNING" && entry.finishedAt !== undefined && entry.finishedAt !== before) {
            return entry;
        }
        assert.ok(
            Date.now() < deadline,
            `no run of ${name} finished within ${runDeadline} ms: ${JSON.stringify(entry)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

/** The error code of a failed response, after checking its status. */
function errorCode(result: { error?: Schemas["ErrorEnvelope"]; response: Response }, status: number): string {
    assert.equal(result.response.status, status, JSON.stringify(result.error));
    assert.ok(result.error, "no error body");
    return result.error.error.code;
}

let checkedFinishedAt: string | undefined;

const steps: [string, () => Promise<string>][] = [
    [
        "create integration",
        async () => {
            const body: Schemas["CreateIntegrationRequest"] = {
                provider: "private-api-generic",
                unique_key: key,
                display_name: "Acme Internal API",
                integration_config: integrationConfig,
            };
            const { data } = ok(await client.POST("/integrations", { body }), 200);
            assert.equal(data.unique_key, key);
            assert.equal(data.provider, "private-api-generic");
            assert.equal(data.display_name, "Acme Internal API");
            assert.equal(data.credentials_label?.apiKey, "Acme API Key");
            createdUpdatedAt = data.updated_at;
            return `${key} (label '${data.credentials_label?.apiKey}')`;
        },
    ],
    [
        "get integration",
        async () => {
            const { data } = ok(
                await client.GET("/integrations/{uniqueKey}", { params: { path: { uniqueKey: key } } }),
                200,
            );
            assert.equal(data.unique_key, key);
            assert.equal(data.forward_webhooks, true);
            return `${data.unique_key}: ${data.display_name}, created ${data.created_at}`;
        },
    ],
    [
        "list integrations",
        async () => {
            const { data } = ok(await client.GET("/integrations"), 200);
            const keys = data.map((integration) => integration.unique_key);
            assert.ok(keys.includes(key), `${key} not in ${keys}`);
            return `${keys.length} integration(s), ours included`;
        },
    ],
    [
        "update integration",
        async () => {
            const { data } = ok(
                await client.PATCH("/integrations/{uniqueKey}", {
                    params: { path: { uniqueKey: key } },
                    body: {
                        integration_config: {
                            keyName: "X-Api-Key",
                            valueTemplate: "${apiKey}",
                            keyLabel: "Acme Key (v2)",
                        },
                    },
                }),
                200,
            );
            assert.equal(data.credentials_label?.apiKey, "Acme Key (v2)");
            assert.ok(Date.parse(data.updated_at) >= Date.parse(createdUpdatedAt), "updated_at went back");
            return `keyName=X-Api-Key, label now '${data.credentials_label?.apiKey}'`;
        },
    ],
    [
        "import connection",
        async () => {
            const body: Schemas["ImportConnectionRequest"] = {
                provider_config_key: key,
                connection_id: connectionId,
                credentials: { type: "API_KEY", apiKey },
            };
            const conn = ok(await client.POST("/connections", { body }), 201);
            assert.equal(conn.connection_id, connectionId);
            assert.equal(conn.provider_config_key, key);
            assert.deepEqual(conn.credentials, { type: "API_KEY", apiKey });
            return `${connectionId} on ${key}`;
        },
    ],
    [
        "get connection",
        async () => {
            const conn = ok(
                await client.GET("/connections/{connectionId}", {
                    params: { path: { connectionId }, query: { provider_config_key: key } },
                }),
                200,
            );
            assert.equal(conn.connection_id, connectionId);
            assert.equal(conn.credentials.type, "API_KEY");
            assert.equal(conn.credentials.apiKey, apiKey);
            assert.equal(conn.end_user, null);
            assert.ok(conn.last_fetched_at, "last_fetched_at not recorded");
            return "API key round-trips";
        },
    ],
    [
        "list connections",
        async () => {
            const { connections } = ok(
                await client.GET("/connections", { params: { query: { integrationId: key } } }),
                200,
            );
            assert.deepEqual(
                connections.map((c) => [c.connection_id, c.provider_config_key, c.end_user]),
                [[connectionId, key, null]],
            );
            return `${connections.length} connection(s) for ${key}`;
        },
    ],
    [
        "set metadata",
        async () => {
            const metadata = { plan: "pro", seats: 3 };
            const echoed = ok(
                await client.POST("/connections/metadata", {
                    body: { connection_id: connectionId, provider_config_key: key, metadata },
                }),
                201,
            );
            assert.deepEqual(echoed.metadata, metadata);
            const { connections } = ok(
                await client.GET("/connections", { params: { query: { connectionId } } }),
                200,
            );
            assert.deepEqual(connections[0]?.metadata, metadata);
            return "metadata {plan: pro, seats: 3} stored";
        },
    ],
    [
        "create connect session",
        async () => {
            const { data } = ok(
                await client.POST("/connect/sessions", {
                    body: { end_user: { id: `user-${suffix}` }, allowed_integrations: [key] },
                }),
                201,
            );
            assert.match(data.token, /^nango_connect_session_[0-9a-f]{64}$/);
            assert.ok(data.connect_link.includes(data.token), data.connect_link);
            return `token ${data.token.slice(0, 30)}…, expires ${data.expires_at}`;
        },
    ],
    [
        "error envelope",
        async () => {
            const missing = `missing-${suffix}`;
            const { data, error, response } = await client.GET("/integrations/{uniqueKey}", {
                params: { path: { uniqueKey: missing } },
            });
            assert.equal(response.status, 404);
            assert.equal(data, undefined);
            // `error` is typed from the document's error responses: ErrorEnvelope.
            const envelope: Schemas["ErrorEnvelope"] | undefined = error;
            assert.equal(envelope?.error.code, "not_found");
            return `GET /integrations/${missing} → 404 ${envelope?.error.code}: ${envelope?.error.message}`;
        },
    ],
    [
        "delete connection",
        async () => {
            const done = ok(
                await client.DELETE("/connections/{connectionId}", {
                    params: { path: { connectionId }, query: { provider_config_key: key } },
                }),
                200,
            );
            assert.equal(done.success, true);
            const { error, response } = await client.GET("/connections/{connectionId}", {
                params: { path: { connectionId }, query: { provider_config_key: key } },
            });
            assert.equal(response.status, 404);
            assert.equal(error?.error.code, "not_found");
            return `${connectionId} deleted, then 404`;
        },
    ],
    [
        "delete integration",
        async () => {
            const done = ok(
                await client.DELETE("/integrations/{uniqueKey}", { params: { path: { uniqueKey: key } } }),
                200,
            );
            assert.equal(done.success, true);
            const { error, response } = await client.GET("/integrations/{uniqueKey}", {
                params: { path: { uniqueKey: key } },
            });
            assert.equal(response.status, 404);
            assert.equal(error?.error.code, "not_found");
            return `${key} deleted, then 404`;
        },
    ],
    [
        "functions: integration and connection",
        async () => {
            const { data } = ok(
                await client.POST("/integrations", {
                    body: {
                        provider: "private-api-generic",
                        unique_key: fnKey,
                        display_name: "Acme functions",
                        integration_config: { baseUrl: "https://api.example.com", keyName: "x-api-key" },
                    },
                }),
                200,
            );
            assert.equal(data.unique_key, fnKey);
            const conn = ok(
                await client.POST("/connections", {
                    body: {
                        provider_config_key: fnKey,
                        connection_id: fnConnection,
                        credentials: { type: "API_KEY", apiKey: `sk-${suffix}` },
                    },
                }),
                201,
            );
            assert.equal(conn.connection_id, fnConnection);
            return `integration ${fnKey} and connection ${fnConnection}`;
        },
    ],
    [
        "preview deploy",
        async () => {
            const diff = ok(await client.POST("/sync/deploy/confirmation", { body: deployBody }), 200);
            const newActions = diff.newActions.map((a) => a.name);
            assert.ok(newActions.includes("echo"), `echo not in ${newActions}`);
            assert.deepEqual(sorted(newActions), sorted([...fnNames].filter((n) => !syncNames.has(n))));
            assert.deepEqual(
                diff.newSyncs.map((s) => [s.name, s.providerConfigKey, s.connections]).sort(),
                sorted(syncNames).map((n) => [n, fnKey, 1]),
            );
            assert.deepEqual(
                [...diff.updatedActions, ...diff.deletedActions, ...diff.updatedSyncs, ...diff.deletedSyncs],
                [],
            );
            return `${newActions.length} new actions, ${diff.newSyncs.length} new syncs, nothing updated or deleted`;
        },
    ],
    [
        "deploy functions",
        async () => {
            const deployed = ok(await client.POST("/sync/deploy", { body: deployBody }), 200);
            assert.equal(deployed.length, 11);
            assert.deepEqual(sorted(deployed.map((f) => f.name)), sorted(fnNames));
            for (const f of deployed) {
                assert.equal(f.version, "1.0.0", f.name);
                assert.equal(f.providerConfigKey, fnKey, f.name);
            }
            assert.deepEqual(sorted(deployed.map((f) => f.type)), [
                ...Array(7).fill("action"),
                ...Array(4).fill("sync"),
            ]);
            return `${deployed.length} deployed, all version 1.0.0`;
        },
    ],
    [
        "get scripts config",
        async () => {
            const configs = ok(await client.GET("/scripts/config"), 200);
            const ours = configs.filter((c) => c.providerConfigKey === fnKey);
            assert.equal(ours.length, 1, JSON.stringify(configs));
            const config = ours[0]!;
            assert.equal(config.provider, "private-api-generic");
            assert.equal(config.actions.length, 7);
            assert.equal(config.syncs.length, 4);
            assert.equal(config["on-events"].length, 0);
            assert.deepEqual(Object.fromEntries(config.syncs.map((s) => [s.name, s.runs])), {
                items: "every day",
                contacts: "every hour",
                checked: "every day",
                broken: "every day",
            });
            return `${fnKey}: ${config.actions.length} actions, ${config.syncs.length} syncs`;
        },
    ],
    [
        "list integration functions",
        async () => {
            const listing = ok(
                await client.GET("/integrations/{uniqueKey}/functions", {
                    params: { path: { uniqueKey: fnKey } },
                }),
                200,
            );
            assert.equal(listing.pagination.total, 11);
            assert.deepEqual(sorted(listing.data.map((f) => f.name)), sorted(fnNames));
            const { total, page, limit } = listing.pagination;
            return `total ${total} (page ${page}, limit ${limit})`;
        },
    ],
    [
        "get integration function",
        async () => {
            const { data } = ok(
                await client.GET("/integrations/{uniqueKey}/functions/{name}", {
                    params: { path: { uniqueKey: fnKey, name: "echo" } },
                }),
                200,
            );
            assert.deepEqual(
                [data.name, data.type, data.version, data.enabled],
                ["echo", "action", "1.0.0", true],
            );
            assert.equal(data.input, "ActionInput_acme_fn_echo");
            return `echo: ${data.type} ${data.version}, input ${data.input}`;
        },
    ],
    [
        "get function code",
        async () => {
            const code = ok(
                await client.GET("/integrations/{uniqueKey}/functions/{name}/code", {
                    params: { path: { uniqueKey: fnKey, name: "echo" } },
                }),
                200,
            );
            assert.equal(code.type, "action");
            assert.ok(code.code.includes("createAction"), code.code.slice(0, 200));
            return `echo: ${code.code.length} characters of TypeScript with createAction`;
        },
    ],
    [
        "trigger action",
        async () => {
            const output = ok(
                await client.POST("/action/trigger", {
                    params: { header: { "Connection-Id": fnConnection, "Provider-Config-Key": fnKey } },
                    body: { action_name: "echo", input: { message: "hi", n: 2 } },
                }),
                200,
            );
            // The document cannot know an action's output: `unknown` until checked.
            assert.deepEqual(output, { message: "hi", n: 4, connectionId: fnConnection });
            return `echo {message: hi, n: 2} → ${JSON.stringify(output)}`;
        },
    ],
    [
        "trigger unknown action",
        async () => {
            const { data, error, response } = await client.POST("/action/trigger", {
                params: { header: { "Connection-Id": fnConnection, "Provider-Config-Key": fnKey } },
                body: { action_name: "no-such-action", input: {} },
            });
            assert.equal(response.status, 404);
            assert.equal(data, undefined);
            const envelope: Schemas["ErrorEnvelope"] | undefined = error;
            assert.equal(envelope?.error.code, "not_found");
            return `no-such-action → 404 ${envelope?.error.code}: ${envelope?.error.message}`;
        },
    ],
    [
        "get sync status",
        async () => {
            const entries = await syncStatus("*");
            assert.deepEqual(sorted(entries.keys()), sorted(syncNames));
            const checked = entries.get("checked")!;
            // autoStart: false: paused from the deploy on, never run.
            assert.deepEqual(
                [checked.status, checked.type, checked.nextScheduledSyncAt, checked.frequency],
                ["PAUSED", "INITIAL", null, "every day"],
            );
            assert.deepEqual(checked.recordCount, { Thing: 0 });
            assert.equal(checked.finishedAt, undefined);
            assert.equal(checked.latestResult, undefined);
            // autoStart: true: scheduled at once.
            const contacts = entries.get("contacts")!;
            assert.notEqual(contacts.status, "PAUSED");
            assert.equal(contacts.frequency, "every hour");
            assert.deepEqual(sorted((await syncStatus("checked,broken")).keys()), ["broken", "checked"]);
            return `${entries.size} syncs; checked PAUSED, INITIAL, every day, 0 Thing records`;
        },
    ],
    [
        "trigger sync",
        async () => {
            const done = ok(
                await client.POST("/sync/trigger", {
                    body: { syncs: ["checked", "broken"], provider_config_key: fnKey, connection_id: fnConnection },
                }),
                200,
            );
            assert.equal(done.success, true);
            const checked = await runFinished("checked", undefined);
            // The fixture saves {a, 1}, an invalid {b, "two"} (refused) and a duplicate of a (dropped).
            assert.deepEqual(checked.latestResult, { Thing: { added: 1, updated: 0, deleted: 0 } });
            assert.equal(checked.latestExecutionStatus, "SUCCESS");
            assert.equal(checked.status, "PAUSED", "a triggered run of a paused sync leaves it paused");
            assert.deepEqual(checked.recordCount, { Thing: 1 });
            const broken = await runFinished("broken", undefined);
            // Paused still (the schedule's state), its last run failed (STOPPED).
            assert.deepEqual([broken.status, broken.latestExecutionStatus], ["PAUSED", "STOPPED"]);
            assert.deepEqual(broken.recordCount, { Piece: 1 }, "the record saved before the failure stays");
            checkedFinishedAt = checked.finishedAt;
            return `checked: added 1 Thing, SUCCESS at ${checked.finishedAt}; broken: STOPPED`;
        },
    ],
    [
        "trigger unknown sync",
        async () => {
            const unknown = { syncs: ["no-such-sync"], provider_config_key: fnKey, connection_id: fnConnection };
            assert.equal(errorCode(await client.POST("/sync/trigger", { body: unknown }), 400), "no_syncs_found");
            // The integration from the header instead of the body.
            const byHeader = await client.POST("/sync/trigger", {
                params: { header: { "Provider-Config-Key": fnKey } },
                body: { syncs: ["no-such-sync"] },
            });
            assert.equal(errorCode(byHeader, 400), "no_syncs_found");
            assert.equal(errorCode(await client.POST("/sync/pause", { body: unknown }), 400), "no_syncs_found");
            return "trigger and pause of no-such-sync → 400 no_syncs_found";
        },
    ],
    [
        "list records",
        async () => {
            const headers = { "Connection-Id": fnConnection, "Provider-Config-Key": fnKey };
            const page = ok(
                await client.GET("/records", { params: { query: { model: "Thing" }, header: headers } }),
                200,
            );
            assert.ok(page.next_cursor == null, `next_cursor ${page.next_cursor}`);
            assert.equal(page.records.length, 1, JSON.stringify(page.records));
            // The document cannot know a model's records: `unknown` until checked.
            const { _nango_metadata: meta, ...record } = page.records[0] as {
                _nango_metadata: { last_action: string; deleted_at: string | null };
            };
            assert.deepEqual(record, { id: "a", n: 1 }, "the first of two copies is kept, the invalid one refused");
            assert.equal(meta.last_action, "ADDED");
            assert.equal(meta.deleted_at, null);
            const byId = ok(
                await client.GET("/records", {
                    params: {
                        query: { model: "Thing", ids: ["a", "b"], filter: "added,updated", limit: 10 },
                        header: headers,
                    },
                }),
                200,
            );
            assert.deepEqual(byId.records.map((r) => (r as { id: string }).id), ["a"]);
            const deleted = ok(
                await client.GET("/records", {
                    params: { query: { model: "Thing", filter: "deleted" }, header: headers },
                }),
                200,
            );
            assert.deepEqual(deleted.records, []);
            const unknownConnection = await client.GET("/records", {
                params: {
                    query: { model: "Thing" },
                    header: { "Connection-Id": `missing-${suffix}`, "Provider-Config-Key": fnKey },
                },
            });
            assert.equal(errorCode(unknownConnection, 400), "unknown_connection");
            // The document requires `model`; the server must still refuse a request without it.
            // @ts-expect-error -- the missing `query.model` is the point of this request
            const noModel = await client.GET("/records", { params: { header: headers } });
            assert.equal(errorCode(noModel, 400), "invalid_query_params");
            return `Thing: ${JSON.stringify(record)} (${meta.last_action}); unknown connection 400, no model 400`;
        },
    ],
    [
        "start and pause sync",
        async () => {
            const body = { syncs: ["checked"], provider_config_key: fnKey, connection_id: fnConnection };
            // Started first (it is paused since the deploy): it runs at once.
            assert.equal(ok(await client.POST("/sync/start", { body }), 200).success, true);
            const started = await runFinished("checked", checkedFinishedAt);
            assert.deepEqual([started.status, started.latestExecutionStatus], ["SUCCESS", "SUCCESS"]);
            assert.equal(started.type, "INCREMENTAL", "the second run has a lastSyncDate");
            assert.deepEqual(started.latestResult, { Thing: { added: 0, updated: 0, deleted: 0 } });
            assert.equal(typeof started.nextScheduledSyncAt, "string");
            assert.equal(ok(await client.POST("/sync/pause", { body }), 200).success, true);
            const paused = await statusOf("checked");
            assert.deepEqual([paused.status, paused.nextScheduledSyncAt], ["PAUSED", null]);
            assert.equal(paused.finishedAt, started.finishedAt, "pausing does not run it");
            return `started: ran at once (INCREMENTAL, no change), next ${started.nextScheduledSyncAt}; paused`;
        },
    ],
    [
        "update sync frequency",
        async () => {
            const put = (frequency: string | null, syncName = "checked") =>
                client.PUT("/sync/update-connection-frequency", {
                    body: {
                        sync_name: syncName,
                        provider_config_key: fnKey,
                        connection_id: fnConnection,
                        frequency,
                    },
                });
            assert.equal(ok(await put("every 2 hours"), 200).frequency, "every 2 hours");
            assert.equal((await statusOf("checked")).frequency, "every 2 hours");
            // null: back to the sync's own.
            assert.equal(ok(await put(null), 200).frequency, "every day");
            assert.equal((await statusOf("checked")).frequency, "every day");
            assert.equal(errorCode(await put("every 10s"), 400), "invalid_body");
            assert.equal(errorCode(await put(null, "no-such-sync"), 400), "unknown_sync");
            return (
                "every 2 hours, then null → every day; " +
                "every 10s → 400 invalid_body, unknown sync → 400 unknown_sync"
            );
        },
    ],
    [
        "delete integration function",
        async () => {
            const gone = ok(
                await client.DELETE("/integrations/{uniqueKey}/functions/{name}", {
                    params: { path: { uniqueKey: fnKey, name: "fail" }, query: { type: "action" } },
                }),
                200,
            );
            assert.equal(gone.data.success, true);
            const { error, response } = await client.GET("/integrations/{uniqueKey}/functions/{name}", {
                params: { path: { uniqueKey: fnKey, name: "fail" } },
            });
            assert.equal(response.status, 404);
            assert.equal(error?.error.code, "not_found");
            const listing = ok(
                await client.GET("/integrations/{uniqueKey}/functions", {
                    params: { path: { uniqueKey: fnKey } },
                }),
                200,
            );
            assert.equal(listing.pagination.total, 10);
            assert.ok(!listing.data.some((f) => f.name === "fail"));
            return "fail (action) deleted, then 404; 10 left";
        },
    ],
    [
        "cli telemetry",
        async () => {
            // The CLI sends this without a key: a client without the Authorization header.
            const anonymous = createClient<paths>({ baseUrl: host });
            const { response } = await anonymous.POST("/cli/telemetry", {
                body: { deviceId: `device-${suffix}`, event: "deploy" },
            });
            assert.equal(response.status, 204);
            return "204 without a key";
        },
    ],
    [
        "delete functions integration",
        async () => {
            const done = ok(
                await client.DELETE("/integrations/{uniqueKey}", { params: { path: { uniqueKey: fnKey } } }),
                200,
            );
            assert.equal(done.success, true);
            const { error, response } = await client.GET("/integrations/{uniqueKey}/functions", {
                params: { path: { uniqueKey: fnKey } },
            });
            assert.equal(response.status, 404);
            assert.equal(error?.error.code, "not_found");
            return `${fnKey} deleted; its functions are gone (404)`;
        },
    ],
];

let passed = 0;
for (const [index, [name, run]] of steps.entries()) {
    const number = String(index + 1).padStart(2);
    try {
        const detail = await run();
        passed += 1;
        console.log(`ok   ${number} ${name}: ${detail}`);
    } catch (e) {
        console.log(`FAIL ${number} ${name}`);
        console.error(e);
        console.log(`typescript: ${passed} passed, 1 failed`);
        process.exit(1);
    }
}
console.log(`typescript: ${passed} passed, 0 failed`);
