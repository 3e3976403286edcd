import { expect, test } from '@playwright/test';
import { AffectedList } from './pages/affected-list';
import { AlertForm } from './pages/alert-form';
import { CaseForm } from './pages/case-form';
import { signedInAs } from './auth';

// Each test works on its own demo alert: the suite runs once against a freshly seeded database. The seed flow is
// the operator's (evt_mgmt_operator): refresh install base items and create proactive cases.
test.use({ storageState: signedInAs('operator') });

test('an operator walks the seed flow: refresh, create case, and the Case field fills without a reload', async ({
  page,
}) => {
  const alertForm = new AlertForm(page);
  const affected = new AffectedList(page);
  const caseForm = new CaseForm(page);

  // Steps 1-2: All Alerts, then the alert.
  const number = await alertForm.openFromAllAlerts('SMTP queue growing');
  await expect(alertForm.field('Number')).toHaveValue(number);
  await expect(alertForm.field('Node')).toHaveValue('mail-relay-01');
  await expect(alertForm.field('Severity')).toHaveValue('2 - Major');
  await expect(alertForm.caseField).toHaveText('');
  await expect(affected.region.getByText(/^Never refreshed/)).toBeVisible();

  // Step 3: trace the install base.
  await alertForm.refreshInstallBase();
  await expect(affected.rows).toHaveCount(3);
  await expect(affected.row('Umbrella archive')).toContainText('Child of IB');
  await expect(affected.row('Umbrella mail filtering')).toContainText('Via mail-relay-01 → mailrelay (1 hop)');
  await expect(affected.lastRefreshed).toBeVisible();

  // Step 4: the case form, prefilled.
  await alertForm.createCase();
  // A marker that a full page load would wipe out: Submit must not reload the page.
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
  await expect(caseForm.shortDescription).toHaveValue('SMTP queue growing on mail-relay-01');
  await expect(caseForm.priority).toHaveValue('2');
  await expect(caseForm.account).toHaveValue('Umbrella Health');
  await expect(caseForm.contact.locator('option:checked')).toHaveText('Uma Lindqvist');

  // Steps 5-6: work notes, Submit.
  await caseForm.workNotes.fill('Queue backing up; telling Umbrella before their users notice.');
  await caseForm.submit();

  const status = page.getByRole('status').filter({ hasText: /^Case CS\d{7} created$/ });
  await expect(status).toBeVisible();
  const caseNumber = (await status.textContent())!.match(/CS\d{7}/)![0];
  const caseLink = alertForm.caseField.getByRole('link', { name: caseNumber });
  await expect(caseLink).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  await page.screenshot({ path: 'test-results/screenshots/alert-form-after-submit.png', fullPage: true });

  // The case page: number as heading, the work note in its journal.
  await caseLink.click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(caseNumber);
  const journal = page.getByRole('region', { name: 'Work notes' });
  await expect(journal).toContainText('Queue backing up; telling Umbrella before their users notice.');
  await expect(page.getByRole('link', { name: number })).toBeVisible();
});

test('several affected accounts make a major case with a child case per account', async ({ page }) => {
  const alertForm = new AlertForm(page);
  const affected = new AffectedList(page);
  const caseForm = new CaseForm(page);

  await alertForm.openFromAllAlerts('db-host-01');
  await alertForm.refreshInstallBase();
  await expect(affected.rows).toHaveCount(6);
  await expect(affected.row('Globex payments portal')).toContainText(
    'Via db-host-01 → ledger-db → payments-app → payments-service (3 hops)',
  );
  await expect(affected.row('Initech')).toHaveCount(0);
  await page.screenshot({ path: 'test-results/screenshots/alert-form-affected.png', fullPage: true });

  // Create Case from the More actions menu, by keyboard.
  await alertForm.moreActions.focus();
  await page.keyboard.press('Enter');
  const item = page.getByRole('menuitem', { name: 'Create Case' });
  await expect(item).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(caseForm.form).toBeVisible();
  await alertForm.hydrated();
  await expect(caseForm.account).toHaveValue('3 accounts (major case)');
  await expect(caseForm.priority).toHaveValue('1');
  await caseForm.workNotes.fill('Storage team paged.');
  await caseForm.submit();

  const status = page.getByRole('status').filter({ hasText: /^Case CS\d{7} created, with child cases / });
  await expect(status).toBeVisible();
  await alertForm.caseField.getByRole('link').click();
  await expect(page.getByRole('table', { name: 'Child cases' }).getByRole('row')).toHaveCount(4);
});

test('Submit without a short description marks the field invalid and creates no case', async ({ page }) => {
  const alertForm = new AlertForm(page);
  const caseForm = new CaseForm(page);

  await alertForm.openFromAllAlerts('Interface ge-0/0/1');
  await alertForm.createCase();
  await caseForm.shortDescription.fill('');
  await caseForm.submit();

  await expect(caseForm.shortDescription).toHaveAttribute('aria-invalid', 'true');
  await expect(caseForm.shortDescription).toHaveAccessibleDescription('Enter a short description.');
  await expect(caseForm.shortDescription).toBeFocused();
  await expect(alertForm.caseField).toHaveText('');

  // Over the limit: refused with a message, still no case.
  await caseForm.shortDescription.fill('x'.repeat(161));
  await caseForm.submit();
  await expect(caseForm.shortDescription).toHaveAccessibleDescription(/161 characters long; the limit is 160/);

  await page.reload();
  await expect(alertForm.caseField).toHaveText('');
});

test('refreshing an alert without a configuration item says so', async ({ page }) => {
  const alertForm = new AlertForm(page);
  const affected = new AffectedList(page);
  await alertForm.openFromAllAlerts('unknown-host-99');
  await alertForm.refreshButton.click();
  await expect(affected.region.getByRole('alert')).toContainText('has no configuration item');
});

test('an unknown alert number answers 404 with a not-found page', async ({ page }) => {
  const response = await page.goto('/alerts/Alert0099999');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await expect(page.getByText('Alert Alert0099999 was not found')).toBeVisible();
});

test('All Alerts filters by severity and pages', async ({ page }) => {
  const alertForm = new AlertForm(page);
  await page.goto('/alerts');
  await alertForm.hydrated();
  await page.getByLabel('Severity').selectOption({ label: '1 - Critical' });
  await page.getByRole('button', { name: 'Apply filters' }).click();
  const table = page.getByRole('table', { name: 'All Alerts' });
  await expect(table.getByRole('row')).toHaveCount(2);
  await expect(table).toContainText('db-host-01');

  await page.goto('/alerts');
  await page.getByRole('link', { name: 'Next page' }).click();
  await expect(page.getByText(/^Page 2 of 2/)).toBeVisible();
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the alert form renders with its fields, actions and affected items', async ({ page }) => {
    const alertForm = new AlertForm(page);
    const affected = new AffectedList(page);
    await page.goto('/alerts?q=edge-router-07&page=1');
    await page.getByRole('table', { name: 'All Alerts' }).getByRole('link', { name: /^Alert\d{7}$/ }).first().click();
    await expect(alertForm.heading).toHaveText(/^Alert\d{7}$/);
    await expect(alertForm.field('Node')).toHaveValue('edge-router-07');
    await expect(alertForm.field('Configuration item')).toHaveValue('edge-router-07 (network)');
    await expect(alertForm.refreshButton).toBeVisible();
    await expect(alertForm.createCaseButton).toBeVisible();
    await expect(affected.region).toBeVisible();
    await expect(affected.table.getByRole('columnheader')).toHaveText([
      'Number',
      'Name',
      'Account',
      'Contact',
      'Product',
      'Configuration item',
      'Reason',
    ]);
  });
});
