import { DEMO_CIS, expect, test } from '@forestall/e2e-kit';

// Telling the customers is the agent's (sn_customerservice_agent): the operator opens the major case, the agent
// notifies its three accounts, then the resolution once monitoring resolves the alert.
test.use({ user: 'agent' });

test('an agent tells the major case\'s three accounts, sees each sent and commented, then sends the resolution', async ({
  forestall,
  ingest,
  proactiveCase,
}) => {
  const { casePage, customerImpact } = forestall;
  const alert = await ingest.alert({ node: DEMO_CIS.dbHost, severity: 'Critical' });
  const made = await proactiveCase({ alert: alert.number, workNotes: 'Storage team paged.' });
  const accounts = ['Acme Corporation', 'Forestall IT', 'Globex Industries'];

  await casePage.goto(made.case);
  await expect(customerImpact.rows).toHaveCount(3);
  for (const account of accounts) await expect(customerImpact.status(account)).toHaveText('Not notified');
  await expect(customerImpact.row('Acme Corporation')).toContainText('Bruno Keller <bruno.keller@acme.example>');
  await forestall.page.screenshot({ path: 'test-results/screenshots/customer-impact.png', fullPage: true });

  // The preview: each account's message, before anything is sent.
  const notify = await customerImpact.openNotify();
  await expect(notify.kind('Initial notice')).toHaveAttribute('aria-current', 'page');
  for (const account of accounts) await expect(notify.account(account)).toBeChecked();
  await expect(notify.message('Acme Corporation')).toContainText('Hello Alice Moreau');
  await expect(notify.sendButton).toHaveText('Send initial notice');
  await forestall.page.screenshot({ path: 'test-results/screenshots/notify-customers.png', fullPage: true });
  await notify.send();

  await expect(casePage.heading).toHaveText(made.case);
  await expect(customerImpact.message).toContainText('Initial notice sent to');
  for (const account of accounts) await customerImpact.waitForStatus(account, 'Sent');
  await expect(customerImpact.filter('Not notified')).toBeVisible();

  // Each child case's additional comments hold what its account was sent.
  const child = (await customerImpact.row('Globex Industries').getByRole('link', { name: /^CS\d{7}$/ }).textContent())!;
  await casePage.goto(child);
  await expect(casePage.additionalComments).toContainText('Notice sent to the customer.');
  await expect(casePage.additionalComments).toContainText('affects Globex Industries');

  // Monitoring resolves the alert: the case offers the resolution notice, and it goes out.
  const closed = await ingest.alert({
    node: DEMO_CIS.dbHost,
    message_key: alert.messageKey,
    resolution_state: 'Closing',
  });
  expect(closed.status).toBe('closed');
  await casePage.goto(made.case);
  await expect(customerImpact.region).toContainText('The alert is resolved');
  const resolution = await customerImpact.openNotify();
  await expect(resolution.kind('Resolution notice')).toHaveAttribute('aria-current', 'page');
  await expect(resolution.sendButton).toHaveText('Send resolution notice');
  await resolution.send();
  for (const account of accounts) await customerImpact.waitForStatus(account, 'Sent');
  await expect(customerImpact.row('Acme Corporation')).toContainText('Resolution notice');

  // Sent notices lists both of Globex's notices, each on its child case; a second Send sends nothing twice.
  await forestall.sentNotices.goto();
  await expect(forestall.sentNotices.rows(child)).toHaveCount(2);
  await expect(forestall.sentNotices.rows(child).filter({ hasText: 'Resolution notice' })).toHaveCount(1);
  await resolution.goto(made.case, 'resolution');
  for (const account of accounts) await expect(resolution.account(account)).toBeDisabled();
});
