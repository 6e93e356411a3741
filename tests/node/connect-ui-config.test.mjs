// Drives the Connect UI (GET /connect-ui/) in headless Chromium with puppeteer-core for a
// provider with `credentials` metadata and `connection_config` fields, against a running
// server. It expects the `acme-portal` provider of tests/tests/e2e/connect.rs
// (`the_connect_ui_asks_for_the_connection_config_of_the_provider`), behind an integration
// `portal`, in a connect session whose `integrations_config_defaults.portal.connection_config`
// sets `tenant`:
//
//   connection_config: subdomain (order 1, pattern ^[a-z0-9-]+$, prefix https://, suffix
//     .example.com), region (enum us/eu/ap, default eu), team_id (optional, pattern ^T[0-9]+$),
//     api_version (hidden, default 2024-01), tenant (preset by the session), webhook_secret
//     (automated)
//   credentials: username (Email Address, format email), password (API Token, secret)
//
// Inputs (environment):
//   CONNECT_LINK  full connect link, e.g. http://127.0.0.1:3003/connect-ui/?session_token=...
//   CHROMIUM      path of the Chromium binary (e.g. /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import puppeteer from 'puppeteer-core';

const { CONNECT_LINK, CHROMIUM } = process.env;
for (const [name, value] of Object.entries({ CONNECT_LINK, CHROMIUM })) {
  if (!value) throw new Error(`${name} must be set`);
}

const DOCS = 'https://docs.acme.test/portal/connect';
const PASSWORD = 'tok-5b1e93';
const TIMEOUT = 15_000;

let browser;
let page;
const submissions = [];
const pageErrors = [];
// When set, the next credential submission is answered with this 400 body instead of
// reaching the server (the server's validation errors, as the page must show them).
let fakeAnswer = null;

before(async () => {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  // Phone width.
  await page.setViewport({ width: 360, height: 740, isMobile: true, hasTouch: true });
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.url().includes('/api-auth/')) {
      submissions.push({ url: req.url(), body: req.postData() });
      if (fakeAnswer) {
        const body = JSON.stringify(fakeAnswer);
        fakeAnswer = null;
        req.respond({ status: 400, contentType: 'application/json', body });
        return;
      }
    }
    req.continue();
  });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  await page.evaluateOnNewDocument(() => {
    window.__posted = [];
    window.opener = { postMessage: (msg) => window.__posted.push(msg) };
  });
  const res = await page.goto(CONNECT_LINK, { waitUntil: 'domcontentloaded' });
  assert.equal(res.status(), 200, 'GET connect link');
  await page.waitForSelector('#param-subdomain', { visible: true });
});

after(async () => {
  if (browser) await browser.close();
});

/** Replaces the value of the field `selector` with `text`, with the keyboard. */
async function retype(selector, text) {
  await page.focus(selector);
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(text);
}

function fieldState(selector) {
  return page.$eval(selector, (el) => {
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    const error = document.getElementById(`${el.id}-error`);
    return {
      invalid: el.getAttribute('aria-invalid') === 'true',
      error: error && !error.hidden ? error.textContent : '',
      describedByError: ids.includes(`${el.id}-error`),
      focused: document.activeElement === el,
    };
  });
}

test('the fields of the provider are shown in its order, labelled by its metadata', async () => {
  const shown = await page.$$eval('#fields .field', (els) =>
    els.map((el) => {
      const control = el.querySelector('input, select');
      return {
        id: control.id,
        label: control.labels[0].textContent,
        tag: control.tagName.toLowerCase(),
        type: control.type,
        placeholder: control.getAttribute('placeholder') || '',
        required: control.getAttribute('aria-required'),
        value: control.value,
      };
    }),
  );
  assert.deepEqual(shown, [
    { id: 'param-subdomain', label: 'Acme Subdomain', tag: 'input', type: 'text', placeholder: 'your-team', required: 'true', value: '' },
    { id: 'username', label: 'Email Address', tag: 'input', type: 'text', placeholder: 'jane@acme.test', required: 'true', value: '' },
    { id: 'password', label: 'API Token', tag: 'input', type: 'password', placeholder: 'tok_****', required: 'true', value: '' },
    { id: 'param-region', label: 'Region', tag: 'select', type: 'select-one', placeholder: '', required: 'true', value: 'eu' },
    { id: 'param-team_id', label: 'Team ID', tag: 'input', type: 'text', placeholder: 'Team ID', required: 'false', value: '' },
  ]);
  // Hidden, preset and automated fields are not asked.
  for (const id of ['param-api_version', 'param-tenant', 'param-webhook_secret']) {
    assert.equal(await page.$(`#${id}`), null, `${id} is not shown`);
  }
  const options = await page.$$eval('#param-region option', (els) => els.map((o) => o.value));
  assert.deepEqual(options, ['us', 'eu', 'ap']);
  const title = await page.$eval('#title', (el) => el.textContent);
  assert.equal(title, 'Connect to Acme Portal');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'param-subdomain', 'the first field has the focus');
});

test('descriptions, prefix, suffix, optional mark and documentation links', async () => {
  const subdomain = await page.$eval('#param-subdomain', (el) => {
    const field = el.closest('.field');
    const texts = (el.getAttribute('aria-describedby') || '').split(' ').map((id) => document.getElementById(id).textContent);
    const doc = field.querySelector('a.doc');
    return {
      described: texts,
      prefix: el.previousElementSibling && el.previousElementSibling.textContent,
      suffix: el.nextElementSibling && el.nextElementSibling.textContent,
      mark: field.querySelector('.req') && field.querySelector('.req').getAttribute('aria-hidden'),
      doc: doc && { href: doc.href, target: doc.target, rel: doc.rel, label: doc.getAttribute('aria-label') },
    };
  });
  assert.deepEqual(subdomain, {
    described: ['The subdomain of your Acme account.', 'https://', '.example.com'],
    prefix: 'https://',
    suffix: '.example.com',
    mark: 'true',
    doc: {
      href: `${DOCS}#step-1-find-your-subdomain`,
      target: '_blank',
      rel: 'noopener noreferrer',
      label: 'View documentation for Acme Subdomain (opens in a new tab)',
    },
  });
  const docs = await page.$$eval('#fields .field', (els) =>
    els.map((el) => [el.dataset.name, el.querySelector('a.doc') ? el.querySelector('a.doc').getAttribute('href') : null]),
  );
  assert.deepEqual(docs, [
    ['subdomain', `${DOCS}#step-1-find-your-subdomain`],
    ['username', `${DOCS}#step-2-credentials`],
    ['password', null],
    ['region', null],
    ['team_id', null],
  ]);
  const teamBadge = await page.$eval('#param-team_id', (el) => el.closest('.field').querySelector('.badge').textContent);
  assert.equal(teamBadge, 'optional');
  const guide = await page.$eval('#guide', (el) => ({ href: el.href, rel: el.rel, target: el.target, shown: !el.closest('[hidden]') }));
  assert.deepEqual(guide, { href: DOCS, rel: 'noopener noreferrer', target: '_blank', shown: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at phone width (overflow ${overflow}px)`);
});

test('invalid values are refused next to their fields and nothing is sent', async () => {
  await retype('#param-subdomain', 'Acme_Team');
  await retype('#username', 'jane');
  await retype('#password', PASSWORD);
  await retype('#param-team_id', 'x1');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#param-subdomain-error:not([hidden])');
  assert.deepEqual(await fieldState('#param-subdomain'), {
    invalid: true,
    error: 'Incorrect Acme Subdomain',
    describedByError: true,
    focused: true,
  });
  assert.deepEqual(await fieldState('#username'), { invalid: true, error: 'Invalid email address', describedByError: true, focused: false });
  assert.deepEqual(await fieldState('#password'), { invalid: false, error: '', describedByError: false, focused: false });
  assert.deepEqual(await fieldState('#param-team_id'), { invalid: true, error: 'Incorrect Team ID', describedByError: true, focused: false });
  assert.deepEqual(submissions, [], 'nothing was sent');

  // An empty required field.
  await retype('#param-subdomain', '');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('param-subdomain-error').textContent === 'This field is required');

  // Fixing a value clears its error as the person types.
  await retype('#param-subdomain', 'acme-team');
  assert.deepEqual(await fieldState('#param-subdomain'), { invalid: false, error: '', describedByError: false, focused: true });
  assert.deepEqual(submissions, [], 'nothing was sent');
});

test("the server's validation errors are shown next to the fields they name", async () => {
  await retype('#username', 'jane@acme.test');
  await retype('#param-team_id', 'T42');
  fakeAnswer = {
    error: {
      code: 'invalid_body',
      errors: [
        { code: 'custom', message: 'Unknown Acme subdomain', path: ['connection_config', 'subdomain'] },
        { code: 'too_big', message: 'Too long', path: ['password'] },
        { code: 'custom', message: 'Something else is wrong', path: ['connection_config', 'nope'] },
      ],
    },
  };
  await page.keyboard.press('Enter');
  await page.waitForSelector('#param-subdomain-error:not([hidden])');
  assert.equal(submissions.length, 1);
  assert.deepEqual(await fieldState('#param-subdomain'), {
    invalid: true,
    error: 'Unknown Acme subdomain',
    describedByError: true,
    focused: true,
  });
  assert.deepEqual(await fieldState('#password'), { invalid: true, error: 'Too long', describedByError: true, focused: false });
  assert.equal(await page.$eval('#error', (el) => el.textContent), 'Something else is wrong', 'an unknown path goes to the general area');
});

test('a valid submission sends the configuration as params and connects', async () => {
  await page.keyboard.press('Enter');
  await page.waitForSelector('#result', { visible: true });
  const result = await page.$eval('#result', (el) => ({ text: el.textContent.trim(), focused: document.activeElement === el }));
  assert.deepEqual(result, { text: 'Connected', focused: true });

  assert.equal(submissions.length, 2);
  const url = new URL(submissions[1].url);
  assert.match(url.pathname, /\/api-auth\/basic\/portal$/);
  const params = Object.fromEntries([...url.searchParams].filter(([k]) => k.startsWith('params[')));
  assert.deepEqual(params, {
    'params[subdomain]': 'acme-team',
    'params[region]': 'eu',
    'params[team_id]': 'T42',
    'params[api_version]': '2024-01',
  });
  assert.deepEqual(JSON.parse(submissions[1].body), { username: 'jane@acme.test', password: PASSWORD });
  assert.ok(!submissions[1].url.includes(PASSWORD), 'the password is not in the URL');

  const posted = await page.evaluate(() => window.__posted);
  const msg = posted.find((m) => m && m.type === 'connect');
  assert.ok(msg, 'the page posted a connect message to its opener');
  assert.deepEqual(pageErrors, [], 'no script error on the page');
  console.log(`connectionId: ${msg.payload.connectionId} (providerConfigKey: ${msg.payload.providerConfigKey})`);
});
