import { expect, type Locator, type Page } from '@playwright/test';

/** All Alerts and the alert form, by role and accessible name only (DESIGN.md's UI contract). */
export class AlertForm {
  constructor(readonly page: Page) {}

  /** Waits until the page's islands are hydrated: from then on every control is live. */
  async hydrated(): Promise<void> {
    await this.page.locator('html[data-hydrated]').waitFor();
  }

  /** Seed step 1-2: All Alerts, then the alert whose row mentions `rowText`. Returns the alert number. */
  async openFromAllAlerts(rowText: string): Promise<string> {
    await this.page.goto('/');
    await this.hydrated();
    await this.page.getByRole('link', { name: 'All Alerts' }).click();
    const table = this.page.getByRole('table', { name: 'All Alerts' });
    const row = table.getByRole('row').filter({ hasText: rowText });
    const link = row.getByRole('link', { name: /^Alert\d{7}$/ });
    const number = (await link.textContent())!.trim();
    await link.click();
    await expect(this.heading).toHaveText(number);
    await this.hydrated();
    return number;
  }

  async goto(number: string): Promise<void> {
    await this.page.goto(`/alerts/${number}`);
  }

  get heading(): Locator {
    return this.page.getByRole('heading', { level: 1 });
  }

  field(label: string): Locator {
    return this.page.getByLabel(label, { exact: true });
  }

  get caseField(): Locator {
    return this.field('Case');
  }

  get refreshButton(): Locator {
    return this.page.getByRole('button', { name: 'Refresh Install Base Items' });
  }

  get createCaseButton(): Locator {
    return this.page.getByRole('button', { name: 'Create Case' });
  }

  get moreActions(): Locator {
    return this.page.getByRole('button', { name: 'More actions' });
  }

  /** Seed step 3. */
  async refreshInstallBase(): Promise<void> {
    await this.refreshButton.click();
    await expect(this.page.getByRole('status').filter({ hasText: /^Refreshed: / })).toBeVisible();
  }

  /** Seed step 4. */
  async createCase(): Promise<void> {
    await this.createCaseButton.click();
    await expect(this.page.getByRole('heading', { name: 'New proactive case' })).toBeVisible();
    await this.hydrated();
  }
}
