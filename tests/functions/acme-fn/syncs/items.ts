import { createSync } from 'nango';
import * as z from 'zod';

const itemSchema = z.object({
    id: z.string(),
    name: z.string(),
    n: z.number()
});
type Item = z.infer<typeof itemSchema>;

const sync = createSync({
    description: 'Full sync of the upstream items, deletions tracked',
    version: '1.0.0',
    endpoints: [{ method: 'GET', path: '/items', group: 'Items' }],
    frequency: 'every day',
    autoStart: false,
    syncType: 'full',

    metadata: z.object({}),
    models: {
        Item: itemSchema
    },

    exec: async (nango) => {
        await nango.trackDeletesStart('Item');

        for await (const page of nango.paginate<{ id: string | number; name: string; n: number }>({
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
            const items: Item[] = page.map((item) => ({ id: String(item.id), name: item.name, n: item.n }));
            if (items.length > 0) {
                await nango.batchSave(items, 'Item');
            }
        }

        await nango.trackDeletesEnd('Item');
    }
});

export type NangoSyncLocal = Parameters<(typeof sync)['exec']>[0];
export default sync;
