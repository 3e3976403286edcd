import type { Locator } from '@playwright/test';
import { PageObject } from './page-object';

/**
 * The alert form's `Affected Install Base Items` region (UI contract: a table with Number, Name, Account, Contact,
 * Product, Configuration item and Reason; the time of the last refresh; the `items pages` pager).
 */
export class AffectedList extends PageObject {
  get region(): Locator {
    return this.page.getByRole('region', { name: 'Affected Install Base Items' });
  }

  get table(): Locator {
    return this.region.getByRole('table');
  }

  /** The items (the header row left out). */
  get rows(): Locator {
    return this.table.getByRole('row').filter({ has: this.page.getByRole('rowheader') });
  }

  /** The items whose row mentions `text` (an item's name, number or account). */
  row(text: string | RegExp): Locator {
    return this.rows.filter({ hasText: text });
  }

  /** `Last refreshed … UTC · N items of M accounts`, once the alert has a snapshot. */
  get lastRefreshed(): Locator {
    return this.region.getByText(/^Last refreshed /);
  }

  /** Said until the first refresh. */
  get neverRefreshed(): Locator {
    return this.region.getByText(/^Never refreshed/);
  }

  /** Why the last refresh was refused (`role="alert"` in the region). */
  get refusal(): Locator {
    return this.region.getByRole('alert');
  }

  /** The pager of a snapshot too big for one page. */
  get pager(): Locator {
    return this.region.getByRole('navigation', { name: 'items pages' });
  }
}
