import { createSync } from 'nango';
import * as z from 'zod';

const pieceSchema = z.object({
    id: z.string()
});
type Piece = z.infer<typeof pieceSchema>;

// Saves a record, then fails: the run is an error, its record stays, the error webhook goes.
const sync = createSync({
    description: 'Saves one record and then fails',
    version: '1.0.0',
    endpoints: [{ method: 'GET', path: '/pieces', group: 'Pieces' }],
    frequency: 'every day',
    autoStart: false,
    syncType: 'full',

    metadata: z.object({}),
    models: {
        Piece: pieceSchema
    },

    exec: async (nango) => {
        const pieces: Piece[] = [{ id: 'p1' }];
        await nango.batchSave(pieces, 'Piece');
        throw new Error('the upstream went away');
    }
});

export type NangoSyncLocal = Parameters<(typeof sync)['exec']>[0];
export default sync;
