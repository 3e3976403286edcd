import { DEMO_CIS, DEMO_USERS, expect, test, uniqueStamp, type DemoUser } from '@forestall/e2e-kit';
import type { Page } from '@playwright/test';

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

test('the login page refuses a wrong user name or password with a message and signs in with the right one', async ({
  forestall,
}) => {
  const { login, page } = forestall;
  await page.goto('/alerts');
  await expect(page).toHaveURL(/\/login\?next=%2Falerts$/);
  await expect(login.userName).toBeFocused();

  // A name no one has, so this test's refusals never lock a real user out (5 in 15 minutes would); the server
  // answers a wrong password for a real user the same way, in the same time.
  const nobody = `nobody-${uniqueStamp()}`;
  await login.userName.fill(nobody);
  await login.password.fill('not the password');
  const loaded = page.waitForEvent('load');
  await login.password.press('Enter');
  await loaded;
  await expect(login.refusal).toHaveText('The user name or password is wrong.');
  await expect(login.userName).toHaveValue(nobody);
  await expect(login.password).toBeFocused();
  await expect(login.password).toHaveAccessibleDescription('The user name or password is wrong.');

  await login.userName.fill('viewer');
  await login.password.fill(DEMO_USERS.viewer.password);
  await login.logInButton.click();
  await expect(page).toHaveURL(/\/alerts$/);
  await expect(login.signedInAs('viewer', 'evt_mgmt_user')).toBeVisible();
  await login.logOut();
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
  test(`${user} signs in and sees what the role may use and nothing more`, async ({ forestall, proactiveCase }) => {
    const { page, login, allAlerts, alertForm, casePage } = forestall;
    // The agent's case is made first (by the operator, in a context of its own): it is what the agent may work.
    const made = user === 'agent' ? await proactiveCase() : undefined;
    const problems = watchForViolations(page);
    await login.signInAs(user);
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
      // A demo alert no test gives a case or an incident (tests that change data make alerts of their own).
      await allAlerts.goto({ q: 'unknown-host-99' });
      await allAlerts.openAlert('unknown-host-99');
      const mayAct = user !== 'viewer';
      await expect(alertForm.refreshButton).toHaveCount(mayAct ? 1 : 0);
      await expect(alertForm.createCaseButton).toHaveCount(mayAct ? 1 : 0);
      await expect(alertForm.moreActionsButton).toHaveCount(mayAct ? 1 : 0);
      await expect(alertForm.createIncidentButton).toHaveCount(mayAct ? 1 : 0);
      if (!mayAct) {
        await expect(
          page.getByText('may view this alert but not refresh its install base items or create a case'),
        ).toBeVisible();
      }
    }
    if (made) {
      await casePage.goto(made.case);
      await expect(casePage.updateCaseButton).toBeVisible();
      await expect(casePage.assignToMeButton).toBeVisible();
      await expect(page.getByRole('button', { name: 'Post comment' })).toBeVisible();
      await expect(page.getByRole('button', { name: 'Post work note' })).toBeVisible();
    }
    if (user === 'admin') {
      await page.goto('/audit');
      const log = page.getByRole('table', { name: 'Audit log' });
      // The sign-in this test just made is in the log, by admin.
      const signIns = log
        .getByRole('row')
        .filter({ has: page.getByRole('cell', { name: 'admin', exact: true }) })
        .filter({ hasText: 'Signed in' });
      await expect(signIns.first()).toBeVisible();
    }
    expect(problems).toEqual([]);
  });
}

test.describe('the viewer', () => {
  test("replaying the operator's create-case request with the viewer's session is refused and creates nothing", async ({
    openAs,
    ingest,
  }) => {
    // The operator submits a case for an alert of this test's own; the request is caught on its way out.
    const { number } = await ingest.alert({ node: DEMO_CIS.mailRelay, severity: 'Minor' });
    const operator = await openAs('operator');
    await operator.alertForm.goto(number);
    const caseForm = await operator.alertForm.openCaseForm();
    let captured: { url: string; body: string; contentType: string } | undefined;
    await operator.page.route('**/api/create_case', async (route) => {
      const request = route.request();
      captured = {
        url: request.url(),
        body: request.postData() ?? '',
        contentType: (await request.allHeaders())['content-type'],
      };
      await route.abort();
    });
    await caseForm.shortDescription.fill('Relay queue growing');
    await caseForm.submitButton.click();
    await expect.poll(() => captured).toBeDefined();

    // The viewer sees no Create Case, and the same request with the viewer's session is refused.
    const viewer = await openAs('viewer');
    await viewer.alertForm.goto(number);
    await expect(viewer.alertForm.createCaseButton).toHaveCount(0);
    const replay = {
      headers: { 'content-type': captured!.contentType, accept: 'application/json' },
      data: captured!.body,
    };
    const refused = await viewer.page.request.post(captured!.url, replay);
    expect(refused.status()).toBe(403);
    expect(await refused.json()).toBe('Forbidden');
    await viewer.alertForm.goto(number);
    await expect(viewer.alertForm.caseField).toHaveText('');

    // The request itself was sound: the operator's own session gets the case.
    const accepted = await operator.page.request.post(captured!.url, replay);
    expect(accepted.status()).toBe(200);
    await viewer.alertForm.goto(number);
    await expect(viewer.alertForm.caseLink()).toBeVisible();
  });
});

test.describe('the agent', () => {
  test.use({ user: 'agent' });

  test('a work note with markup in it is shown as text and runs nothing', async ({ forestall, proactiveCase }) => {
    const { page, casePage } = forestall;
    const made = await proactiveCase();
    const problems = watchForViolations(page);
    await casePage.goto(made.case);
    const attack = '<img src=x onerror="document.title=\'pwned\'"><b>bold?</b>';
    await casePage.postWorkNote(attack);
    await expect(casePage.workNotes.getByRole('img')).toHaveCount(0);
    // `<b>` has no role to look it up by: the journal must hold no such element.
    await expect(casePage.workNotes.locator('b')).toHaveCount(0);
    await expect(casePage.workNoteBox).toHaveValue('');

    // After a reload, rendered on the server, it is still text.
    await page.reload();
    await expect(casePage.workNotes.getByText(attack, { exact: true })).toBeVisible();
    await expect(page.getByRole('main').getByRole('img')).toHaveCount(0);
    expect(await page.title()).not.toBe('pwned');
    expect(problems).toEqual([]);
  });

  test('the agent resolves a case with resolution notes', async ({ forestall, proactiveCase }) => {
    const { casePage } = forestall;
    const made = await proactiveCase();
    await casePage.goto(made.case);
    await expect(casePage.state).toHaveText('New');
    await casePage.moveTo('Resolved', 'Relay restarted; queue drained.');
    await expect(casePage.state).toHaveText('Resolved');
    await expect(casePage.field('Resolution notes')).toHaveText('Relay restarted; queue drained.');
    await expect(casePage.workNotes).toContainText('State changed from New to Resolved.');
  });

  test('resolving a case without resolution notes is refused at the field', async ({
    forestall,
    proactiveCase,
  }) => {
    const { casePage } = forestall;
    const made = await proactiveCase();
    await casePage.goto(made.case);
    await casePage.moveTo('Resolved');
    await expect(casePage.resolutionNotes).toHaveAttribute('aria-invalid', 'true');
    await expect(casePage.resolutionNotes).toHaveAccessibleDescription(/Enter resolution notes/);
    await casePage.goto(made.case);
    await expect(casePage.state).toHaveText('New');
    await expect(casePage.workNotes).not.toContainText('State changed');
  });
});
