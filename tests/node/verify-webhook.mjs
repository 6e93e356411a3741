// Checks a webhook this server sent with the official client's verification functions.
// Inputs (environment): WEBHOOK_BODY (the raw body), WEBHOOK_HMAC (X-Nango-Hmac-Sha256),
// WEBHOOK_SIGNATURE (X-Nango-Signature), WEBHOOK_SIGNING_KEY. Prints one line per check and
// exits non-zero when one fails.
import { Nango } from '@nangohq/node';

const { WEBHOOK_BODY, WEBHOOK_HMAC, WEBHOOK_SIGNATURE, WEBHOOK_SIGNING_KEY } = process.env;
for (const [name, value] of Object.entries({ WEBHOOK_BODY, WEBHOOK_HMAC, WEBHOOK_SIGNATURE, WEBHOOK_SIGNING_KEY })) {
    if (!value) throw new Error(`${name} must be set`);
}
const nango = new Nango({ host: 'http://127.0.0.1:9', secretKey: '00000000-0000-4000-8000-000000000000', webhookSigningKey: WEBHOOK_SIGNING_KEY });
const checks = {
    verifyIncomingWebhookRequest: nango.verifyIncomingWebhookRequest(WEBHOOK_BODY, { 'X-Nango-Hmac-Sha256': WEBHOOK_HMAC }),
    verifyWebhookSignature: nango.verifyWebhookSignature(WEBHOOK_SIGNATURE, JSON.parse(WEBHOOK_BODY)),
    tamperedBodyRefused: !nango.verifyIncomingWebhookRequest(WEBHOOK_BODY + ' ', { 'X-Nango-Hmac-Sha256': WEBHOOK_HMAC })
};
let ok = true;
for (const [name, passed] of Object.entries(checks)) {
    console.log(`${passed ? 'valid' : 'INVALID'} ${name}`);
    ok &&= passed;
}
process.exit(ok ? 0 : 1);
