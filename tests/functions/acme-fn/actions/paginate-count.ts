import { createAction } from 'nango';
import * as z from 'zod';

const action = createAction({
    description: 'Counts every upstream item by walking the cursor pagination',
    version: '1.0.0',
    endpoint: { method: 'GET', path: '/paginate-count', group: 'Test' },
    input: z.object({}),
    output: z.object({
        count: z.number()
    }),

    exec: async (nango) => {
        let count = 0;
        for await (const page of nango.paginate({
            endpoint: '/items',
            paginate: {
                type: 'cursor',
                cursor_path_in_response: 'next',
                cursor_name_in_request: 'cursor',
                response_path: 'items',
                limit_name_in_request: 'limit',
                limit: 10
            }
        })) {
            count += page.length;
        }
        return { count };
    }
});

export type NangoActionLocal = Parameters<(typeof action)['exec']>[0];
export default action;
