// An outside suite's spec, as the kit's README shows it: copy it into a suite that has `@forestall/e2e-kit`
// installed and a config with `baseURL` pointing at a Forestall demo server (see the README's config).
import { DEMO_CIS, expect, needsJavaScript, test } from '@forestall/e2e-kit';

// The test's own page starts signed in as the demo operator.
test.use({ user: 'operator' });

test('a proactive case for an alert from monitoring lands in its Case field', async ({ forestall, ingest }) => {
  // A fresh alert of this test's own, on the demo mail relay (one customer account, three items).
  const alert = await ingest.alert({ node: DEMO_CIS.mailRelay, severity: 'Major' });

  const { allAlerts, alertForm, affected, caseForm, casePage } = forestall;
  await allAlerts.goto();
  await allAlerts.openAlert(alert.description);
  await alertForm.refreshInstallBase();
  await expect(affected.rows).toHaveCount(3);

  await alertForm.openCaseForm();
  await expect(caseForm.account).toHaveValue('Umbrella Health');
  const caseNumber = await caseForm.create({ workNotes: 'Told Umbrella before they noticed.' });
  expect(await forestall.readCaseField()).toBe(caseNumber);

  await casePage.goto(caseNumber);
  await expect(casePage.heading).toHaveText(caseNumber);
  await expect(casePage.workNotes).toContainText('Told Umbrella before they noticed.');
});

test(
  'a second user sees the case appear without reloading',
  needsJavaScript('live updates reach only hydrated pages'),
  async ({ forestall, openAs, ingest }) => {
    const alert = await ingest.alert({ node: DEMO_CIS.mailRelay });

    // The event management admin watches the alert in a browser of their own.
    const watcher = await openAs('evt.admin');
    await watcher.alertForm.goto(alert.number);
    await expect(watcher.alertForm.caseField).toHaveText('');

    // The operator refreshes it and creates its case.
    const { alertForm } = forestall;
    await alertForm.goto(alert.number);
    await alertForm.refreshInstallBase();
    const caseNumber = await (await alertForm.openCaseForm()).create();

    await expect(watcher.alertForm.caseLink(caseNumber)).toBeVisible();
  },
);
