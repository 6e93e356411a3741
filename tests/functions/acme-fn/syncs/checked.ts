import { createSync } from 'nango';
import * as z from 'zod';

const thingSchema = z.object({
    id: z.string(),
    n: z.number()
});
type Thing = z.infer<typeof thingSchema>;

// Saves one record that breaks its model's schema (`n` is a string) and one duplicate id:
// the server's data validation and duplicate handling are tested with it.
const sync = createSync({
    description: 'Saves a valid record, an invalid one and a duplicate',
    version: '1.0.0',
    endpoints: [{ method: 'GET', path: '/things', group: 'Things' }],
    frequency: 'every day',
    autoStart: false,
    syncType: 'full',

    metadata: z.object({}),
    models: {
        Thing: thingSchema
    },

    exec: async (nango) => {
        const records = [{ id: 'a', n: 1 }, { id: 'b', n: 'two' }, { id: 'a', n: 3 }] as unknown as Thing[];
        await nango.batchSave(records, 'Thing');
        await nango.log('saved the things', { level: 'info' });
    }
});

export type NangoSyncLocal = Parameters<(typeof sync)['exec']>[0];
export default sync;
