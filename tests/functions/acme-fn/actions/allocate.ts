import { createAction } from 'nango';
import * as z from 'zod';

const action = createAction({
    description: 'Allocates without end so the runtime must hit its memory limit',
    version: '1.0.0',
    endpoint: { method: 'POST', path: '/allocate', group: 'Test' },
    input: z.object({}),
    output: z.void(),

    exec: async () => {
        const hog: string[] = [];
        let chunk = 'x'.repeat(1024);
        while (true) {
            // Every string is new and bigger than the last one, and all of them stay reachable.
            chunk = chunk + hog.length;
            hog.push(chunk + '!');
        }
    }
});

export type NangoActionLocal = Parameters<(typeof action)['exec']>[0];
export default action;
