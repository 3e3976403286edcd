import { CASE_NUMBER, DEMO_CIS, expect, test } from '@forestall/e2e-kit';

// A customer of the major case calls before the notice reaches them: the agent records the call as a reactive case
// related to the major case, from the account's Customer impact row. Works with and without JavaScript (a plain form).
test.use({ user: 'agent' });

test('an agent records a customer\'s call as a reactive case on the major case\'s Customer impact row', async ({
  forestall,
  ingest,
  proactiveCase,
}) => {
  const { casePage, customerImpact, reactiveCase, page } = forestall;
  const alert = await ingest.alert({ node: DEMO_CIS.dbHost, severity: 'Critical' });
  const made = await proactiveCase({ alert: alert.number });

  await casePage.goto(made.case);
  await expect(customerImpact.reactiveCases('Globex Industries')).toContainText('None');
  await forestall.page.getByRole('link', { name: 'Record a reactive case for Globex Industries' }).click();
  await expect(reactiveCase.heading).toHaveText('Record a reactive case');
  await expect(reactiveCase.account).toHaveValue(/\d+/);
  await expect(reactiveCase.related).toHaveValue(made.case);

  // Refused without a channel: the message at the group, what was typed kept, nothing recorded.
  await reactiveCase.record({ shortDescription: 'Ledger exports fail since 09:00' });
  await expect(page.getByRole('alert').filter({ hasText: 'Choose how the customer raised it' })).toBeVisible();
  await expect(reactiveCase.shortDescription).toHaveValue('Ledger exports fail since 09:00');
  await expect(reactiveCase.related).toHaveValue(made.case);
  await page.screenshot({ path: 'test-results/screenshots/reactive-case-refused.png', fullPage: true });

  await reactiveCase.record({ channel: 'Phone' });
  await expect(casePage.heading).toHaveText(CASE_NUMBER);
  const number = (await casePage.heading.textContent())!;
  await expect(page.getByText('Reactive case', { exact: false }).first()).toBeVisible();
  await expect(page.getByRole('link', { name: made.case })).toBeVisible();

  await casePage.goto(made.case);
  await expect(customerImpact.reactiveCases('Globex Industries').getByRole('link', { name: number })).toBeVisible();
  await expect(customerImpact.reactiveCases('Acme Corporation')).toContainText('None');
});

test('Cases offers Record a reactive case to agents, and the form finds an account by name', async ({ forestall }) => {
  const { page, reactiveCase } = forestall;
  await page.goto('/cases');
  await forestall.waitForHydration();
  await page.getByRole('link', { name: 'Record a reactive case' }).click();
  await expect(reactiveCase.heading).toHaveText('Record a reactive case');
  const search = page.getByRole('form', { name: 'Find an account' });
  await search.getByRole('searchbox', { name: 'Account name' }).fill('Init');
  await search.getByRole('button', { name: 'Find accounts' }).click();
  await expect(reactiveCase.account.getByRole('option')).toHaveText(['Choose the account', 'Initech']);
});
