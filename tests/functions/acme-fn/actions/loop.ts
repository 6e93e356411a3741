import { createAction } from 'nango';
import * as z from 'zod';

const action = createAction({
    description: 'Never returns: spins forever so the runtime must interrupt it',
    version: '1.0.0',
    endpoint: { method: 'POST', path: '/loop', group: 'Test' },
    input: z.object({}),
    output: z.void(),

    exec: async () => {
        while (true) {}
    }
});

export type NangoActionLocal = Parameters<(typeof action)['exec']>[0];
export default action;
