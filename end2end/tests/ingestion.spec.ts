import { DEMO_CIS, expect, submitForm, test, uniqueStamp, type Forestall } from '@forestall/e2e-kit';

/** How the Create Proactive Case rule is set on the Alert Rules page. */
interface RuleSetting {
  active: boolean;
  /** The `Minimum severity` option's label, `2 - Major or more severe`. */
  minSeverity: string;
}

/**
 * The Create Proactive Case rule on the Alert Rules page: read it, set it (and check it was saved by reading the
 * page again, which works the same with or without JavaScript).
 */
class ProactiveCaseRule {
  constructor(private readonly app: Forestall) {}

  private get region() {
    return this.app.page.getByRole('region', { name: 'Create Proactive Case' });
  }

  async open(): Promise<void> {
    await this.app.page.goto('/alerts');
    const nav = this.app.page.getByRole('navigation', { name: 'Workspace' });
    await nav.getByRole('link', { name: 'Alert Rules' }).click();
    await this.app.waitForHydration();
    await expect(this.region).toBeVisible();
  }

  async read(): Promise<RuleSetting> {
    const active = await this.region.getByLabel('Active').isChecked();
    const chosen = this.region.getByLabel('Minimum severity').getByRole('option', { selected: true });
    return { active, minSeverity: (await chosen.textContent())!.trim() };
  }

  async set(setting: RuleSetting): Promise<void> {
    await this.region.getByLabel('Active').setChecked(setting.active);
    await this.region.getByLabel('Minimum severity').selectOption({ label: setting.minSeverity });
    await submitForm(this.app.page, this.region.getByRole('button', { name: 'Save' }), this.app.mode);
    if (this.app.javaScript) {
      const state = setting.active ? 'active' : 'inactive';
      await expect(this.region.getByRole('status')).toHaveText(`Rule Create Proactive Case saved: ${state}.`);
    }
    await this.app.page.reload();
    await expect(this.region.getByLabel('Active')).toBeChecked({ checked: setting.active });
    await expect(this.region).toContainText(/Last changed by evt\.admin at /);
  }
}

test('an alert posted by Alertmanager appears in All Alerts, and Create Incident with the rule active opens its case', async ({
  ingest,
  openAs,
  javaScriptEnabled,
}) => {
  // Alertmanager's webhook, as it posts it (payload version 4). The summary and fingerprint are this test's own.
  const stamp = uniqueStamp();
  const summary = `Payment API latency above 2 s (${stamp})`;
  const answer = await ingest.alertmanager({
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
        fingerprint: `e2e-${stamp}`,
      },
    ],
  });
  expect(answer.results[0].status).toBe('created');
  const number = answer.results[0].alert!;

  // The event management admin turns the rule on, on the Alert Rules page; the test puts it back as it was after.
  const admin = await openAs('evt.admin');
  const rule = new ProactiveCaseRule(admin);
  await rule.open();
  const before = await rule.read();
  await rule.set({ active: true, minSeverity: '2 - Major or more severe' });
  try {
    // The operator finds the alert in All Alerts, bound to its CI by fqdn, and creates an incident.
    const { allAlerts, alertForm, casePage } = await openAs('operator');
    await allAlerts.goto();
    expect(await allAlerts.openAlert(summary)).toBe(number);
    await expect(alertForm.field('Source')).toHaveValue('Alertmanager');
    await expect(alertForm.field('Configuration item')).toHaveValue(`${DEMO_CIS.paymentsApp} (application)`);
    await expect(alertForm.incidentField).toHaveText('');
    await expect(alertForm.caseField).toHaveText('');

    const incident = await alertForm.createIncident();
    const caseNumber = await alertForm.waitForCase();
    if (javaScriptEnabled) {
      // The in-place answer says what the rule did; after a plain post the fields say it.
      const said = `Incident ${incident} created. The Create Proactive Case rule opened case ${caseNumber}.`;
      await expect(alertForm.status(said)).toBeVisible();
    }
    await expect(alertForm.createIncidentButton).toHaveCount(0);
    await expect(alertForm.createCaseButton).toHaveCount(0);

    // The case says the rule opened it.
    await alertForm.caseLink(caseNumber).click();
    await expect(casePage.heading).toHaveText(caseNumber);
    await expect(casePage.workNotes).toContainText(
      `Created by the alert rule “Create Proactive Case” when incident ${incident} was created from ${number}.`,
    );
    await expect(casePage.field('Opened by')).toHaveText('Alert rule: Create Proactive Case');
  } finally {
    await rule.set(before);
  }
});

test.describe('the operator', () => {
  test.use({ user: 'operator' });

  test('Create Incident fills the Incident field, once', async ({ forestall, ingest }) => {
    const { alertForm } = forestall;
    // On a CI nothing depends on: whether the rule is active or not, no case comes of it.
    const { number } = await ingest.alert({ node: DEMO_CIS.edgeRouter, severity: 'Minor' });
    await alertForm.goto(number);
    await expect(alertForm.incidentField).toHaveText('');
    const incident = await alertForm.createIncident();
    await expect(alertForm.createIncidentButton).toHaveCount(0);

    // It is stored: a fresh load shows the same incident, and still no case.
    await alertForm.goto(number);
    await expect(alertForm.incidentField).toHaveText(incident);
    await expect(alertForm.createIncidentButton).toHaveCount(0);
    await expect(alertForm.caseField).toHaveText('');
  });
});
