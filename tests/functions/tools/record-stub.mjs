#!/usr/bin/env node
// A recording stand-in for a Nango server: prints every request the nango CLI makes
// (one JSON line each) and answers with Nango-shaped bodies, so `nango deploy` and
// `nango dryrun` run to the end against it.
//
//   node tests/functions/tools/record-stub.mjs PORT [--save DIR] [--full]
//
// --save DIR  also writes every request body, untouched, to DIR/<seq>-<METHOD>-<path>.json
// --full      print long strings (the bundles in a deploy body) in full on stdout;
//             by default strings over 200 characters are printed as "<N chars>".
//
// It listens on 127.0.0.1 only. The Authorization header is printed masked.
// Canned answers:
//   POST /sync/deploy/confirmation  -> empty new/updated/deleted lists
//   POST /sync/deploy               -> [{name, version, providerConfigKey, type, models, id, runs, last_deployed, input}]
//   GET  /connections?connectionId= -> {connections: [that connection, summarised]} (integration acme-fn)
//   GET  /connection/:id            -> a connection of provider private-api-bearer (API_KEY)
//   GET  /integrations/:key         -> {data: {unique_key, provider: 'private-api-bearer', ...}}
//   GET  /providers/:provider       -> {data: {name, display_name, auth_mode, proxy}}
//   GET  /environment-variables     -> []
//   *    /proxy/items               -> 25 items, 10 a page: {items, next} (cursor/limit in the query)
//   *    /proxy/items/:id           -> {id, name, n}
//   GET/POST/PATCH /connection/metadata -> {} / the connection's metadata
//   anything else                   -> 200 {}
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const args = process.argv.slice(2);
const port = Number(args[0]);
if (!Number.isInteger(port) || port <= 0) {
    console.error('usage: record-stub.mjs PORT [--save DIR] [--full]');
    process.exit(2);
}
const saveIdx = args.indexOf('--save');
const saveDir = saveIdx >= 0 ? args[saveIdx + 1] : null;
const full = args.includes('--full');
if (saveDir) {
    fs.mkdirSync(saveDir, { recursive: true });
}

const PROVIDER = 'private-api-bearer';
const INTEGRATION = 'acme-fn';
const ITEMS = Array.from({ length: 25 }, (_, i) => ({ id: String(i + 1), name: `item ${i + 1}`, n: i + 1 }));
let metadata = {};
let seq = 0;

function connection(connectionId, providerConfigKey) {
    const now = new Date().toISOString();
    return {
        id: 1,
        connection_id: connectionId,
        provider_config_key: providerConfigKey,
        provider: PROVIDER,
        errors: [],
        end_user: null,
        metadata,
        connection_config: {},
        created_at: now,
        updated_at: now,
        last_fetched_at: now,
        credentials: { type: 'API_KEY', apiKey: 'stub-api-key' }
    };
}

function elide(value) {
    if (full) {
        return value;
    }
    if (typeof value === 'string') {
        return value.length > 200 ? `<${value.length} chars>` : value;
    }
    if (Array.isArray(value)) {
        return value.map(elide);
    }
    if (value && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, elide(v)]));
    }
    return value;
}

function maskHeaders(headers) {
    const out = { ...headers };
    for (const key of Object.keys(out)) {
        if (key.toLowerCase() === 'authorization' && typeof out[key] === 'string') {
            const [scheme, token = ''] = out[key].split(' ');
            out[key] = `${scheme} ${token.slice(0, 4)}…(${token.length} chars)`;
        }
    }
    return out;
}

function answer(method, pathname, query, headers, body) {
    if (method === 'POST' && pathname === '/sync/deploy/confirmation') {
        return [
            200,
            {
                newSyncs: [],
                updatedSyncs: [],
                deletedSyncs: [],
                newActions: [],
                updatedActions: [],
                deletedActions: [],
                deletedModels: [],
                newOnEventScripts: [],
                updatedOnEventScripts: [],
                deletedOnEventScripts: []
            }
        ];
    }
    if (method === 'POST' && pathname === '/sync/deploy') {
        const now = new Date().toISOString();
        const flows = Array.isArray(body?.flowConfigs) ? body.flowConfigs : [];
        return [
            200,
            flows.map((flow, i) => ({
                name: flow.syncName,
                version: flow.version || '0.0.1',
                providerConfigKey: flow.providerConfigKey,
                type: flow.type,
                models: flow.models,
                id: i + 1,
                runs: flow.runs ?? null,
                last_deployed: now,
                input: flow.input ?? null
            }))
        ];
    }
    if (pathname === '/connection/metadata' || pathname === '/connections/metadata') {
        if (method === 'POST') {
            metadata = body?.metadata ?? {};
        } else if (method === 'PATCH') {
            metadata = { ...metadata, ...(body?.metadata ?? {}) };
        }
        return [200, method === 'GET' ? metadata : body ?? {}];
    }
    if (method === 'GET' && pathname === '/connections') {
        const id = query.get('connectionId') || 'conn-1';
        const c = connection(id, INTEGRATION);
        return [
            200,
            {
                connections: [
                    {
                        id: c.id,
                        connection_id: c.connection_id,
                        provider: c.provider,
                        provider_config_key: c.provider_config_key,
                        created: c.created_at,
                        metadata: c.metadata,
                        errors: [],
                        end_user: null
                    }
                ]
            }
        ];
    }
    let m = pathname.match(/^\/connections?\/([^/]+)$/);
    if (method === 'GET' && m) {
        const key = query.get('provider_config_key') || headers['provider-config-key'] || INTEGRATION;
        return [200, connection(decodeURIComponent(m[1]), key)];
    }
    m = pathname.match(/^\/integrations\/([^/]+)$/);
    if (method === 'GET' && m) {
        const now = new Date().toISOString();
        return [
            200,
            {
                data: {
                    unique_key: decodeURIComponent(m[1]),
                    display_name: 'Private API (Bearer Auth)',
                    provider: PROVIDER,
                    logo: `http://127.0.0.1:${port}/images/template-logos/${PROVIDER}.svg`,
                    forward_webhooks: true,
                    created_at: now,
                    updated_at: now
                }
            }
        ];
    }
    m = pathname.match(/^\/providers\/([^/]+)$/);
    if (method === 'GET' && m) {
        return [
            200,
            {
                data: {
                    name: decodeURIComponent(m[1]),
                    display_name: 'Private API (Bearer Auth)',
                    auth_mode: 'API_KEY',
                    proxy: { headers: { authorization: 'Bearer ${apiKey}' }, base_url: `http://127.0.0.1:${port}/upstream` }
                }
            }
        ];
    }
    if (method === 'GET' && pathname === '/environment-variables') {
        return [200, []];
    }
    if (pathname === '/proxy/items') {
        const limit = Number(query.get('limit') || 10);
        const start = Number(query.get('cursor') || 0);
        const page = ITEMS.slice(start, start + limit);
        const next = start + limit < ITEMS.length ? String(start + limit) : null;
        return [200, { items: page, next }];
    }
    m = pathname.match(/^\/proxy\/items\/([^/]+)$/);
    if (m) {
        const item = ITEMS.find((it) => it.id === decodeURIComponent(m[1]));
        return item ? [200, item] : [404, { error: 'not found' }];
    }
    return [200, {}];
}

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        const n = ++seq;
        const raw = Buffer.concat(chunks).toString('utf8');
        let body = null;
        if (raw.length > 0) {
            try {
                body = JSON.parse(raw);
            } catch {
                body = raw;
            }
        }
        const url = new URL(req.url, `http://127.0.0.1:${port}`);
        const [status, out] = answer(req.method, url.pathname, url.searchParams, req.headers, body);
        const record = {
            seq: n,
            method: req.method,
            path: url.pathname,
            query: Object.fromEntries(url.searchParams),
            headers: maskHeaders(req.headers),
            bodyBytes: Buffer.byteLength(raw),
            body: elide(body),
            status,
            answer: elide(out)
        };
        process.stdout.write(JSON.stringify(record) + '\n');
        if (saveDir && raw.length > 0) {
            const name = `${String(n).padStart(3, '0')}-${req.method}-${url.pathname.replace(/[^a-zA-Z0-9]+/g, '_')}.json`;
            fs.writeFileSync(path.join(saveDir, name), raw);
        }
        const payload = JSON.stringify(out);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
    });
});

server.listen(port, '127.0.0.1', () => {
    process.stderr.write(`record-stub listening on http://127.0.0.1:${port}\n`);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => server.close(() => process.exit(0)));
}
