// Checks ../zod.js the way the embedded runtime uses it: evaluated in a fresh context that has
// no require, no process and (second pass) no string code generation, it must set
// globalThis.__nango_zod, and safeParse must report failures with an `issues` array.
// Optional argument: a compiled Nango bundle (.cjs, e.g. tests/functions/build/acme-fn_actions_echo.cjs),
// wrapped as Nango's runner wraps it, with require("zod") answered by __nango_zod.
//   node server/src/runtime/js/zod/verify.mjs [bundle.cjs]
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const zodPath = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'zod.js');
const code = fs.readFileSync(zodPath, 'utf8');

for (const options of [{}, { codeGeneration: { strings: false, wasm: false } }]) {
    const ctx = vm.createContext({}, options);
    const t0 = performance.now();
    vm.runInContext(code, ctx, { filename: 'zod.js' });
    const ms = (performance.now() - t0).toFixed(1);
    const res = vm.runInContext(
        `(() => {
            const zod = globalThis.__nango_zod;
            const schema = zod.z.object({ a: zod.z.string() });
            const bad = schema.safeParse({ a: 1 });
            const good = schema.safeParse({ a: 'x' });
            return {
                noRequire: typeof require === 'undefined',
                noProcess: typeof process === 'undefined',
                namedExports: typeof zod.object === 'function' && zod.z.object === zod.object,
                badSuccess: bad.success,
                issuesIsArray: Array.isArray(bad.error && bad.error.issues),
                issues: JSON.stringify(bad.error.issues),
                goodSuccess: good.success
            };
        })()`,
        ctx
    );
    assert.equal(res.noRequire, true);
    assert.equal(res.noProcess, true);
    assert.equal(res.namedExports, true);
    assert.equal(res.badSuccess, false);
    assert.equal(res.issuesIsArray, true);
    assert.equal(res.goodSuccess, true);
    console.log(`ok ${JSON.stringify(options)}: evaluated in ${ms} ms; safeParse({a: 1}).error.issues = ${res.issues}`);
}

const bundlePath = process.argv[2];
if (bundlePath) {
    const ctx = vm.createContext({});
    vm.runInContext(code, ctx, { filename: 'zod.js' });
    ctx.require = (name) => {
        if (name === 'zod') return ctx.__nango_zod;
        throw new Error(`require("${name}") is not available`);
    };
    const src = fs.readFileSync(bundlePath, 'utf8');
    const mod = vm.runInContext(`(function(){var module={exports:{}};var exports=module.exports;${src}; return module.exports;})()`, ctx);
    const def = mod.default;
    assert.ok(def && typeof def.exec === 'function', 'bundle exports default.exec');
    console.log(`ok ${path.basename(bundlePath)}: type=${def.type}, loads with require("zod") -> __nango_zod`);
}
