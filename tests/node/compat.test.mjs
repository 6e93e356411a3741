// Compatibility test: drives a running server with the official @nangohq/node client.
//
//   NANGO_HOST=http://127.0.0.1:3003 NANGO_SECRET_KEY=<uuid> node --test tests/node/compat.test.mjs
//
// The steps run in order and share state (one integration, 'acme-internal').
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { Nango } from '@nangohq/node';

const host = process.env.NANGO_HOST;
const secretKey = process.env.NANGO_SECRET_KEY;
const missing = [!host && 'NANGO_HOST', !secretKey && 'NANGO_SECRET_KEY'].filter(Boolean);
if (missing.length > 0) {
    throw new Error(
        `${missing.join(' and ')} must be set: NANGO_HOST is the base URL of a running server ` +
            '(e.g. http://127.0.0.1:3003), NANGO_SECRET_KEY one of its secret keys.'
    );
}

// 0.71.10 accepts `secretKey` (deprecated alias) or `apiKey`; both become `Authorization: Bearer <key>`.
const nango = new Nango({ host, secretKey });

const KEY = 'acme-internal';
// Per-run suffix, so the "unknown key" really is unknown even on a long-lived server.
const UNKNOWN_KEY = `acme-missing-${Date.now()}`;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
// Connection reads use Nango's offset form.
const ISO_TZ = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+\d{2}:\d{2}$/;
const CONNECTION = 'customer-1';
const upstream = process.env.NANGO_UPSTREAM;
const CUSTOMER_KEY = 'acme-customer-key-0123456789';

// Must never be echoed back: integration_config is write-only.
const SECRET_CONFIG = ['https://api.acme.com', 'api.acme.com', 'Api-Key ${apiKey}', '${apiKey}', '"Authorization"'];
const CONFIG_KEYS = ['integration_config', 'baseUrl', 'keyPlacement', 'keyName', 'valueTemplate', 'keyLabel'];

function assertNoConfigLeak(value) {
    const json = JSON.stringify(value);
    for (const needle of SECRET_CONFIG) {
        assert.ok(!json.includes(needle), `response leaks integration_config value ${needle}: ${json}`);
    }
    for (const key of CONFIG_KEYS) {
        assert.ok(!json.includes(`"${key}"`), `response leaks integration_config key ${key}: ${json}`);
    }
}

function assertIsoTimestamp(value, name) {
    assert.equal(typeof value, 'string', `${name} should be a string`);
    assert.match(value, ISO_UTC, `${name} should be an ISO-8601 UTC timestamp`);
    assert.ok(!Number.isNaN(Date.parse(value)), `${name} should parse as a date`);
}

function assertAcme(data, displayName, apiKeyLabel) {
    assert.equal(data.unique_key, KEY);
    assert.equal(data.provider, 'private-api-generic');
    assert.equal(data.display_name, displayName);
    assert.equal(data.credentials_label?.apiKey, apiKeyLabel);
    assert.equal(data.forward_webhooks, true);
    assert.equal(typeof data.logo, 'string');
    assert.ok(data.logo.endsWith('/images/template-logos/private-api-generic.svg'), `unexpected logo ${data.logo}`);
    assertIsoTimestamp(data.created_at, 'created_at');
    assertIsoTimestamp(data.updated_at, 'updated_at');
    assertNoConfigLeak(data);
}

// The client rejects with the AxiosError; check its HTTP status and Nango error code.
async function assertHttpError(promise, status, code) {
    let error;
    await assert.rejects(promise, (err) => {
        error = err;
        assert.ok(err.response, `expected an HTTP error response, got ${err}`);
        assert.equal(err.response.status, status, `body: ${JSON.stringify(err.response.data)}`);
        assert.equal(err.response.data?.error?.code, code, `body: ${JSON.stringify(err.response.data)}`);
        return true;
    });
    return error.response.data;
}

describe('@nangohq/node 0.71.10 against this server', () => {
    let created;

    before(async () => {
        // Make re-runs against the same server start from a clean slate.
        try {
            await nango.deleteIntegration(KEY);
        } catch (err) {
            if (err.response?.status !== 404) {
                throw err;
            }
        }
    });

    test('1. createIntegration with the Private API (Generic) docs snippet', async () => {
        const result = await nango.createIntegration({
            provider: 'private-api-generic',
            unique_key: 'acme-internal',
            display_name: 'Acme Internal API',
            integration_config: {
                baseUrl: 'https://api.acme.com',
                keyPlacement: 'header',
                keyName: 'Authorization',
                valueTemplate: 'Api-Key ${apiKey}',
                keyLabel: 'Acme API Key'
            }
        });

        assertNoConfigLeak(result);
        assertAcme(result.data, 'Acme Internal API', 'Acme API Key');
        created = result.data;
    });

    test('2. getIntegration, plain and with include', async () => {
        const plain = await nango.getIntegration({ uniqueKey: KEY });
        assertAcme(plain.data, 'Acme Internal API', 'Acme API Key');
        assert.equal(plain.data.created_at, created.created_at);
        assert.ok(!('webhook_url' in plain.data), 'webhook_url only comes with include=webhook');
        assert.ok(!('credentials' in plain.data), 'credentials only come with include=credentials');

        // The client sends one `include=` per call: it uses searchParams.set, so only the
        // last element of the array survives. Hence one call per include value.
        const withWebhook = await nango.getIntegration({ uniqueKey: KEY }, { include: ['webhook'] });
        assertAcme(withWebhook.data, 'Acme Internal API', 'Acme API Key');
        assert.ok('webhook_url' in withWebhook.data, 'include=webhook should add webhook_url');
        assert.equal(withWebhook.data.webhook_url, null);

        const withCredentials = await nango.getIntegration({ uniqueKey: KEY }, { include: ['credentials'] });
        assertAcme(withCredentials.data, 'Acme Internal API', 'Acme API Key');
        assert.ok('credentials' in withCredentials.data, 'include=credentials should add credentials');
        assert.equal(withCredentials.data.credentials, null);
    });

    test('3. updateIntegration renames and relabels', async () => {
        const result = await nango.updateIntegration(
            { uniqueKey: KEY },
            {
                display_name: 'Acme Internal API v2',
                integration_config: { keyPlacement: 'query', keyName: 'api_key', keyLabel: 'Acme Key v2' }
            }
        );

        assertAcme(result.data, 'Acme Internal API v2', 'Acme Key v2');
        assert.equal(result.data.created_at, created.created_at);
        assert.ok(Date.parse(result.data.updated_at) >= Date.parse(result.data.created_at), 'updated_at >= created_at');

        const fetched = await nango.getIntegration({ uniqueKey: KEY });
        assertAcme(fetched.data, 'Acme Internal API v2', 'Acme Key v2');
    });

    test('4. listIntegrations (re-shaped by the client into { configs })', async () => {
        const result = await nango.listIntegrations();
        assert.ok(Array.isArray(result.configs), `expected { configs: [...] }, got ${JSON.stringify(result)}`);
        const acme = result.configs.find((integration) => integration.unique_key === KEY);
        assert.ok(acme, `${KEY} missing from ${JSON.stringify(result.configs)}`);
        assert.equal(acme.provider, 'private-api-generic');
        assert.equal(acme.display_name, 'Acme Internal API v2');
        assertNoConfigLeak(result);
    });

    test('5. errors: duplicate unique_key, unknown integration', async () => {
        const duplicate = await assertHttpError(
            nango.createIntegration({
                provider: 'private-api-generic',
                unique_key: KEY,
                display_name: 'Duplicate',
                integration_config: { baseUrl: 'https://api.acme.com', keyLabel: 'Acme API Key' }
            }),
            400,
            'invalid_body'
        );
        assert.ok(
            duplicate.error.errors?.some((e) => JSON.stringify(e.path) === JSON.stringify(['uniqueKey'])),
            `expected an error on path ["uniqueKey"]: ${JSON.stringify(duplicate)}`
        );

        const unknown = await assertHttpError(nango.getIntegration({ uniqueKey: UNKNOWN_KEY }), 404, 'not_found');
        assert.equal(unknown.error.message, `Integration "${UNKNOWN_KEY}" does not exist`);
    });

    test('6. listProviders and getProvider', async () => {
        const list = await nango.listProviders({ search: 'private-api' });
        assert.ok(Array.isArray(list.data), `expected { data: [...] }, got ${JSON.stringify(list)}`);
        const generic = list.data.find((provider) => provider.name === 'private-api-generic');
        assert.ok(generic, `private-api-generic missing from ${list.data.map((p) => p.name).join(', ')}`);
        assert.equal(generic.auth_mode, 'API_KEY');

        const one = await nango.getProvider({ provider: 'private-api-generic' });
        assert.equal(one.data.name, 'private-api-generic');
        assert.equal(one.data.auth_mode, 'API_KEY');
    });

    test('7. import a connection over raw HTTP (the client has no import method)', async () => {
        const response = await fetch(`${host}/connections`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${secretKey}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({
                provider_config_key: KEY,
                connection_id: CONNECTION,
                credentials: { type: 'API_KEY', apiKey: CUSTOMER_KEY },
                end_user: { id: 'user-1', email: 'jane@example.com', display_name: 'Jane' }
            })
        });
        const body = await response.json();
        assert.equal(response.status, 201, JSON.stringify(body));
        assert.deepEqual(body.credentials, { type: 'API_KEY', apiKey: CUSTOMER_KEY });
        assert.equal(body.connection_id, CONNECTION);
        assertIsoTimestamp(body.created_at, 'created_at');
    });

    test('8. getConnection returns the key intact', async () => {
        const connection = await nango.getConnection(KEY, CONNECTION);
        assert.equal(connection.connection_id, CONNECTION);
        assert.equal(connection.provider_config_key, KEY);
        assert.equal(connection.provider, 'private-api-generic');
        assert.deepEqual(connection.credentials, { type: 'API_KEY', apiKey: CUSTOMER_KEY });
        assert.equal(connection.end_user?.email, 'jane@example.com');
        assert.match(connection.created_at, ISO_TZ);
        assert.match(connection.last_fetched_at, ISO_TZ);
        assert.deepEqual(connection.errors, []);
        await assertHttpError(nango.getConnection(KEY, 'no-such-connection'), 404, 'not_found');
    });

    test('9. listConnections, all and filtered', async () => {
        const all = await nango.listConnections();
        assert.ok(Array.isArray(all.connections), `expected { connections: [...] }, got ${JSON.stringify(all)}`);
        const mine = all.connections.find((c) => c.connection_id === CONNECTION);
        assert.ok(mine, JSON.stringify(all));
        assert.ok(!('credentials' in mine), 'lists carry no credentials');
        assert.match(mine.created, ISO_TZ);
        const filtered = await nango.listConnections({ connectionId: CONNECTION, integrationId: KEY });
        assert.deepEqual(filtered.connections.map((c) => c.connection_id), [CONNECTION]);
        const byUser = await nango.listConnections({ userId: 'user-1' });
        assert.deepEqual(byUser.connections.map((c) => c.connection_id), [CONNECTION]);
    });

    test('10. setMetadata replaces, updateMetadata merges', async () => {
        const set = await nango.setMetadata(KEY, CONNECTION, { plan: 'gold', seats: 3 });
        assert.equal(set.status, 201);
        assert.deepEqual(await nango.getMetadata(KEY, CONNECTION), { plan: 'gold', seats: 3 });
        const updated = await nango.updateMetadata(KEY, [CONNECTION], { seats: 4 });
        assert.equal(updated.status, 200);
        assert.deepEqual(await nango.getMetadata(KEY, CONNECTION), { plan: 'gold', seats: 4 });
        await assertHttpError(nango.setMetadata(KEY, 'no-such-connection', { a: 1 }), 404, 'unknown_connection');
    });

    test('10b. proxy, get, post, put, patch and delete reach the upstream with the key injected', async () => {
        assert.ok(upstream, 'NANGO_UPSTREAM (base URL of an echo upstream) must be set for the proxy steps');
        const common = { providerConfigKey: KEY, connectionId: CONNECTION, baseUrlOverride: upstream };
        // After step 3 the key goes in the query: ?api_key=<valueTemplate with the key>.
        const expectedKey = new URLSearchParams({ api_key: `Api-Key ${CUSTOMER_KEY}` }).toString();

        const proxied = await nango.proxy({ ...common, method: 'GET', endpoint: '/v1/items?a=1', headers: { 'X-Custom': 'yes' } });
        assert.equal(proxied.status, 200);
        assert.equal(proxied.data.method, 'GET');
        assert.equal(proxied.data.path, `/v1/items?a=1&${expectedKey}`);
        assert.equal(proxied.data.headers['x-custom'], 'yes');
        assert.ok(!JSON.stringify(proxied.data.headers).includes(secretKey), 'the secret key never reaches the upstream');

        const got = await nango.get({ ...common, endpoint: '/things' });
        assert.equal(got.data.method, 'GET');
        for (const verb of ['post', 'put', 'patch']) {
            const response = await nango[verb]({ ...common, endpoint: `/things/${verb}`, data: { n: 7584781588001541n.toString(), verb } });
            assert.equal(response.status, 200);
            assert.equal(response.data.method, verb.toUpperCase());
            assert.deepEqual(JSON.parse(response.data.body), { n: '7584781588001541', verb });
        }
        const deleted = await nango.delete({ ...common, endpoint: '/things/1' });
        assert.equal(deleted.data.method, 'DELETE');

        const status = await nango.get({ ...common, endpoint: '/status/201' }).then((r) => r.status);
        assert.equal(status, 201, 'the upstream status reaches the caller');
        await assertHttpError(nango.get({ ...common, endpoint: '/status/404' }), 404, undefined);
    });

    test('10b. createConnectSession and createReconnectSession', async () => {
        const session = await nango.createConnectSession({
            end_user: { id: 'user-2', email: 'joe@example.com' },
            allowed_integrations: [KEY]
        });
        assert.match(session.data.token, /^nango_connect_session_[0-9a-f]{64}$/);
        assert.equal(session.data.connect_link, `${host.replace(/\/$/, '')}/connect-ui/?session_token=${session.data.token}`);
        assert.match(session.data.expires_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        // The session token lists the allowed integrations through the same client.
        const asSession = new Nango({ host, secretKey: session.data.token });
        const listed = await asSession.listIntegrations();
        assert.deepEqual(listed.configs.map((c) => c.unique_key), [KEY]);
        const again = await nango.createReconnectSession({ connection_id: CONNECTION, integration_id: KEY });
        assert.match(again.data.token, /^nango_connect_session_/);
        await assertHttpError(nango.createReconnectSession({ connection_id: 'nope', integration_id: KEY }), 400, 'invalid_body');
    });

    test('11. deleteConnection, then it is gone', async () => {
        const response = await nango.deleteConnection(KEY, CONNECTION);
        assert.equal(response.status, 200);
        assert.equal(response.data?.success, true);
        await assertHttpError(nango.getConnection(KEY, CONNECTION), 404, 'not_found');
        await assertHttpError(nango.deleteConnection(KEY, CONNECTION), 400, 'unknown_connection');
    });

    test('12. deleteIntegration, then it is gone', async () => {
        // This method returns the whole AxiosResponse, not its body.
        const response = await nango.deleteIntegration(KEY);
        assert.equal(response.status, 200);
        assert.equal(response.data?.success, true, `body: ${JSON.stringify(response.data)}`);

        await assertHttpError(nango.getIntegration({ uniqueKey: KEY }), 404, 'not_found');
    });
});
