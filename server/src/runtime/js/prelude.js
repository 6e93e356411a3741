// The sandbox of a function: the globals Nango's runner gives (console, Buffer, setTimeout,
// URL, URLSearchParams, TextEncoder/TextDecoder, structuredClone), `require` for zod, crypto
// and url only, the `nango` object, and `__nango_run`, the one entry the server calls.
// Evaluated once per context, after zod.js; then code generation from strings is locked.
//
// Host functions (installed by the server before this file runs):
//   __host_call(op, argsJson) -> Promise<string>   an operation on the server (proxy, …)
//   __host_log(level, message)                      a line of the run's log
//   __host_timer(ms) -> Promise<void>               resolves after ms
//   __host_url(href, base, part, value) -> string   WHATWG URL parse/set, JSON of the parts
//   __host_digest(alg, keyB64|null, dataB64) -> string   base64 digest (hash or HMAC)
//   __host_uuid() -> string                         a random UUID v4
'use strict';
(function () {
    const g = globalThis;
    const hostCall = g.__host_call, hostLog = g.__host_log, hostTimer = g.__host_timer;
    const hostUrl = g.__host_url, hostDigest = g.__host_digest, hostUuid = g.__host_uuid;
    for (const name of ['__host_call', '__host_log', '__host_timer', '__host_url', '__host_digest', '__host_uuid']) {
        delete g[name];
    }
    const define = (obj, name, value) =>
        Object.defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: false });

    // ---- text and bytes -------------------------------------------------------------------
    function utf8Encode(str) {
        str = String(str);
        const out = [];
        for (let i = 0; i < str.length; i++) {
            let c = str.charCodeAt(i);
            if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
                const d = str.charCodeAt(i + 1);
                if (d >= 0xdc00 && d <= 0xdfff) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
                    i++;
                } else c = 0xfffd;
            } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
            if (c < 0x80) out.push(c);
            else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
            else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
            else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        }
        return Uint8Array.from(out);
    }
    function utf8Decode(bytes) {
        let out = '';
        for (let i = 0; i < bytes.length; ) {
            const b = bytes[i];
            let c, n;
            if (b < 0x80) { c = b; n = 1; }
            else if (b >= 0xc2 && b < 0xe0) { c = b & 31; n = 2; }
            else if (b >= 0xe0 && b < 0xf0) { c = b & 15; n = 3; }
            else if (b >= 0xf0 && b < 0xf5) { c = b & 7; n = 4; }
            else { out += '\ufffd'; i++; continue; }
            if (i + n > bytes.length) { out += '\ufffd'; break; }
            let ok = true;
            for (let k = 1; k < n; k++) {
                const x = bytes[i + k];
                if ((x & 0xc0) !== 0x80) { ok = false; break; }
                c = (c << 6) | (x & 63);
            }
            if (!ok || (n === 3 && c < 0x800) || (n === 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff)) {
                out += '\ufffd'; i++; continue;
            }
            out += String.fromCodePoint(c);
            i += n;
        }
        return out;
    }
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    function base64Encode(bytes, url) {
        let out = '';
        for (let i = 0; i < bytes.length; i += 3) {
            const a = bytes[i], b = bytes[i + 1], c = bytes[i + 2];
            out += B64[a >> 2] + B64[((a & 3) << 4) | ((b ?? 0) >> 4)];
            out += b === undefined ? '=' : B64[((b & 15) << 2) | ((c ?? 0) >> 6)];
            out += c === undefined ? '=' : B64[c & 63];
        }
        return url ? out.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : out;
    }
    function base64Decode(str) {
        const clean = String(str).replace(/-/g, '+').replace(/_/g, '/').replace(/[^A-Za-z0-9+/]/g, '');
        const out = [];
        let buf = 0, bits = 0;
        for (const ch of clean) {
            buf = (buf << 6) | B64.indexOf(ch);
            bits += 6;
            if (bits >= 8) { bits -= 8; out.push((buf >> bits) & 255); }
        }
        return Uint8Array.from(out);
    }
    function hexEncode(bytes) {
        let out = '';
        for (const b of bytes) out += (b < 16 ? '0' : '') + b.toString(16);
        return out;
    }
    function hexDecode(str) {
        const out = [];
        for (let i = 0; i + 1 < str.length; i += 2) {
            const v = parseInt(str.slice(i, i + 2), 16);
            if (Number.isNaN(v)) break;
            out.push(v);
        }
        return Uint8Array.from(out);
    }

    class TextEncoder {
        get encoding() { return 'utf-8'; }
        encode(s = '') { return utf8Encode(s); }
    }
    class TextDecoder {
        constructor(label = 'utf-8') {
            if (!/^utf-?8$/i.test(label)) throw new RangeError(`The "${label}" encoding is not supported`);
        }
        get encoding() { return 'utf-8'; }
        decode(v) {
            if (v === undefined) return '';
            const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
            return utf8Decode(bytes);
        }
    }

    class Buffer extends Uint8Array {
        static from(value, encoding) {
            if (typeof value === 'string') return Buffer._wrap(Buffer._encode(value, encoding));
            if (value instanceof ArrayBuffer) return new Buffer(value);
            if (ArrayBuffer.isView(value) || Array.isArray(value)) {
                const b = new Buffer(value.length);
                b.set(value);
                return b;
            }
            if (value && value.type === 'Buffer' && Array.isArray(value.data)) return Buffer.from(value.data);
            throw new TypeError('The first argument must be a string, Buffer, ArrayBuffer or array');
        }
        static _wrap(bytes) {
            const b = new Buffer(bytes.length);
            b.set(bytes);
            return b;
        }
        static _encode(str, encoding = 'utf8') {
            switch (String(encoding).toLowerCase()) {
                case 'utf8': case 'utf-8': return utf8Encode(str);
                case 'base64': case 'base64url': return base64Decode(str);
                case 'hex': return hexDecode(str);
                case 'latin1': case 'binary': case 'ascii':
                    return Uint8Array.from(String(str), (ch) => ch.charCodeAt(0) & 255);
                default: throw new TypeError(`Unknown encoding: ${encoding}`);
            }
        }
        static alloc(size, fill) {
            const b = new Buffer(size);
            if (fill !== undefined) b.fill(typeof fill === 'string' ? Buffer.from(fill)[0] ?? 0 : fill);
            return b;
        }
        static isBuffer(v) { return v instanceof Buffer; }
        static byteLength(v, encoding) { return typeof v === 'string' ? Buffer._encode(v, encoding).length : v.byteLength; }
        static concat(list, total) {
            const length = total ?? list.reduce((n, b) => n + b.length, 0);
            const out = Buffer.alloc(length);
            let at = 0;
            for (const b of list) {
                if (at >= length) break;
                out.set(b.subarray(0, length - at), at);
                at += b.length;
            }
            return out;
        }
        toString(encoding = 'utf8', start = 0, end = this.length) {
            const bytes = this.subarray(start, end);
            switch (String(encoding).toLowerCase()) {
                case 'utf8': case 'utf-8': return utf8Decode(bytes);
                case 'base64': return base64Encode(bytes, false);
                case 'base64url': return base64Encode(bytes, true);
                case 'hex': return hexEncode(bytes);
                case 'latin1': case 'binary': case 'ascii': return String.fromCharCode(...bytes);
                default: throw new TypeError(`Unknown encoding: ${encoding}`);
            }
        }
        toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
        equals(other) { return this.length === other.length && this.every((b, i) => b === other[i]); }
        write(str, offset = 0) {
            const bytes = utf8Encode(str);
            this.set(bytes.subarray(0, this.length - offset), offset);
            return Math.min(bytes.length, this.length - offset);
        }
    }

    // ---- URL ------------------------------------------------------------------------------
    const formEncode = (s) => {
        let out = '';
        for (const b of utf8Encode(s)) {
            const ch = String.fromCharCode(b);
            if (/[A-Za-z0-9*\-._]/.test(ch)) out += ch;
            else if (b === 0x20) out += '+';
            else out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
        }
        return out;
    };
    const formDecode = (s) => {
        const bytes = [];
        const text = s.replace(/\+/g, ' ');
        for (let i = 0; i < text.length; i++) {
            if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
                bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
                i += 2;
            } else for (const b of utf8Encode(text[i])) bytes.push(b);
        }
        return utf8Decode(Uint8Array.from(bytes));
    };
    class URLSearchParams {
        #pairs = [];
        #onChange = null;
        constructor(init = '') {
            if (typeof init === 'string') this.#parse(init);
            else if (init instanceof URLSearchParams) this.#pairs = init.#pairs.map((p) => [...p]);
            else if (init && typeof init[Symbol.iterator] === 'function')
                for (const [k, v] of init) this.#pairs.push([String(k), String(v)]);
            else if (init && typeof init === 'object')
                for (const k of Object.keys(init)) this.#pairs.push([k, String(init[k])]);
        }
        #parse(text) {
            this.#pairs = [];
            for (const part of text.replace(/^\?/, '').split('&')) {
                if (part === '') continue;
                const at = part.indexOf('=');
                const [k, v] = at < 0 ? [part, ''] : [part.slice(0, at), part.slice(at + 1)];
                this.#pairs.push([formDecode(k), formDecode(v)]);
            }
        }
        static _link(params, text, onChange) {
            params.#parse(text);
            params.#onChange = onChange;
        }
        #changed() { if (this.#onChange) this.#onChange(this.toString()); }
        get size() { return this.#pairs.length; }
        append(k, v) { this.#pairs.push([String(k), String(v)]); this.#changed(); }
        delete(k) { this.#pairs = this.#pairs.filter(([n]) => n !== String(k)); this.#changed(); }
        get(k) { const p = this.#pairs.find(([n]) => n === String(k)); return p ? p[1] : null; }
        getAll(k) { return this.#pairs.filter(([n]) => n === String(k)).map(([, v]) => v); }
        has(k) { return this.#pairs.some(([n]) => n === String(k)); }
        set(k, v) {
            const i = this.#pairs.findIndex(([n]) => n === String(k));
            if (i < 0) this.#pairs.push([String(k), String(v)]);
            else {
                this.#pairs[i][1] = String(v);
                this.#pairs = this.#pairs.filter(([n], j) => j <= i || n !== String(k));
            }
            this.#changed();
        }
        sort() { this.#pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this.#changed(); }
        forEach(fn, self) { for (const [k, v] of this.#pairs) fn.call(self, v, k, this); }
        keys() { return this.#pairs.map(([k]) => k)[Symbol.iterator](); }
        values() { return this.#pairs.map(([, v]) => v)[Symbol.iterator](); }
        entries() { return this.#pairs.map((p) => [...p])[Symbol.iterator](); }
        [Symbol.iterator]() { return this.entries(); }
        toString() { return this.#pairs.map(([k, v]) => formEncode(k) + '=' + formEncode(v)).join('&'); }
    }
    class URL {
        #parts;
        #params = new URLSearchParams();
        constructor(input, base) {
            this.#load(hostUrl(String(input), base === undefined ? undefined : String(base), undefined, undefined));
        }
        #load(json) {
            this.#parts = JSON.parse(json);
            URLSearchParams._link(this.#params, this.#parts.search, (text) => {
                this.#parts = JSON.parse(hostUrl(this.#parts.href, undefined, 'search', text));
            });
        }
        #set(part, value) {
            this.#load(hostUrl(this.#parts.href, undefined, part, String(value)));
        }
        static canParse(input, base) {
            try { new URL(input, base); return true; } catch { return false; }
        }
        get href() { return this.#parts.href; }
        set href(value) { this.#load(hostUrl(String(value), undefined, undefined, undefined)); }
        get origin() { return this.#parts.origin; }
        get protocol() { return this.#parts.protocol; }
        set protocol(value) { this.#set('protocol', value); }
        get username() { return this.#parts.username; }
        set username(value) { this.#set('username', value); }
        get password() { return this.#parts.password; }
        set password(value) { this.#set('password', value); }
        get host() { return this.#parts.host; }
        set host(value) { this.#set('host', value); }
        get hostname() { return this.#parts.hostname; }
        set hostname(value) { this.#set('hostname', value); }
        get port() { return this.#parts.port; }
        set port(value) { this.#set('port', value); }
        get pathname() { return this.#parts.pathname; }
        set pathname(value) { this.#set('pathname', value); }
        get search() { return this.#parts.search; }
        set search(value) { this.#set('search', value); }
        get hash() { return this.#parts.hash; }
        set hash(value) { this.#set('hash', value); }
        get searchParams() { return this.#params; }
        toString() { return this.#parts.href; }
        toJSON() { return this.#parts.href; }
    }

    // ---- timers, console, crypto, require --------------------------------------------------
    let nextTimer = 1;
    const cleared = new Set();
    function setTimeout(fn, ms = 0, ...args) {
        const id = nextTimer++;
        hostTimer(Math.max(0, Number(ms) || 0)).then(() => {
            if (cleared.delete(id)) return;
            if (typeof fn === 'function') fn(...args);
        });
        return id;
    }
    function clearTimeout(id) { if (id) cleared.add(id); }

    const format = (args) => args.map((a) => {
        if (typeof a === 'string') return a;
        if (a instanceof Error) return a.stack ? `${a.name}: ${a.message}\n${a.stack}` : `${a.name}: ${a.message}`;
        try { return JSON.stringify(a) ?? String(a); } catch { return String(a); }
    }).join(' ');
    const console = {};
    for (const [name, level] of [['log', 'info'], ['info', 'info'], ['debug', 'debug'], ['warn', 'warn'], ['error', 'error'], ['trace', 'debug']]) {
        console[name] = (...args) => hostLog(level, format(args));
    }

    const toBytes = (data, encoding) => typeof data === 'string' ? Buffer._encode(data, encoding) : Buffer.from(data);
    class Hash {
        #alg; #key; #chunks = [];
        constructor(alg, key) { this.#alg = String(alg).toLowerCase(); this.#key = key; }
        update(data, encoding) { this.#chunks.push(toBytes(data, encoding)); return this; }
        digest(encoding) {
            const data = base64Encode(Buffer.concat(this.#chunks), false);
            const out = Buffer.from(hostDigest(this.#alg, this.#key === undefined ? null : base64Encode(this.#key, false), data), 'base64');
            return encoding ? out.toString(encoding) : out;
        }
    }
    const crypto = Object.freeze({
        createHash: (alg) => new Hash(alg),
        createHmac: (alg, key) => new Hash(alg, toBytes(key)),
        randomUUID: () => hostUuid(),
    });
    const url = Object.freeze({ URL, URLSearchParams });
    function require(name) {
        switch (name) {
            case 'zod': return g.__nango_zod;
            case 'crypto': case 'node:crypto': return crypto;
            case 'url': case 'node:url': return url;
            default: throw new Error(`Cannot require '${name}': functions may require zod, crypto and url only`);
        }
    }

    function structuredClone(value, seen = new Map()) {
        if (value === null || typeof value !== 'object') {
            if (typeof value === 'function' || typeof value === 'symbol') throw new TypeError('The value cannot be cloned');
            return value;
        }
        if (seen.has(value)) return seen.get(value);
        let out;
        if (value instanceof Date) out = new Date(value.getTime());
        else if (value instanceof RegExp) out = new RegExp(value.source, value.flags);
        else if (ArrayBuffer.isView(value)) out = value.slice();
        else if (value instanceof Map) {
            out = new Map();
            seen.set(value, out);
            for (const [k, v] of value) out.set(structuredClone(k, seen), structuredClone(v, seen));
            return out;
        } else if (value instanceof Set) {
            out = new Set();
            seen.set(value, out);
            for (const v of value) out.add(structuredClone(v, seen));
            return out;
        } else if (Array.isArray(value)) {
            out = [];
            seen.set(value, out);
            for (const v of value) out.push(structuredClone(v, seen));
            return out;
        } else {
            out = {};
            seen.set(value, out);
            for (const k of Object.keys(value)) out[k] = structuredClone(value[k], seen);
            return out;
        }
        seen.set(value, out);
        return out;
    }

    for (const [name, value] of Object.entries({
        TextEncoder, TextDecoder, Buffer, URL, URLSearchParams, setTimeout, clearTimeout, console, require, structuredClone,
    })) define(g, name, value);

    g.__nango_internal = { hostCall, hostLog, format };
})();
