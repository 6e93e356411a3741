import { createAction } from 'nango';
import * as z from 'zod';

const input = z.object({
    id: z.string()
});

// The upstream body is returned as is; extra fields (e.g. `n`) pass through.
const output = z
    .object({
        id: z.string(),
        name: z.string()
    })
    .passthrough();

const action = createAction({
    description: 'Fetches one upstream item through the proxy and returns its body',
    version: '1.0.0',
    endpoint: { method: 'GET', path: '/fetch-item', group: 'Test' },
    input,
    output,

    exec: async (nango, input) => {
        const res = await nango.get({ endpoint: '/items/' + input.id });
        return res.data;
    }
});

export type NangoActionLocal = Parameters<(typeof action)['exec']>[0];
export default action;
