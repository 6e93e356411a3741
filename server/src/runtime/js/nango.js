// The `nango` object of a run, Nango's `ActionError`, pagination (cursor, link, offset, as
// Nango's runner SDK does it), and `__nango_run`, the one entry the server calls. Evaluated
// once per context after prelude.js; the last step locks code generation from strings.
'use strict';
(function () {
    const g = globalThis;
    const { hostCall, hostLog, format } = g.__nango_internal;
    delete g.__nango_internal;

    const call = async (op, args) => JSON.parse(await hostCall(op, JSON.stringify(args ?? null)));

    /** Nango's ActionError: its payload becomes the answer's `payload`. */
    class ActionError extends Error {
        constructor(payload) {
            super(payload && typeof payload === 'object' && typeof payload.message === 'string' ? payload.message : 'ActionError');
            this.name = 'ActionError';
            this.type = 'action_script_runtime_error';
            if (payload !== undefined) this.payload = payload;
        }
    }

    // lodash-style `get`/`set` on dotted paths (`a.b[0].c`).
    const pathParts = (path) => String(path).replace(/\[(\w+)\]/g, '.$1').split('.').filter((p) => p !== '');
    const getPath = (obj, path) => pathParts(path).reduce((o, k) => (o == null ? undefined : o[k]), obj);
    const setPath = (obj, path, value) => {
        const parts = pathParts(path);
        let o = obj;
        parts.forEach((k, i) => {
            if (i === parts.length - 1) o[k] = value;
            else {
                if (o[k] === null || typeof o[k] !== 'object') o[k] = /^\d+$/.test(parts[i + 1]) ? [] : {};
                o = o[k];
            }
        });
        return obj;
    };

    // A `Link` header's URL for relation `rel` (RFC 8288).
    const linkFor = (header, rel) => {
        if (!header) return undefined;
        for (const part of String(header).split(/,(?=\s*<)/)) {
            const m = /<([^>]*)>(.*)/.exec(part.trim());
            if (!m) continue;
            const rels = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(m[2]);
            if (rels && rels[1].split(/\s+/).includes(rel)) return m[1];
        }
        return undefined;
    };

    function checkPagination(p) {
        if (!p.type) throw new Error('Pagination type is required');
        switch (String(p.type).toLowerCase()) {
            case 'cursor':
                if (!p.cursor_name_in_request) throw new Error('Param cursor_name_in_request is required for cursor pagination');
                if (!p.cursor_path_in_response) throw new Error('Param cursor_path_in_response is required for cursor pagination');
                if (p.limit && !p.limit_name_in_request)
                    throw new Error('Param limit_name_in_request is required for cursor pagination when limit is set');
                return;
            case 'link':
                if (!p.link_rel_in_response_header && !p.link_path_in_response_body)
                    throw new Error('Either param link_rel_in_response_header or link_path_in_response_body is required for link pagination');
                return;
            case 'offset':
                if (!p.offset_name_in_request) throw new Error('Param offset_name_in_request is required for offset pagination');
                return;
            default:
                throw new Error(`Pagination type ${p.type} is not supported. Only cursor, link and offset pagination types are supported.`);
        }
    }

    /** An upstream answer outside 2xx, shaped like the axios error Nango's SDK throws. */
    function httpError(response, config) {
        const err = new Error(`Request failed with status code ${response.status}`);
        err.name = 'AxiosError';
        err.isAxiosError = true;
        err.code = response.status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST';
        err.status = response.status;
        err.config = config;
        err.response = { ...response, config };
        return err;
    }

    class Nango {
        #meta;
        constructor(meta) {
            this.#meta = meta;
            this.connectionId = meta.connectionId;
            this.providerConfigKey = meta.providerConfigKey;
            this.provider = meta.provider;
            this.activityLogId = meta.runId;
            this.ActionError = ActionError;
            if (new.target === Nango) Object.freeze(this);
        }

        async proxy(config = {}) {
            let response;
            try {
                response = await call('proxy', config);
            } catch (e) {
                const message = String(e && e.message);
                if (!message.startsWith('network:')) throw e;
                const err = new Error(message.slice('network:'.length));
                err.name = 'AxiosError';
                err.isAxiosError = true;
                err.code = 'ERR_NETWORK';
                err.config = config;
                throw err;
            }
            if (response.status < 200 || response.status >= 300) throw httpError(response, config);
            return response;
        }
        get(config = {}) { return this.proxy({ ...config, method: 'GET' }); }
        post(config = {}) { return this.proxy({ ...config, method: 'POST' }); }
        put(config = {}) { return this.proxy({ ...config, method: 'PUT' }); }
        patch(config = {}) { return this.proxy({ ...config, method: 'PATCH' }); }
        delete(config = {}) { return this.proxy({ ...config, method: 'DELETE' }); }

        async *paginate(config = {}) {
            const template = this.#meta.paginate;
            if (!template && (!config.paginate || !config.paginate.type))
                throw new Error('There was no pagination configuration for this integration or configuration passed in.');
            const p = { ...(template || {}), ...(config.paginate || {}) };
            checkPagination(p);
            const request = { ...config };
            delete request.paginate;
            request.method = request.method || 'GET';
            const inBody = ['post', 'put', 'patch'].includes(request.method.toLowerCase());
            const values = { ...((inBody ? request.data : request.params) ?? {}) };
            if (p.limit) values[p.limit_name_in_request] = p.limit;
            const apply = () => {
                if (inBody) {
                    const body = {};
                    for (const [k, v] of Object.entries(values)) setPath(body, k, v);
                    request.data = body;
                } else request.params = { ...values };
            };
            const pageOf = (response) => (p.response_path ? getPath(response.data, p.response_path) : response.data);
            const type = String(p.type).toLowerCase();
            if (type === 'cursor') {
                let cursor;
                do {
                    if (cursor !== undefined) values[p.cursor_name_in_request] = cursor;
                    apply();
                    const response = await this.proxy(request);
                    const page = pageOf(response);
                    if (!page || !page.length) return;
                    yield page;
                    cursor = getPath(response.data, p.cursor_path_in_response);
                    if (typeof cursor === 'string') cursor = cursor.trim() || undefined;
                    else if (typeof cursor !== 'number') cursor = undefined;
                    if (p.on_page) await p.on_page({ nextPageParam: cursor, response });
                } while (cursor !== undefined);
            } else if (type === 'link') {
                apply();
                let previous;
                for (;;) {
                    const response = await this.proxy(request);
                    yield pageOf(response);
                    const next = p.link_rel_in_response_header
                        ? linkFor(response.headers?.link, p.link_rel_in_response_header)
                        : getPath(response.data, p.link_path_in_response_body);
                    if (p.on_page) await p.on_page({ nextPageParam: next, response });
                    if (!next || next === previous) return;
                    previous = next;
                    if (URL.canParse(next)) {
                        const url = new URL(next);
                        request.baseUrlOverride = url.origin;
                        request.endpoint = url.pathname + url.search;
                    } else request.endpoint = next;
                    delete request.params;
                }
            } else {
                const byPage = p.offset_calculation_method === 'per-page';
                let offset = p.offset_start_value || 0;
                for (;;) {
                    values[p.offset_name_in_request] = inBody ? offset : String(offset);
                    apply();
                    const response = await this.proxy(request);
                    const page = pageOf(response);
                    if (!page || !page.length) return;
                    yield page;
                    if (p.limit && page.length < Number(p.limit)) return;
                    if (p.on_page) await p.on_page({ nextPageParam: offset, response });
                    offset += byPage ? 1 : page.length;
                }
            }
        }

        getConnection(providerConfigKey, connectionId) {
            return call('getConnection', { providerConfigKey, connectionId });
        }
        async getMetadata() {
            return (await this.getConnection()).metadata ?? {};
        }
        setMetadata(metadata) { return call('setMetadata', { metadata }); }
        updateMetadata(metadata) { return call('updateMetadata', { metadata }); }
        getIntegration(config) { return call('getIntegration', config ?? {}); }
        getToken() { return call('getToken', {}); }
        async log(...args) {
            let level = 'info';
            const last = args[args.length - 1];
            if (args.length > 1 && last && typeof last === 'object' && 'level' in last) {
                level = String(last.level);
                args.pop();
            }
            hostLog(level, format(args));
        }
        zodValidateInput({ zodSchema, input }) {
            const parsed = zodSchema.safeParse(input);
            if (!parsed.success) throw new ActionError({ message: 'Invalid action input', issues: parsed.error.issues });
            return parsed;
        }
    }

    // Nango's runner strips `_nango_metadata` from records a function saves again.
    const withoutMetadata = (records) =>
        records.map((r) => {
            if (r && typeof r === 'object' && '_nango_metadata' in r) {
                const { _nango_metadata, ...rest } = r;
                return rest;
            }
            return r;
        });
    const recordsArg = (records, name) => {
        if (!Array.isArray(records)) throw new TypeError(`${name} expects an array of records`);
        return withoutMetadata(records);
    };

    /** The `nango` object of a sync: everything actions have, plus records and checkpoints. */
    class NangoSync extends Nango {
        #meta;
        constructor(meta) {
            super(meta);
            this.#meta = meta;
            Object.freeze(this);
        }
        get lastSyncDate() {
            return this.#meta.lastSyncDate ? new Date(this.#meta.lastSyncDate) : undefined;
        }
        get variant() {
            return 'base';
        }
        modelFullName(model) {
            return model;
        }
        async batchSave(results, model) {
            if (!results || results.length === 0) return true;
            await call('batchSave', { model, records: recordsArg(results, 'batchSave') });
            return true;
        }
        batchSend(results, model) {
            return this.batchSave(results, model);
        }
        async batchUpdate(results, model) {
            if (!results || results.length === 0) return true;
            await call('batchUpdate', { model, records: recordsArg(results, 'batchUpdate') });
            return true;
        }
        async batchDelete(results, model) {
            if (!results || results.length === 0) return true;
            await call('batchDelete', { model, records: recordsArg(results, 'batchDelete') });
            return true;
        }
        async getRecordsByIds(ids, model) {
            const out = new Map();
            if (!ids || ids.length === 0) return out;
            const byString = new Map(ids.map((id) => [String(id), id]));
            const keys = Array.from(byString.keys());
            for (let i = 0; i < keys.length; i += 100) {
                const page = await call('getRecords', { model, ids: keys.slice(i, i + 100) });
                for (const record of page.records) {
                    const id = byString.get(String(record.id));
                    if (id !== undefined) out.set(id, record);
                }
            }
            return out;
        }
        async *listRecords(model, options) {
            let cursor = options && options.cursor;
            do {
                const page = await call('getRecords', { model, cursor: cursor || null });
                for (const record of page.records) yield record;
                cursor = page.next_cursor;
            } while (cursor);
        }
        async deleteRecordsFromPreviousExecutions(model) {
            return call('deleteRecordsFromPreviousExecutions', { model });
        }
        async trackDeletesStart(model) {
            await call('trackDeletesStart', { model });
        }
        async trackDeletesEnd(model) {
            return call('trackDeletesEnd', { model });
        }
        async getCheckpoint() {
            return call('getCheckpoint', {});
        }
        async saveCheckpoint(checkpoint) {
            await call('saveCheckpoint', { checkpoint });
        }
        async clearCheckpoint() {
            await call('clearCheckpoint', {});
        }
        async setMergingStrategy(merging) {
            if (!merging || merging.strategy !== 'override')
                throw new Error(`Unsupported merging strategy on this server: ${merging && merging.strategy}`);
        }
    }

    const plain = (v) => (v === undefined ? null : v);
    const issuesOf = (error) => (error && Array.isArray(error.issues) ? error.issues : []);
    const describe = (err) => {
        if (err instanceof ActionError) {
            const p = err.payload;
            return { kind: 'action', payload: Array.isArray(p) || (typeof p !== 'object' && p !== undefined && p !== null) ? { message: p } : p || {} };
        }
        if (err && err.isAxiosError && err.response) {
            const r = err.response;
            const data = r.data;
            const body = data && typeof data === 'object' && 'payload' in data ? data.payload : data;
            const headers = {};
            for (const [k, v] of Object.entries(r.headers || {})) {
                const name = k.toLowerCase();
                if (name === 'content-type' || name.startsWith('x-rate')) headers[name] = String(v);
            }
            return { kind: 'http', status: r.status, headers, body: body && typeof body === 'object' ? body : { message: body } };
        }
        if (err && err.isAxiosError) return { kind: 'network', name: err.name, code: err.code, message: err.message };
        if (err instanceof Error) return { kind: 'internal', name: err.name || 'Error', message: err.message, stack: err.stack };
        // QuickJS throws `null` when it cannot even allocate the out-of-memory error.
        if (err === null) return { kind: 'internal', name: 'InternalError', message: 'out of memory' };
        let text;
        try { text = JSON.stringify(err); } catch { text = String(err); }
        return { kind: 'internal', name: 'Error', message: text };
    };

    // Reads a bundle's exports: Nango's zero-yaml object (`{type, exec, …}`) or a legacy
    // function export. Throws with a clear message when neither.
    function definitionOf(exports) {
        const def = exports && exports.default;
        if (def && typeof def === 'object') {
            if (!['action', 'sync', 'onEvent'].includes(def.type)) throw new Error(`Unknown function type: ${JSON.stringify(def.type)}`);
            if (typeof def.exec !== 'function') throw new Error('Missing exec function');
            return def;
        }
        if (typeof def === 'function') return { type: 'legacy', exec: def };
        throw new Error(`Invalid script exports: the default export is ${def === undefined ? 'missing' : typeof def}`);
    }

    /**
     * The entry the server calls: `mode` is `load` (check the exports only) or `action`.
     * Resolves to a JSON string `{ok: output}` or `{error: {kind, …}}`; never rejects for the
     * function's own errors.
     */
    async function run(exports, mode, inputJson, metaJson) {
        try {
            const def = definitionOf(exports);
            if (mode === 'load') return JSON.stringify({ ok: { type: def.type } });
            const meta = JSON.parse(metaJson);
            if (mode === 'sync') {
                if (def.type !== 'sync' && def.type !== 'legacy')
                    return JSON.stringify({ error: { kind: 'internal', name: 'Error', message: `Incorrect script loaded for sync: it is a ${def.type}` } });
                await def.exec(new NangoSync(meta));
                return JSON.stringify({ ok: null });
            }
            const nango = new Nango(meta);
            let input = JSON.parse(inputJson);
            if (def.type === 'action') {
                if (def.input && typeof def.input.safeParse === 'function' && meta.validateInput) {
                    const parsed = def.input.safeParse(input);
                    if (!parsed.success) return JSON.stringify({ error: { kind: 'input', issues: issuesOf(parsed.error) } });
                    input = parsed.data;
                }
            } else if (def.type !== 'legacy') {
                return JSON.stringify({ error: { kind: 'internal', name: 'Error', message: `Incorrect script loaded for action: it is a ${def.type}` } });
            }
            const output = await def.exec(nango, input);
            if (def.type === 'action' && def.output && typeof def.output.safeParse === 'function' && meta.validateOutput) {
                const parsed = def.output.safeParse(output);
                if (!parsed.success) return JSON.stringify({ error: { kind: 'output', issues: issuesOf(parsed.error) } });
            }
            return JSON.stringify({ ok: plain(output) });
        } catch (err) {
            return JSON.stringify({ error: describe(err) });
        }
    }
    Object.defineProperty(g, '__nango_run', { value: run, writable: false, configurable: false, enumerable: false });

    // zod compiles validators with `new Function` when it can; it cannot here, so say so
    // up front instead of letting it probe.
    if (g.__nango_zod && typeof g.__nango_zod.config === 'function') g.__nango_zod.config({ jitless: true });

    // No code generation from strings (Nango's runner: `codeGeneration: {strings: false}`):
    // `eval` is gone and every function constructor throws, including those reachable
    // through prototypes. `instanceof Function` keeps working.
    const refuse = function Function() {
        throw new EvalError('Code generation from strings is disabled in functions');
    };
    const protos = [
        Function.prototype,
        Object.getPrototypeOf(async function () {}),
        Object.getPrototypeOf(function* () {}),
        Object.getPrototypeOf(async function* () {}),
    ];
    Object.defineProperty(refuse, 'prototype', { value: Function.prototype, writable: false });
    for (const proto of protos) {
        Object.defineProperty(proto, 'constructor', { value: refuse, writable: false, configurable: false, enumerable: false });
    }
    Object.defineProperty(g, 'Function', { value: refuse, writable: false, configurable: false, enumerable: false });
    Object.defineProperty(g, 'eval', { value: undefined, writable: false, configurable: false, enumerable: false });
})();
