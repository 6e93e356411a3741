import { createSync } from 'nango';
import * as z from 'zod';

const contactSchema = z.object({
    id: z.string(),
    name: z.string(),
    email: z.string().optional(),
    updated_at: z.string()
});
type Contact = z.infer<typeof contactSchema>;

// Incremental: asks the upstream only for what changed since the last successful run, and
// keeps its page cursor in a checkpoint so a failed run resumes where it stopped.
const sync = createSync({
    description: 'Incremental sync of the upstream contacts, resumable through checkpoints',
    version: '1.0.0',
    endpoints: [{ method: 'GET', path: '/contacts', group: 'Contacts' }],
    frequency: 'every hour',
    autoStart: true,
    syncType: 'incremental',

    metadata: z.object({}),
    checkpoint: z.object({ cursor: z.string(), since: z.string() }),
    models: {
        Contact: contactSchema
    },

    exec: async (nango) => {
        const checkpoint = await nango.getCheckpoint();
        const since = checkpoint ? checkpoint.since : nango.lastSyncDate ? nango.lastSyncDate.toISOString() : '';
        let cursor = checkpoint ? checkpoint.cursor : '';
        for (;;) {
            const res = await nango.get<{ items: Contact[]; next: string }>({
                endpoint: '/contacts',
                params: { cursor, limit: '50', since }
            });
            const contacts: Contact[] = res.data.items.map((c) => ({ id: c.id, name: c.name, email: c.email, updated_at: c.updated_at }));
            await nango.batchSave(contacts, 'Contact');
            cursor = res.data.next;
            if (!cursor) break;
            await nango.saveCheckpoint({ cursor, since });
        }
        await nango.clearCheckpoint();
    }
});

export type NangoSyncLocal = Parameters<(typeof sync)['exec']>[0];
export default sync;
