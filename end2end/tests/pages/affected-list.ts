import type { Locator, Page } from '@playwright/test';

/** The Affected Install Base Items region of the alert form. */
export class AffectedList {
  readonly region: Locator;

  constructor(page: Page) {
    this.region = page.getByRole('region', { name: 'Affected Install Base Items' });
  }

  get table(): Locator {
    return this.region.getByRole('table');
  }

  /** Data rows (the header row excluded). */
  get rows(): Locator {
    return this.table.getByRole('row').filter({ has: this.region.page().getByRole('rowheader') });
  }

  row(name: string): Locator {
    return this.rows.filter({ hasText: name });
  }

  get lastRefreshed(): Locator {
    return this.region.getByText(/^Last refreshed /);
  }
}
