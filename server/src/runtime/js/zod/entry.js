// The whole zod module namespace, as `require("zod")` returns it in Node: the named exports
// (object, string, ...), `z` and `default`. Compiled Nango functions do
// `__toESM(require("zod"), 1)` and then `z.object(...)`, so the namespace itself must be returned.
import * as zod from 'zod';

globalThis.__nango_zod = zod;
