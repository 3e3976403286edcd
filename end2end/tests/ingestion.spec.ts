import { expect, test } from '@playwright/test';
import { AlertForm } from './pages/alert-form';
import { signedInAs } from './auth';

/** The demo data's API token (README, "Demo data"). For the demo only. */
const DEMO_TOKEN = 'fst_demo_only_not_secret_0000000000000000';

test('an alert posted by Alertmanager appears in All Alerts, and Create Incident with the rule active opens its case', async ({
  browser,
  request,
}) => {
  // Alertmanager's webhook, as it posts it (payload version 4). The summary is this run's own.
  const summary = `Payment API latency above 2 s (${Date.now()})`;
  const posted = await request.post('/ingest/v1/alertmanager', {
    headers: { Authorization: `Bearer ${DEMO_TOKEN}` },
    data: {
      version: '4',
      status: 'firing',
      receiver: 'forestall',
      groupKey: '{}:{alertname="PaymentLatency"}',
      groupLabels: { alertname: 'PaymentLatency' },
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example.net:9093',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'PaymentLatency', instance: 'payments-app.example.net:8080', severity: 'major' },
          annotations: { summary },
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.example.net:9090/graph',
          fingerprint: `e2e${Date.now().toString(16)}`,
        },
      ],
    },
  });
  expect(posted.status()).toBe(200);
  const answer = await posted.json();
  expect(answer.results[0].status).toBe('created');
  const number: string = answer.results[0].alert;

  // The event management admin turns the rule on, on the Alert Rules page.
  const admin = await browser.newContext({ storageState: signedInAs('evt.admin') });
  const adminPage = await admin.newPage();
  await adminPage.goto('/alerts');
  await adminPage.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Alert Rules' }).click();
  await adminPage.locator('html[data-hydrated]').waitFor();
  const rule = adminPage.getByRole('region', { name: 'Create Proactive Case' });
  await rule.getByLabel('Active').check();
  await rule.getByLabel('Minimum severity').selectOption({ label: '2 - Major or more severe' });
  await rule.getByRole('button', { name: 'Save' }).click();
  await expect(rule.getByRole('status')).toHaveText('Rule Create Proactive Case saved: active.');
  await admin.close();

  // The operator finds the alert in All Alerts, bound to its CI by fqdn, and creates an incident.
  const operator = await browser.newContext({ storageState: signedInAs('operator') });
  const page = await operator.newPage();
  const alertForm = new AlertForm(page);
  expect(await alertForm.openFromAllAlerts(summary)).toBe(number);
  await expect(alertForm.field('Source')).toHaveValue('Alertmanager');
  await expect(alertForm.field('Configuration item')).toHaveValue('payments-app (application)');
  await expect(alertForm.field('Incident')).toHaveText('');
  await expect(alertForm.caseField).toHaveText('');

  await page.getByRole('button', { name: 'Create Incident' }).click();
  const status = page
    .getByRole('status')
    .filter({ hasText: /^Incident INC\d{7} created\. The Create Proactive Case rule opened case CS\d{7}\.$/ });
  await expect(status).toBeVisible();
  const [incident, caseNumber] = [/INC\d{7}/, /CS\d{7}/].map((re) => status.textContent().then((t) => t!.match(re)![0]));
  await expect(alertForm.field('Incident')).toHaveText(await incident);
  const caseLink = alertForm.caseField.getByRole('link', { name: await caseNumber });
  await expect(caseLink).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create Incident' })).toHaveCount(0);

  // The case says the rule opened it.
  await caseLink.click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(await caseNumber);
  await expect(page.getByRole('region', { name: 'Work notes' })).toContainText(
    `Created by the alert rule “Create Proactive Case” when incident ${await incident} was created from ${number}.`,
  );
  await operator.close();
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false, storageState: signedInAs('operator') });

  test('Create Incident works as a plain form', async ({ page }) => {
    const alertForm = new AlertForm(page);
    await page.goto('/alerts?q=edge-router-07&page=1');
    await page.getByRole('table', { name: 'All Alerts' }).getByRole('link', { name: /^Alert\d{7}$/ }).first().click();
    await expect(alertForm.field('Incident')).toHaveText('');
    await page.getByRole('button', { name: 'Create Incident' }).click();
    // The form posts, and the server sends the browser back to the alert, which now shows its incident.
    await expect(alertForm.heading).toHaveText(/^Alert\d{7}$/);
    await expect(alertForm.field('Incident')).toHaveText(/^INC\d{7}$/);
    await expect(page.getByRole('button', { name: 'Create Incident' })).toHaveCount(0);
  });
});
