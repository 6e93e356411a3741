import { createAction } from 'nango';
import * as z from 'zod';

const action = createAction({
    description: 'Logs, reads and updates the connection metadata, reads the connection',
    version: '1.0.0',
    endpoint: { method: 'POST', path: '/log-and-meta', group: 'Test' },
    input: z.object({}),
    // The connection metadata this action reads and writes (any other keys are kept).
    metadata: z.object({ touched: z.boolean().optional() }).passthrough(),
    output: z.object({
        metadata: z.unknown(),
        connection_id: z.string()
    }),

    exec: async (nango) => {
        await nango.log('hello', { level: 'info' });
        const m = await nango.getMetadata();
        await nango.updateMetadata({ touched: true });
        const c = await nango.getConnection();
        return { metadata: m, connection_id: c.connection_id };
    }
});

export type NangoActionLocal = Parameters<(typeof action)['exec']>[0];
export default action;
