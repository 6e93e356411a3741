import { createAction } from 'nango';
import * as z from 'zod';

const input = z.object({
    message: z.string(),
    n: z.number()
});

const output = z.object({
    message: z.string(),
    n: z.number(),
    connectionId: z.string()
});

const action = createAction({
    description: 'Doubles n and echoes the message with the connection id',
    version: '1.0.0',
    endpoint: { method: 'POST', path: '/echo', group: 'Test' },
    input,
    output,

    exec: async (nango, input) => {
        return { message: input.message, n: input.n * 2, connectionId: nango.connectionId };
    }
});

export type NangoActionLocal = Parameters<(typeof action)['exec']>[0];
export default action;
