import { DEMO_CIS, expect, test } from '@forestall/e2e-kit';

// The proactive dashboard: its charts are SVG images drawn on the server, named by their titles and described by
// their summaries; each has its table; the period form and the CSV downloads work with and without JavaScript.
test.use({ user: 'operator' });

test('the dashboard draws its charts with text alternatives, tables and CSV downloads', async ({
  forestall,
  ingest,
  proactiveCase,
}) => {
  const { page } = forestall;
  // This week gets an alert with a proactive case, whatever else the suite made.
  const alert = await ingest.alert({ node: DEMO_CIS.mailRelay, severity: 'Major' });
  await proactiveCase({ alert: alert.number });

  await page.goto('/alerts');
  await forestall.waitForHydration();
  await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Proactive dashboard');

  for (const name of ['Alerts by week', 'Time to act, by week', 'Beat the customer, by week']) {
    const image = page.getByRole('img', { name });
    await expect(image).toBeVisible();
    await expect(image).toHaveAccessibleDescription(/^Over (the period|\d+ weeks)/);
    await expect(page.getByRole('table', { name, includeHidden: true })).toBeAttached();
  }
  await expect(page.getByRole('img', { name: 'Alerts by week' })).toHaveAccessibleDescription(
    /got a proactive case/,
  );
  const totals = page.getByRole('region', { name: 'The period at a glance' });
  await expect(totals).toContainText('Alerts raised');
  await page.screenshot({ path: 'test-results/screenshots/dashboard.png', fullPage: true });

  // A table behind its disclosure, read by keyboard.
  const summary = page.getByText('Alerts by week as a table');
  await summary.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('table', { name: 'Alerts by week' })).toBeVisible();

  // The CSV of the weeks shown.
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download alerts by week (CSV)' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^forestall-weeks-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);

  // A period the dashboard refuses says why.
  const period = page.getByRole('form', { name: 'Dashboard period' });
  await period.getByLabel('From').fill('2026-11-20');
  await period.getByLabel('To').fill('2026-11-01');
  await period.getByRole('button', { name: 'Show' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'The start is after the end' })).toBeVisible();
});
