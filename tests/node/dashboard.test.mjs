// Drives the dashboard (/dashboard/) in headless Chromium with puppeteer-core, with the
// keyboard, against a running server prepared by the Rust test that starts this script
// (tests/tests/e2e/dashboard.rs): integration `acme-fn` with connection `c1`, calls in its
// history, and the fixture functions deployed (sync `items`, model `Item`).
//
// Inputs (environment):
//   BASE_URL         the server, e.g. http://127.0.0.1:3003
//   SECRET_KEY       the dev environment's secret key
//   CHROMIUM         path of the Chromium binary
//   SCREENSHOTS_DIR  optional: where to write a PNG of each main page (docs/images)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const { BASE_URL, SECRET_KEY, CHROMIUM, SCREENSHOTS_DIR } = process.env;
for (const [name, value] of Object.entries({ BASE_URL, SECRET_KEY, CHROMIUM })) {
  if (!value) throw new Error(`${name} must be set`);
}
const TIMEOUT = 15_000;

let browser;
let page;
const problems = [];

before(async () => {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.setViewport({ width: 1200, height: 900 });
  page.on('pageerror', (err) => problems.push(`page error: ${err}`));
  page.on('console', (msg) => {
    // A CSP violation (an inline script or style, an outside asset) is reported here.
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('request', (req) => {
    if (!req.url().startsWith(BASE_URL) && !req.url().startsWith('data:')) problems.push(`outside request: ${req.url()}`);
  });
  // Layout shifts while a page loads, summed per page (read after each navigation).
  await page.evaluateOnNewDocument(() => {
    window.__shift = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shift += entry.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
});

after(async () => {
  if (browser) await browser.close();
});

async function shot(name) {
  if (!SCREENSHOTS_DIR) return;
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `dashboard-${name}.png`), fullPage: false });
}

// Follows a link with the keyboard: focus, Enter, wait for the next page.
async function follow(selector) {
  await page.focus(selector);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
}

// Types into a field as a person would (select all, then type).
async function typeInto(selector, text) {
  await page.focus(selector);
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(text);
}

async function submitWith(selector) {
  await page.focus(selector);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
}

async function pageText() {
  return page.evaluate(() => document.querySelector('main').innerText);
}

async function noShiftNoOverflow(label) {
  const shift = await page.evaluate(() => window.__shift);
  assert.ok(shift < 0.01, `${label}: layout shift ${shift}`);
  // At phone width nothing sticks out sideways (tables scroll inside their frame).
  await page.setViewport({ width: 360, height: 740 });
  const [overflow, culprit] = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    // The outermost element that sticks out, to say what to fix.
    const clipped = (e) => {
      for (let p = e.parentElement; p; p = p.parentElement) {
        if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true;
      }
      return false;
    };
    const wide = [...document.querySelectorAll('body *')].find((e) => e.getBoundingClientRect().right > width + 1 && !clipped(e));
    return [document.documentElement.scrollWidth - width, wide ? wide.outerHTML.slice(0, 200) : ''];
  });
  await page.setViewport({ width: 1200, height: 900 });
  assert.ok(overflow <= 1, `${label}: ${overflow}px wider than a phone: ${culprit}`);
}

test('signs in with the secret key, using the keyboard', async () => {
  const res = await page.goto(`${BASE_URL}/dashboard/`, { waitUntil: 'load' });
  assert.equal(res.status(), 200);
  assert.match(page.url(), /\/dashboard\/sign-in/);
  await shot('sign-in');
  await typeInto('#f-secret_key', 'wrong-key');
  await submitWith('#f-secret_key');
  assert.match(await pageText(), /This key does not open any environment/);
  // The refusal is a 401 page, which Chromium reports on the console: expected here.
  const refused = problems.findIndex((p) => p.includes('status of 401'));
  if (refused !== -1) problems.splice(refused, 1);
  await typeInto('#f-secret_key', SECRET_KEY);
  await submitWith('#f-secret_key');
  assert.equal(new URL(page.url()).pathname, '/dashboard/');
  assert.match(await pageText(), /acme-fn/);
});

test('creates an integration through the form and finds it listed', async () => {
  await follow('a[href="/dashboard/integrations/new"]');
  await typeInto('#f-unique_key', 'crm');
  await typeInto('#f-display_name', 'Customer CRM');
  await typeInto('[id="f-integration_config.baseUrl"]', 'https://crm.example.test');
  await typeInto('[id="f-integration_config.keyName"]', 'x-api-key');
  await shot('integration-new');
  await submitWith('[id="f-integration_config.keyName"]');
  assert.match(await pageText(), /The integration was created/);
  assert.equal(new URL(page.url()).pathname, '/dashboard/integrations/crm');
  await follow('header nav a[href="/dashboard/integrations"]');
  const text = await pageText();
  assert.match(text, /Customer CRM/);
  assert.match(text, /acme-fn/);
  await noShiftNoOverflow('integrations');
  await shot('integrations');
});

test('finds the imported connection and opens its logs', async () => {
  await follow('header nav a[href="/dashboard/connections"]');
  await typeInto('#f-search', 'c1');
  await submitWith('#f-search');
  await noShiftNoOverflow('connections');
  await shot('connections');
  await follow('main a[href="/dashboard/connections/acme-fn/c1"]');
  const text = await pageText();
  assert.match(text, /c1/);
  assert.ok(!text.includes('key-1'), 'the key is masked');
  await noShiftNoOverflow('connection');
  await shot('connection');
  await follow('a[href="/dashboard/logs?integration=acme-fn&connection=c1"]');
  const logs = await pageText();
  assert.match(logs, /\/items/, 'the proxied call is in the history');
  await noShiftNoOverflow('logs');
  await shot('logs');
  // One call's details.
  await follow('main table tbody a[href^="/dashboard/logs/"]');
  assert.match(await pageText(), /Request id/i);
  await shot('log-detail');
});

test('triggers a sync and sees its records', async () => {
  await page.goto(`${BASE_URL}/dashboard/connections/acme-fn/c1`, { waitUntil: 'load' });
  const trigger = await page.waitForSelector('form input[name="sync"][value="items"] ~ button[value="trigger"]');
  await trigger.focus();
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
  // The run is asynchronous: reload the records page until the records are there.
  const records = `${BASE_URL}/dashboard/records?integration=acme-fn&connection=c1&model=Item`;
  let rows = 0;
  for (let i = 0; i < 60 && rows === 0; i++) {
    await page.goto(records, { waitUntil: 'load' });
    rows = (await page.$$('table.records tbody tr')).length;
    if (rows === 0) await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(rows > 0, 'the sync stored records');
  assert.match(await pageText(), /item \d+/);
  await noShiftNoOverflow('records');
  await shot('records');
});

test('functions and settings pages render', async () => {
  await page.goto(`${BASE_URL}/dashboard/functions`, { waitUntil: 'load' });
  const functions = await pageText();
  assert.match(functions, /items/);
  assert.match(functions, /echo/);
  await noShiftNoOverflow('functions');
  await shot('functions');
  await page.goto(`${BASE_URL}/dashboard/settings`, { waitUntil: 'load' });
  assert.match(await pageText(), /Signing key/i);
  assert.ok(!(await page.content()).includes(SECRET_KEY), 'no key on the page');
  await noShiftNoOverflow('settings');
  await shot('settings');
});

test('nothing broke the policy or came from elsewhere', () => {
  assert.deepEqual(problems, []);
});
