import { expect, test, type APIRequestContext, type Browser, type Page } from '@playwright/test';
import { AffectedList } from './pages/affected-list';
import { AlertForm } from './pages/alert-form';
import { signedInAs, type DemoUser } from './auth';

/** The demo data's API token (README, "Demo data"). For the demo only. */
const DEMO_TOKEN = 'fst_demo_only_not_secret_0000000000000000';

// Each test raises alerts of its own through the ingestion API, so it depends on no other test.

/** Posts one generic event and answers the number of the alert it made or updated. */
async function postEvent(request: APIRequestContext, event: Record<string, unknown>): Promise<string> {
  const posted = await request.post('/ingest/v1/events', {
    headers: { Authorization: `Bearer ${DEMO_TOKEN}` },
    data: { source: 'Nagios', type: 'Queue', resource: 'smtp', metric_name: 'queue_size', ...event },
  });
  expect(posted.status()).toBe(200);
  const answer = await posted.json();
  expect(answer.accepted).toBe(1);
  return answer.results[0].alert as string;
}

/** A fresh alert on the mail relay (it affects Umbrella Health's three items). */
async function mailAlert(request: APIRequestContext, description: string): Promise<string> {
  return postEvent(request, {
    node: 'mail-relay-01',
    message_key: `e2e-live-${Date.now()}-${Math.random()}`,
    severity: 'Major',
    description,
  });
}

async function pageAs(browser: Browser, user: DemoUser): Promise<Page> {
  const context = await browser.newContext({ storageState: signedInAs(user) });
  return context.newPage();
}

/** Marks the page so a later check can tell it was not reloaded. */
async function markNoReload(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
}

async function notReloaded(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true);
}

/** Calls a server function as a page's form would, with `page`'s session. */
async function call(page: Page, fn: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  const reply = await page.request.post(`/api/${fn}`, { form, headers: { Accept: 'application/json' } });
  expect(reply.status(), await reply.text()).toBe(200);
  return reply.json();
}

/** Refreshes the alert's install base items and creates its case, as `page`'s user, through the server functions. */
async function refreshAndCreateCase(page: Page, alert: string, shortDescription: string): Promise<{ number: string }> {
  await call(page, 'refresh_install_base', { alert });
  return (await call(page, 'create_case', {
    'input[alert]': alert,
    'input[short_description]': shortDescription,
    'input[priority]': '2',
    'input[contact]': '',
    'input[work_notes]': '',
  })) as { number: string };
}

test('operator B sees operator A refresh the affected items and create the case, without a reload', async ({
  browser,
  request,
}) => {
  const number = await mailAlert(request, `Mail queue growing (${Date.now()})`);
  const pageA = await pageAs(browser, 'operator');
  const pageB = await pageAs(browser, 'evt.admin');
  const [formA, formB] = [new AlertForm(pageA), new AlertForm(pageB)];
  for (const form of [formA, formB]) {
    await form.goto(number);
    await form.hydrated();
  }
  await markNoReload(pageB);
  const affectedB = new AffectedList(pageB);
  await expect(affectedB.rows).toHaveCount(0);

  // A refreshes: B's Affected Install Base Items follow.
  await formA.refreshInstallBase();
  const refreshed = Date.now();
  await expect(affectedB.rows).toHaveCount(3);
  const refreshSeen = Date.now() - refreshed;

  // A creates the case: B's Case field holds its number as a link, and Create Case gives way to it.
  await formA.createCase();
  await pageA.getByRole('button', { name: 'Submit' }).click();
  const status = pageA.getByRole('status').filter({ hasText: /^Case CS\d{7} created$/ });
  await expect(status).toBeVisible();
  const created = Date.now();
  const caseNumber = (await status.textContent())!.match(/CS\d{7}/)![0];
  await expect(formB.caseField.getByRole('link', { name: caseNumber })).toBeVisible();
  const caseSeen = Date.now() - created;
  await expect(formB.createCaseButton).toHaveCount(0);
  await expect(formB.moreActions).toHaveCount(0);
  await expect(formA.createCaseButton).toHaveCount(0);
  await expect(pageB.getByRole('region', { name: 'Activity' })).toContainText(caseNumber);
  expect(await notReloaded(pageB)).toBe(true);
  test.info().annotations.push({ type: 'latency', description: `refresh ${refreshSeen} ms, case ${caseSeen} ms` });
  console.log(`live: B saw the refresh ${refreshSeen} ms and the case ${caseSeen} ms after A's answer`);
});

test('an alert posted to the ingestion API is announced on an open All Alerts, and a changed row updates in place', async ({
  browser,
  request,
}) => {
  const operator = await pageAs(browser, 'operator');
  await operator.goto('/alerts');
  await new AlertForm(operator).hydrated();
  await markNoReload(operator);
  const table = operator.getByRole('table', { name: 'All Alerts' });

  const description = `Queue above 900 (${Date.now()})`;
  const number = await mailAlert(request, description);
  const news = operator.getByRole('status').filter({ hasText: /^1 new alert$/ });
  await expect(news).toBeVisible();
  // Nothing moved under the pointer: the new alert is announced, not inserted.
  await expect(table.getByRole('row').filter({ hasText: description })).toHaveCount(0);
  expect(await notReloaded(operator)).toBe(true);

  await operator.getByRole('button', { name: 'Show' }).click();
  const row = table.getByRole('row').filter({ hasText: description });
  await expect(row).toBeVisible();
  await expect(row.getByRole('link', { name: number })).toBeVisible();
  await expect(row).toContainText('Major');

  // The same problem gets less severe: the row says so where it stands.
  await markNoReload(operator);
  const again = await postEvent(request, {
    node: 'mail-relay-01',
    message_key: await keyOf(operator, number),
    severity: 'Minor',
    description,
  });
  expect(again).toBe(number);
  await expect(row).toContainText('Minor');
  expect(await notReloaded(operator)).toBe(true);
});

/** An alert's message key, from its form. */
async function keyOf(page: Page, number: string): Promise<string> {
  const alert = (await call(page, 'get_alert', { number })) as { message_key: string };
  return alert.message_key;
}

test('a work note, a state and an assignment made by one agent appear on another agent’s open case page', async ({ browser, request }) => {
  // The operator opens a case for a fresh alert.
  const operator = await pageAs(browser, 'operator');
  const number = await mailAlert(request, `Relay refusing mail (${Date.now()})`);
  const created = await refreshAndCreateCase(operator, number, 'Relay refusing mail');

  const [first, second] = [await pageAs(browser, 'agent'), await pageAs(browser, 'agent')];
  for (const page of [first, second]) {
    await page.goto(`/cases/${created.number}`);
    await new AlertForm(page).hydrated();
  }
  await markNoReload(second);
  const note = `Called Umbrella's on-call (${Date.now()}).`;
  await first.getByRole('textbox', { name: 'Work notes' }).fill(note);
  await first.getByRole('button', { name: 'Post work note' }).click();
  await expect(second.getByRole('region', { name: 'Work notes' })).toContainText(note);

  // The state too.
  await first.getByLabel('Move to state').selectOption('Open');
  await first.getByRole('button', { name: 'Update case' }).click();
  await expect(second.locator('#case-state')).toHaveText('Open');

  // And the assignment: once the agent takes the case, every open page shows who has it and offers it no more.
  await expect(second.locator('#case-assigned-to')).toHaveText('Unassigned');
  await first.getByRole('button', { name: 'Assign to me' }).click();
  await expect(first.getByRole('status').filter({ hasText: 'Case assigned to agent.' })).toBeVisible();
  await expect(second.locator('#case-assigned-to')).toHaveText('agent');
  await expect(second.getByRole('button', { name: 'Assign to me' })).toHaveCount(0);
  expect(await notReloaded(second)).toBe(true);
});

test('a page whose stream is cut reconnects by itself and catches up with what it missed', async ({
  browser,
  request,
}) => {
  const number = await mailAlert(request, `Relay flapping (${Date.now()})`);
  const page = await pageAs(browser, 'operator');
  const streams: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/live') streams.push(r.url());
  });
  // The stream is cut (the test server ends every stream after a few seconds, as a restart or a proxy would) and,
  // for a while, cannot be reopened.
  let blocked = false;
  await page.route('**/live?**', (route) => (blocked ? route.abort('connectionrefused') : route.continue()));
  const form = new AlertForm(page);
  await form.goto(number);
  await form.hydrated();
  await markNoReload(page);
  await expect.poll(() => streams.length).toBe(1);
  blocked = true;
  // Wait until the page has tried to reconnect and been refused: from now on it is missing changes.
  await expect.poll(() => streams.length, { timeout: 20_000 }).toBeGreaterThan(1);

  // Meanwhile another operator refreshes the alert and creates its case.
  const other = await pageAs(browser, 'evt.admin');
  const created = await refreshAndCreateCase(other, number, 'Relay flapping');
  await expect(form.caseField).toHaveText('');

  // The network comes back: the page reconnects with backoff and shows what it missed.
  blocked = false;
  await expect(form.caseField.getByRole('link', { name: created.number })).toBeVisible({ timeout: 40_000 });
  await expect(new AffectedList(page).rows).toHaveCount(3);
  expect(await notReloaded(page)).toBe(true);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false, storageState: signedInAs('operator') });

  test('All Alerts, Cases and a case page render in full; they are simply not live', async ({ page }) => {
    await page.goto('/alerts');
    const alerts = page.getByRole('table', { name: 'All Alerts' });
    await expect(alerts.getByRole('link', { name: /^Alert\d{7}$/ }).first()).toBeVisible();
    await expect(page.getByRole('button', { name: 'Show' })).toHaveCount(0);
    await page.goto('/cases');
    await page.getByRole('table', { name: 'Cases' }).getByRole('link', { name: /^CS\d{7}$/ }).first().click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(/^CS\d{7}$/);
    await expect(page.getByRole('region', { name: 'Work notes' })).toBeVisible();
    await expect(page.getByRole('textbox', { name: 'Work notes' })).toBeVisible();
  });
});
