import { expect, test, type Page } from '@playwright/test';
import { DEMO_USERS, signedInAs, type DemoUser } from './auth';
import { AlertForm } from './pages/alert-form';
import { CaseForm } from './pages/case-form';
import { LoginPage } from './pages/login';

// Runs after proactive-case.spec.ts (one worker, file order): the mail relay and database host alerts have their
// proactive cases, and the edge router's interface alert has none.

/** Collects what the browser reports about Content-Security-Policy violations and script errors. */
function watchForViolations(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
      problems.push(message.text());
    }
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  return problems;
}

test('the login page refuses a wrong password with a message and signs in with the right one', async ({ page }) => {
  const login = new LoginPage(page);
  await page.goto('/alerts');
  await expect(page).toHaveURL(/\/login\?next=%2Falerts$/);
  await expect(login.userName).toBeFocused();

  await login.userName.fill('viewer');
  await login.password.fill('not the password');
  await login.password.press('Enter');
  await expect(page.getByRole('alert')).toHaveText('The user name or password is wrong.');
  await expect(login.userName).toHaveValue('viewer');
  await expect(login.password).toBeFocused();
  await expect(login.password).toHaveAccessibleDescription('The user name or password is wrong.');

  await login.password.fill(DEMO_USERS.viewer.password);
  await login.logIn.click();
  await expect(page).toHaveURL(/\/alerts$/);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('status')).toHaveText('You have signed out.');
  await page.goto('/cases');
  await expect(page).toHaveURL(/\/login\?next=/);
});

const NAV = ['All Alerts', 'Cases', 'Alert Rules', 'Audit log'] as const;
const EXPECTED: Record<DemoUser, { nav: (typeof NAV)[number][]; home: RegExp }> = {
  admin: { nav: ['Audit log'], home: /\/audit$/ },
  'evt.admin': { nav: ['All Alerts', 'Cases', 'Alert Rules'], home: /\/alerts$/ },
  operator: { nav: ['All Alerts', 'Cases'], home: /\/alerts$/ },
  agent: { nav: ['Cases'], home: /\/cases$/ },
  viewer: { nav: ['All Alerts', 'Cases'], home: /\/alerts$/ },
};

for (const [user, expected] of Object.entries(EXPECTED) as [DemoUser, (typeof EXPECTED)[DemoUser]][]) {
  test(`${user} signs in and sees what the role may use and nothing more`, async ({ page }) => {
    const problems = watchForViolations(page);
    await new LoginPage(page).signInAs(user);
    await expect(page).toHaveURL(expected.home);
    const nav = page.getByRole('navigation', { name: 'Workspace' });
    for (const link of NAV) {
      await expect(nav.getByRole('link', { name: link })).toHaveCount(expected.nav.includes(link) ? 1 : 0);
    }

    // A page the role may not open answers 403 and says why.
    const forbidden = expected.nav.includes('All Alerts') ? '/audit' : '/alerts';
    const response = await page.goto(forbidden);
    expect(response?.status()).toBe(403);
    await expect(page.getByRole('heading', { name: 'Not allowed' })).toBeVisible();
    await expect(page.getByText(`Your role, ${DEMO_USERS[user].role}, may not`)).toBeVisible();

    if (expected.nav.includes('All Alerts')) {
      const alertForm = new AlertForm(page);
      // An alert without a case: once an alert has its case, Create Case gives way to the Case field's link.
      await alertForm.openFromAllAlerts('unknown-host-99');
      const mayAct = user !== 'viewer';
      await expect(alertForm.refreshButton).toHaveCount(mayAct ? 1 : 0);
      await expect(alertForm.createCaseButton).toHaveCount(mayAct ? 1 : 0);
      await expect(alertForm.moreActions).toHaveCount(mayAct ? 1 : 0);
      await expect(page.getByRole('button', { name: 'Create Incident' })).toHaveCount(mayAct ? 1 : 0);
      if (!mayAct) {
        await expect(page.getByText('may view this alert but not refresh its install base items or create a case'))
          .toBeVisible();
      }
    }
    if (user === 'agent') {
      await page.goto('/cases');
      await page.getByRole('table', { name: 'Cases' }).getByRole('link', { name: /^CS\d{7}$/ }).first().click();
      await expect(page.getByRole('button', { name: 'Update case' })).toBeVisible();
      await expect(page.getByRole('button', { name: 'Post comment' })).toBeVisible();
    }
    if (user === 'admin') {
      await page.goto('/audit');
      const log = page.getByRole('table', { name: 'Audit log' });
      await expect(log.getByRole('row').filter({ hasText: 'Signed in' }).first()).toBeVisible();
      await expect(log).toContainText('Case created');
    }
    expect(problems).toEqual([]);
  });
}

test.describe('the viewer', () => {
  test("replaying the operator's create-case request with the viewer's session is refused and creates nothing", async ({
    browser,
  }) => {
    // The operator submits a case for the edge router's interface alert; the request is caught on its way out.
    const operator = await browser.newContext({ storageState: signedInAs('operator') });
    const operatorPage = await operator.newPage();
    const alertForm = new AlertForm(operatorPage);
    const number = await alertForm.openFromAllAlerts('Interface ge-0/0/1');
    await alertForm.createCase();
    let captured: { url: string; body: string; contentType: string } | undefined;
    await operatorPage.route('**/api/create_case', async (route) => {
      const request = route.request();
      captured = {
        url: request.url(),
        body: request.postData() ?? '',
        contentType: (await request.allHeaders())['content-type'],
      };
      await route.abort();
    });
    const caseForm = new CaseForm(operatorPage);
    await caseForm.shortDescription.fill('Edge router interface flapping');
    await caseForm.submit();
    await expect.poll(() => captured).toBeDefined();

    // The viewer sees no Create Case, and the same request with the viewer's session is refused.
    const viewer = await browser.newContext({ storageState: signedInAs('viewer') });
    const viewerPage = await viewer.newPage();
    await new AlertForm(viewerPage).goto(number);
    await expect(new AlertForm(viewerPage).createCaseButton).toHaveCount(0);
    const refused = await viewer.request.post(captured!.url, {
      headers: { 'content-type': captured!.contentType, accept: 'application/json' },
      data: captured!.body,
    });
    expect(refused.status()).toBe(403);
    expect(await refused.json()).toBe('Forbidden');
    await viewerPage.reload();
    await expect(new AlertForm(viewerPage).caseField).toHaveText('');

    // The request itself was sound: the operator's own session gets the case.
    const accepted = await operator.request.post(captured!.url, {
      headers: { 'content-type': captured!.contentType, accept: 'application/json' },
      data: captured!.body,
    });
    expect(accepted.status()).toBe(200);
    await viewerPage.reload();
    await expect(new AlertForm(viewerPage).caseField.getByRole('link', { name: /^CS\d{7}$/ })).toBeVisible();
    await operator.close();
    await viewer.close();
  });
});

test.describe('the agent', () => {
  test.use({ storageState: signedInAs('agent') });

  test('a work note with markup in it is shown as text and runs nothing', async ({ page }) => {
    const problems = watchForViolations(page);
    await page.goto('/cases');
    await page.getByRole('table', { name: 'Cases' }).getByRole('link', { name: /^CS\d{7}$/ }).first().click();
    await page.locator('html[data-hydrated]').waitFor();
    const attack = '<img src=x onerror="document.title=\'pwned\'"><b>bold?</b>';
    await page.getByRole('textbox', { name: 'Work notes' }).fill(attack);
    await page.getByRole('button', { name: 'Post work note' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Work note posted.' })).toBeVisible();
    const notes = page.getByRole('region', { name: 'Work notes' });
    await expect(notes.getByText(attack, { exact: true })).toBeVisible();
    await expect(notes.locator('img, b')).toHaveCount(0);
    await expect(page.getByRole('textbox', { name: 'Work notes' })).toHaveValue('');

    // After a reload, rendered on the server, it is still text.
    await page.reload();
    await expect(page.getByRole('region', { name: 'Work notes' }).getByText(attack, { exact: true })).toBeVisible();
    await expect(page.locator('main img')).toHaveCount(0);
    expect(await page.title()).not.toBe('pwned');
    expect(problems).toEqual([]);
  });

  test('the agent resolves a case only with resolution notes', async ({ page }) => {
    await page.goto('/cases');
    await page.getByRole('table', { name: 'Cases' }).getByRole('link', { name: /^CS\d{7}$/ }).first().click();
    await page.locator('html[data-hydrated]').waitFor();
    const state = page.getByLabel('Move to state');
    const notes = page.getByRole('textbox', { name: 'Resolution notes' });
    await state.selectOption('Resolved');
    await page.getByRole('button', { name: 'Update case' }).click();
    await expect(notes).toHaveAttribute('aria-invalid', 'true');
    await expect(notes).toHaveAccessibleDescription(/Enter resolution notes/);

    await notes.fill('Relay restarted; queue drained.');
    await page.getByRole('button', { name: 'Update case' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Case updated: Resolved.' })).toBeVisible();
    await expect(page.locator('#case-state')).toHaveText('Resolved');
    await expect(page.getByRole('region', { name: 'Work notes' })).toContainText('State changed from New to Resolved.');
  });
});
