import { DEMO_CIS, expect, needsJavaScript, test, uniqueStamp } from '@forestall/e2e-kit';

// The seed flow is the operator's (evt_mgmt_operator): refresh install base items and create proactive cases. Each
// test that changes data raises an alert of its own through the ingestion API, on a demo CI whose trace is known.
test.use({ user: 'operator' });

test('an operator walks the seed flow: All Alerts, refresh, the prefilled case form, Submit, the case page', async ({
  forestall,
  ingest,
}) => {
  const { allAlerts, alertForm, affected, caseForm, casePage } = forestall;
  const description = `SMTP queue growing on mail-relay-01 (${uniqueStamp()})`;
  const { number } = await ingest.alert({ node: DEMO_CIS.mailRelay, severity: 'Major', description });

  // Steps 1-2: All Alerts, from the start page's navigation, then the alert.
  await forestall.page.goto('/');
  await allAlerts.gotoFromNavigation();
  expect(await allAlerts.openAlert(description)).toBe(number);
  await expect(alertForm.field('Number')).toHaveValue(number);
  await expect(alertForm.field('Node')).toHaveValue('mail-relay-01');
  await expect(alertForm.field('Configuration item')).toHaveValue('mail-relay-01 (server)');
  await expect(alertForm.field('Severity')).toHaveValue('2 - Major');
  await expect(alertForm.field('Description')).toHaveValue(description);
  await expect(alertForm.caseField).toHaveText('');
  await expect(affected.neverRefreshed).toBeVisible();

  // Step 3: trace the install base.
  await alertForm.refreshInstallBase();
  await expect(affected.table.getByRole('columnheader')).toHaveText([
    'Number',
    'Name',
    'Account',
    'Contact',
    'Product',
    'Configuration item',
    'Reason',
  ]);
  await expect(affected.rows).toHaveCount(3);
  await expect(affected.row('Umbrella archive')).toContainText('Child of IB');
  await expect(affected.row('Umbrella mail filtering')).toContainText('Via mail-relay-01 → mailrelay (1 hop)');
  await expect(affected.lastRefreshed).toContainText('3 items of 1 account');

  // Step 4: the case form, prefilled from the alert and its one affected account.
  await alertForm.openCaseForm();
  await expect(caseForm.shortDescription).toHaveValue(description);
  await expect(caseForm.priority).toHaveValue('2');
  await expect(caseForm.account).toHaveValue('Umbrella Health');
  await expect(caseForm.contact.getByRole('option', { selected: true })).toHaveText('Uma Lindqvist');

  // Steps 5-6: work notes, Submit; the Case field holds the case's link.
  const note = 'Queue backing up; telling Umbrella before their users notice.';
  const caseNumber = await caseForm.create({ workNotes: note });
  await expect(alertForm.createCaseButton).toHaveCount(0);
  await expect(alertForm.page.getByRole('region', { name: 'Activity' })).toContainText(caseNumber);

  // The case page: the number as heading, the work note in its journal, the alert it came from.
  await alertForm.caseLink(caseNumber).click();
  await expect(casePage.heading).toHaveText(caseNumber);
  await expect(casePage.workNotes).toContainText(note);
  await expect(casePage.field('Account')).toHaveText('Umbrella Health');
  await expect(casePage.state).toHaveText('New');
  await expect(casePage.alertLink(number)).toBeVisible();
});

test(
  'Submit fills the Case field in place, without a reload, and says so',
  needsJavaScript('the answer to Submit is shown in place by the hydrated island'),
  async ({ forestall, ingest }) => {
    const { alertForm, caseForm } = forestall;
    const { number } = await ingest.alert({ node: DEMO_CIS.mailRelay, severity: 'Major' });
    await alertForm.goto(number);
    await alertForm.refreshInstallBase();
    await alertForm.openCaseForm();
    // A marker that a full page load would wipe out: Submit must not reload the page.
    await forestall.page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    await caseForm.submit();

    const status = alertForm.status(/^Case CS\d{7} created$/);
    await expect(status).toBeVisible();
    const caseNumber = (await status.textContent())!.match(/CS\d{7}/)![0];
    await expect(alertForm.caseLink(caseNumber)).toBeVisible();
    await expect(caseForm.region).toHaveCount(0);
    await expect(alertForm.createCaseButton).toHaveCount(0);
    expect(await forestall.page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    await forestall.page.screenshot({ path: 'test-results/screenshots/alert-form-after-submit.png', fullPage: true });
  },
);

test('several affected accounts make a major case with a child case per account', async ({ forestall, ingest }) => {
  const { alertForm, affected, caseForm, casePage } = forestall;
  const { number } = await ingest.alert({ node: DEMO_CIS.dbHost, severity: 'Critical' });
  await alertForm.goto(number);
  await alertForm.refreshInstallBase();
  await expect(affected.rows).toHaveCount(6);
  await expect(affected.row('Globex payments portal')).toContainText(
    'Via db-host-01 → ledger-db → payments-app → payments-service (3 hops)',
  );
  // reporting-app is in maintenance: the trace stops there, and Initech's items on it are not affected.
  await expect(affected.row('Initech')).toHaveCount(0);
  await forestall.page.screenshot({ path: 'test-results/screenshots/alert-form-affected.png', fullPage: true });

  await alertForm.openCaseForm();
  await expect(caseForm.account).toHaveValue('3 accounts (major case)');
  await expect(caseForm.priority).toHaveValue('1');
  await expect(caseForm.accountsAffected.getByRole('listitem')).toHaveCount(3);
  const caseNumber = await caseForm.create({ workNotes: 'Storage team paged.' });

  await alertForm.caseLink(caseNumber).click();
  await expect(casePage.heading).toHaveText(caseNumber);
  await expect(casePage.field('Account')).toHaveText('Several (see child cases)');
  // The header row and one row per account.
  await expect(casePage.childCases.getByRole('row')).toHaveCount(4);
});

test(
  'More actions opens a menu, by keyboard, whose Create Case opens the case form',
  needsJavaScript('the More actions menu opens and closes by script'),
  async ({ forestall, ingest }) => {
    const { alertForm, caseForm } = forestall;
    const { number, description } = await ingest.alert({ node: DEMO_CIS.mailRelay, severity: 'Minor' });
    await alertForm.goto(number);
    await expect(alertForm.moreActionsButton).toHaveAttribute('aria-expanded', 'false');
    await expect(alertForm.createCaseMenuItem).toBeHidden();

    // Escape closes the menu again.
    await alertForm.moreActionsButton.focus();
    await forestall.page.keyboard.press('Enter');
    await expect(alertForm.moreActionsButton).toHaveAttribute('aria-expanded', 'true');
    await expect(alertForm.createCaseMenuItem).toBeFocused();
    await forestall.page.keyboard.press('Escape');
    await expect(alertForm.createCaseMenuItem).toBeHidden();

    await alertForm.openCaseFormFromMenu();
    await expect(caseForm.shortDescription).toHaveValue(description);
    await expect(caseForm.priority).toHaveValue('3');
  },
);

test('Submit without a short description marks the field invalid and creates no case', async ({
  forestall,
  ingest,
  javaScriptEnabled,
}) => {
  const { alertForm, caseForm } = forestall;
  const { number } = await ingest.alert({ node: DEMO_CIS.edgeRouter, severity: 'Minor' });
  await alertForm.goto(number);
  await alertForm.openCaseForm();
  await caseForm.shortDescription.fill('');
  await caseForm.submit();

  await expect(caseForm.shortDescription).toHaveAttribute('aria-invalid', 'true');
  await expect(caseForm.shortDescription).toHaveAccessibleDescription('Enter a short description.');
  if (javaScriptEnabled) {
    // The island moves focus to the refused field; a page loaded after a plain post has no script to do it.
    await expect(caseForm.shortDescription).toBeFocused();
  }
  await expect(alertForm.caseField).toHaveText('');

  // Over the limit: refused with a message, still no case.
  await caseForm.shortDescription.fill('x'.repeat(161));
  await caseForm.submit();
  await expect(caseForm.shortDescription).toHaveAccessibleDescription(/161 characters long; the limit is 160/);

  await alertForm.goto(number);
  await expect(alertForm.caseField).toHaveText('');
  await expect(alertForm.createCaseButton).toBeVisible();
});

test('refreshing an alert bound to no configuration item says there is nothing to trace', async ({
  forestall,
  ingest,
}) => {
  const { alertForm, affected } = forestall;
  const { number } = await ingest.alert({ node: `unbound-host-${uniqueStamp()}`, severity: 'Minor' });
  await alertForm.goto(number);
  await expect(alertForm.field('Configuration item')).toHaveValue('None: no configuration item matched the node');
  await alertForm.refreshButton.click();
  await expect(affected.refusal).toContainText('has no configuration item');
  await expect(affected.neverRefreshed).toBeVisible();
});

test('an unknown alert number answers 404 with a not-found page', async ({ forestall }) => {
  const response = await forestall.page.goto('/alerts/Alert0099999');
  expect(response?.status()).toBe(404);
  await expect(forestall.page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await expect(forestall.page.getByText('Alert Alert0099999 was not found')).toBeVisible();
});

test('All Alerts filters by severity and text, and pages', async ({ forestall, ingest }) => {
  const { allAlerts } = forestall;
  // Two alerts of this test's own, told apart by severity only.
  const stamp = uniqueStamp();
  const node = DEMO_CIS.dbHost;
  const critical = await ingest.alert({ node, severity: 'Critical', description: `Disk full (${stamp})` });
  const minor = await ingest.alert({ node, severity: 'Minor', description: `Disk filling (${stamp})` });

  await allAlerts.goto();
  await allAlerts.filter({ severity: 1, q: stamp });
  await expect(allAlerts.severityFilter).toHaveValue('1');
  await expect(allAlerts.searchBox).toHaveValue(stamp);
  await expect(allAlerts.rows).toHaveCount(1);
  await expect(allAlerts.numberLink(allAlerts.rows)).toHaveText(critical.number);
  await expect(allAlerts.rows).toContainText('Critical');

  // Any severity: both.
  await allAlerts.filter({ severity: null });
  await expect(allAlerts.rows).toHaveCount(2);
  await expect(allAlerts.row(minor.number)).toContainText('Minor');

  // Paging: the second page shows other alerts than the first.
  await allAlerts.goto();
  const first = (await allAlerts.numberLink(allAlerts.rows.first()).textContent())!.trim();
  await allAlerts.nextPageLink.click();
  await expect(allAlerts.pageStatus).toHaveText(/^Page 2 of \d+/);
  await expect(allAlerts.previousPageLink).toBeVisible();
  await expect(allAlerts.rows).not.toHaveCount(0);
  await expect(allAlerts.row(first)).toHaveCount(0);
});
