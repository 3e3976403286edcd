import { DEMO_CIS, expect, needsJavaScript, test, uniqueStamp } from '@forestall/e2e-kit';
import type { Page } from '@playwright/test';

// Live updates are the hydrated islands' (a page without JavaScript is complete but does not follow changes: the
// other tests check it in the no-js project). Each test raises alerts of its own through the ingestion API.

/** Marks the page so a later check can tell it was not reloaded. */
async function markNoReload(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
}

async function notReloaded(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true);
}

test.describe('live updates', needsJavaScript('open pages follow changes through a script-driven EventSource'), () => {
  test('operator B sees operator A refresh the affected items and create the case, without a reload', async ({
    openAs,
    ingest,
  }) => {
    const description = `Mail queue growing (${uniqueStamp()})`;
    const { number } = await ingest.alert({ node: DEMO_CIS.mailRelay, description });
    const a = await openAs('operator');
    const b = await openAs('evt.admin');
    await a.alertForm.goto(number);
    await b.alertForm.goto(number);
    await markNoReload(b.page);
    await expect(b.affected.rows).toHaveCount(0);

    // A refreshes: B's Affected Install Base Items follow.
    await a.alertForm.refreshInstallBase();
    const refreshed = Date.now();
    await expect(b.affected.rows).toHaveCount(3);
    const refreshSeen = Date.now() - refreshed;

    // A creates the case: B's Case field holds its number as a link, and Create Case gives way to it.
    await a.alertForm.openCaseForm();
    await a.caseForm.submit();
    const status = a.alertForm.status(/^Case CS\d{7} created$/);
    await expect(status).toBeVisible();
    const created = Date.now();
    const caseNumber = (await status.textContent())!.match(/CS\d{7}/)![0];
    await expect(b.alertForm.caseLink(caseNumber)).toBeVisible();
    const caseSeen = Date.now() - created;
    await expect(b.alertForm.createCaseButton).toHaveCount(0);
    await expect(b.alertForm.moreActionsButton).toHaveCount(0);
    await expect(a.alertForm.createCaseButton).toHaveCount(0);
    await expect(b.page.getByRole('region', { name: 'Activity' })).toContainText(caseNumber);
    expect(await notReloaded(b.page)).toBe(true);
    test.info().annotations.push({ type: 'latency', description: `refresh ${refreshSeen} ms, case ${caseSeen} ms` });
    console.log(`live: B saw the refresh ${refreshSeen} ms and the case ${caseSeen} ms after A's answer`);
  });

  test('an alert posted to the ingestion API is announced on an open All Alerts, and a changed row updates in place', async ({
    openAs,
    ingest,
  }) => {
    const { page, allAlerts } = await openAs('operator');
    await allAlerts.goto();
    await markNoReload(page);

    const description = `Queue above 900 (${uniqueStamp()})`;
    const posted = await ingest.alert({ node: DEMO_CIS.mailRelay, severity: 'Major', description });
    await expect(allAlerts.newAlerts).toHaveText('1 new alert');
    // Nothing moved under the pointer: the new alert is announced, not inserted.
    await expect(allAlerts.row(description)).toHaveCount(0);
    expect(await notReloaded(page)).toBe(true);

    // Show opens the first page, where it is.
    const loaded = page.waitForEvent('load');
    await allAlerts.showButton.click();
    await loaded;
    await allAlerts.waitForHydration();
    const row = allAlerts.row(description);
    await expect(row).toBeVisible();
    await expect(allAlerts.numberLink(row)).toHaveText(posted.number);
    await expect(row).toContainText('Major');

    // The same problem gets less severe: the row says so where it stands.
    await markNoReload(page);
    const again = await ingest.alert({
      node: DEMO_CIS.mailRelay,
      message_key: posted.messageKey,
      severity: 'Minor',
      description,
    });
    expect(again).toMatchObject({ number: posted.number, status: 'updated' });
    await expect(row).toContainText('Minor');
    expect(await notReloaded(page)).toBe(true);
  });

  test('a work note, a state and an assignment made by one agent appear on another agent’s open case page', async ({
    openAs,
    proactiveCase,
  }) => {
    const made = await proactiveCase({ shortDescription: 'Relay refusing mail' });
    const first = await openAs('agent');
    const second = await openAs('agent');
    await first.casePage.goto(made.case);
    await second.casePage.goto(made.case);
    await markNoReload(second.page);

    const note = `Called Umbrella's on-call (${uniqueStamp()}).`;
    await first.casePage.postWorkNote(note);
    await expect(second.casePage.workNotes).toContainText(note);

    // The state too.
    await first.casePage.moveTo('Open');
    await expect(first.casePage.status('Case updated: Open.')).toBeVisible();
    await expect(second.casePage.state).toHaveText('Open');

    // And the assignment: once the agent takes the case, every open page shows who has it and offers it no more.
    await expect(second.casePage.assignedTo).toHaveText('Unassigned');
    await first.casePage.assignToMe('agent');
    await expect(first.casePage.status('Case assigned to agent.')).toBeVisible();
    await expect(second.casePage.assignedTo).toHaveText('agent');
    await expect(second.casePage.assignToMeButton).toHaveCount(0);
    expect(await notReloaded(second.page)).toBe(true);
  });

  test('a page whose stream is cut reconnects by itself and catches up with what it missed', async ({
    openAs,
    ingest,
    proactiveCase,
  }) => {
    test.setTimeout(90_000);
    const description = `Relay flapping (${uniqueStamp()})`;
    const { number } = await ingest.alert({ node: DEMO_CIS.mailRelay, description });
    const { page, alertForm, affected } = await openAs('operator');
    const streams: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/live') streams.push(r.url());
    });
    // The stream is cut (the test server ends every stream after a few seconds, as a restart or a proxy would) and,
    // for a while, cannot be reopened.
    let blocked = false;
    await page.route('**/live?**', (route) => (blocked ? route.abort('connectionrefused') : route.continue()));
    await alertForm.goto(number);
    await markNoReload(page);
    await expect.poll(() => streams.length).toBe(1);
    blocked = true;
    // Wait until the page has tried to reconnect and been refused: from now on it is missing changes.
    await expect.poll(() => streams.length, { timeout: 20_000 }).toBeGreaterThan(1);

    // Meanwhile another operator refreshes the alert and creates its case.
    const made = await proactiveCase({ alert: number, as: 'evt.admin', shortDescription: 'Relay flapping' });
    await expect(alertForm.caseField).toHaveText('');

    // The network comes back: the page reconnects with backoff and shows what it missed.
    blocked = false;
    await expect(alertForm.caseLink(made.case)).toBeVisible({ timeout: 40_000 });
    await expect(affected.rows).toHaveCount(3);
    expect(await notReloaded(page)).toBe(true);
  });
});
