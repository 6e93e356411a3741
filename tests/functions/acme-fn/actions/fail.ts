import { createAction } from 'nango';
import * as z from 'zod';

const action = createAction({
    description: 'Always refuses with an ActionError',
    version: '1.0.0',
    endpoint: { method: 'POST', path: '/fail', group: 'Test' },
    input: z.object({}),
    output: z.void(),

    exec: async (nango) => {
        throw new nango.ActionError({ message: 'refused by the test', reason: 'because' });
    }
});

export type NangoActionLocal = Parameters<(typeof action)['exec']>[0];
export default action;
