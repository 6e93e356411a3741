// Drives the Connect UI (GET /connect-ui/) in headless Chromium with puppeteer-core,
// using only the keyboard, against a running server.
//
// Inputs (environment):
//   CONNECT_LINK  full connect link, e.g. http://127.0.0.1:3003/connect-ui/?session_token=...
//   CHROMIUM      path of the Chromium binary (e.g. /usr/bin/chromium)
//   API_KEY       the key to type; the server must accept it
//   EXPECT_LABEL  the expected label of the key field (e.g. "API Key")
//   BAD_API_KEY   optional: a key the server refuses (connection_test_failed); the
//                 refusal test is skipped when unset. It runs first, on the same page,
//                 since a connect session link may only be usable once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import puppeteer from 'puppeteer-core';

const { CONNECT_LINK, CHROMIUM, API_KEY, EXPECT_LABEL, BAD_API_KEY } = process.env;
for (const [name, value] of Object.entries({ CONNECT_LINK, CHROMIUM, API_KEY, EXPECT_LABEL })) {
  if (!value) throw new Error(`${name} must be set`);
}

const REFUSED = 'The API key was refused. Check it and try again.';
const TIMEOUT = 15_000;

let browser;
let page;
const requestUrls = [];
const pageErrors = [];

before(async () => {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('request', (req) => requestUrls.push(req.url()));
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  // Stand in for the window that opened the Connect UI, to see what the page posts to it.
  await page.evaluateOnNewDocument(() => {
    window.__posted = [];
    window.opener = { postMessage: (msg) => window.__posted.push(msg) };
  });
  const res = await page.goto(CONNECT_LINK, { waitUntil: 'domcontentloaded' });
  assert.equal(res.status(), 200, 'GET connect link');
  await page.waitForSelector('#api-key', { visible: true });
});

after(async () => {
  if (browser) await browser.close();
});

async function typeKeyAndSubmit(key) {
  await page.focus('#api-key');
  // Clear whatever is there using the keyboard only.
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  await page.type('#api-key', key);
  await page.keyboard.press('Enter');
}

test('the key field is labelled', async () => {
  const labelText = await page.$eval('label[for="api-key"]', (el) => el.textContent.trim());
  assert.equal(labelText, EXPECT_LABEL);
  const accessible = await page.$eval('#api-key', (el) => el.labels[0].textContent.trim());
  assert.equal(accessible, EXPECT_LABEL);
  const attrs = await page.$eval('#api-key', (el) => ({ type: el.type, autocomplete: el.autocomplete }));
  assert.deepEqual(attrs, { type: 'password', autocomplete: 'off' });
  const title = await page.title();
  assert.equal(title, 'Connect');
});

test('a refused key shows an error and keeps the form', { skip: !BAD_API_KEY && 'BAD_API_KEY is unset' }, async () => {
  await typeKeyAndSubmit(BAD_API_KEY);
  await page.waitForSelector('#error', { visible: true });
  const error = await page.$eval('#error', (el) => ({ text: el.textContent.trim(), role: el.getAttribute('role') }));
  assert.deepEqual(error, { text: REFUSED, role: 'alert' });
  const field = await page.$eval('#api-key', (el) => ({ value: el.value, focused: document.activeElement === el }));
  assert.deepEqual(field, { value: '', focused: true });
  assert.ok(
    requestUrls.every((u) => !u.includes(BAD_API_KEY) && !u.includes(encodeURIComponent(BAD_API_KEY))),
    'the refused key must never appear in a request URL',
  );
});

test('typing the key and pressing Enter connects', async () => {
  await typeKeyAndSubmit(API_KEY);
  await page.waitForSelector('#result', { visible: true });
  const result = await page.$eval('#result', (el) => ({ text: el.textContent.trim(), focused: document.activeElement === el }));
  assert.deepEqual(result, { text: 'Connected', focused: true });

  const leaked = requestUrls.filter((u) => u.includes(API_KEY) || u.includes(encodeURIComponent(API_KEY)));
  assert.deepEqual(leaked, [], 'the key must never appear in a request URL');
  assert.ok(requestUrls.some((u) => u.includes('/api-auth/api-key/')), 'the page called /api-auth/api-key/');

  const posted = await page.evaluate(() => window.__posted);
  const msg = posted.find((m) => m && m.type === 'connect');
  assert.ok(msg, 'the page posted a connect message to its opener');
  assert.equal(typeof msg.payload.connectionId, 'string');
  assert.deepEqual(pageErrors, [], 'no script error on the page');
  console.log(`connectionId: ${msg.payload.connectionId} (providerConfigKey: ${msg.payload.providerConfigKey})`);
});
