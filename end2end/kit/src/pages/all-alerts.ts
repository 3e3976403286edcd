import { expect, type Locator } from '@playwright/test';
import { ALERT_NUMBER } from './numbers';
import { PageObject } from './page-object';

/** The query All Alerts is opened with; each part is one of its filters. */
export interface AlertsQuery {
  /** An alert state: `Open`, `Reopen`, `Flapping`, `Closed`. */
  state?: string;
  /** A severity code: 1 Critical ... 5 Info, 0 Clear. */
  severity?: number;
  /** Free text, matched against the number, node, CI and description. */
  q?: string;
  page?: number;
}

/** What the filter form is set to; `null` chooses `Any`. */
export interface AlertFilters {
  state?: string | null;
  severity?: number | null;
  q?: string;
}

/**
 * All Alerts (UI contract: the `All Alerts` link and table, alert numbers as links to the alert form, the filters,
 * the pager, and the polite status announcing new alerts with its `Show` button).
 */
export class AllAlertsPage extends PageObject {
  get table(): Locator {
    return this.page.getByRole('table', { name: 'All Alerts' });
  }

  /** The data rows (the header row left out: each data row starts with its number as a row header). */
  get rows(): Locator {
    return this.table.getByRole('row').filter({ has: this.page.getByRole('rowheader') });
  }

  /** The rows that mention `text` (a description, a node, a number). */
  row(text: string | RegExp): Locator {
    return this.rows.filter({ hasText: text });
  }

  /** The link to the alert form in a row. */
  numberLink(row: Locator): Locator {
    return row.getByRole('link', { name: ALERT_NUMBER });
  }

  get stateFilter(): Locator {
    return this.page.getByRole('combobox', { name: 'State', exact: true });
  }

  get severityFilter(): Locator {
    return this.page.getByRole('combobox', { name: 'Severity', exact: true });
  }

  get searchBox(): Locator {
    return this.page.getByRole('searchbox', { name: 'Search', exact: true });
  }

  get applyFiltersButton(): Locator {
    return this.page.getByRole('button', { name: 'Apply filters' });
  }

  get nextPageLink(): Locator {
    return this.page.getByRole('link', { name: 'Next page' });
  }

  get previousPageLink(): Locator {
    return this.page.getByRole('link', { name: 'Previous page' });
  }

  /** The pager's `Page N of M · T alerts`. */
  get pageStatus(): Locator {
    return this.page.getByText(/^Page \d+ of \d+/);
  }

  /** The live announcement of alerts raised since the page was drawn: `1 new alert`, `2 new alerts`. */
  get newAlerts(): Locator {
    return this.status(/^\d+ new alerts?$/);
  }

  get showButton(): Locator {
    return this.page.getByRole('button', { name: 'Show' });
  }

  /** Opens All Alerts, filtered by `query` when given. */
  async goto(query: AlertsQuery = {}): Promise<void> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) search.set(key, String(value));
    }
    const qs = search.toString();
    await this.open(qs ? `/alerts?${qs}` : '/alerts');
  }

  /** Opens All Alerts the way a user does: the `All Alerts` link of the `Workspace` navigation. */
  async gotoFromNavigation(): Promise<void> {
    const link = this.page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'All Alerts' });
    await this.followTo(link);
    await expect(this.table).toBeVisible();
  }

  /** Sets the filters given (others left as they are; `null` is `Any`) and presses `Apply filters`. */
  async filter(filters: AlertFilters): Promise<void> {
    if (filters.state !== undefined) await this.stateFilter.selectOption(filters.state ?? '');
    if (filters.severity !== undefined) await this.severityFilter.selectOption(String(filters.severity ?? ''));
    if (filters.q !== undefined) await this.searchBox.fill(filters.q);
    await this.followTo(this.applyFiltersButton);
  }

  /** Opens the alert of the row that mentions `text` and answers its number, once its form is there. */
  async openAlert(text: string | RegExp): Promise<string> {
    const link = this.numberLink(this.row(text));
    const number = (await link.textContent())?.trim() ?? '';
    await this.followTo(link);
    await expect(this.heading).toHaveText(number);
    return number;
  }
}
