import { expect, type Locator } from '@playwright/test';
import { PageObject, exactly } from './page-object';

/** A row's status in `Customer impact`, as the UI contract names them (`Queued` while in the outbox). */
export type ImpactStatus = 'Not notified' | 'Queued' | 'Sent' | 'Failed' | 'No longer affected';

/**
 * A proactive case's region `Customer impact` (UI contract 0.9.0): a table of the same name with a row per
 * account (Account, Affected items, Notice goes to, Case, Status, Last notice, Next update due), the filters
 * `All accounts`, `Not notified` and `Update overdue`, the button `Notify customers` and the link `Sent notices`.
 */
export class CustomerImpact extends PageObject {
  get region(): Locator {
    return this.page.getByRole('region', { name: 'Customer impact' });
  }

  get table(): Locator {
    return this.region.getByRole('table', { name: 'Customer impact' });
  }

  /** The rows of accounts (the header row aside). */
  get rows(): Locator {
    return this.table.locator('tbody').getByRole('row');
  }

  /** The row of `account`, whose first cell is the account's name. */
  row(account: string): Locator {
    return this.rows.filter({ has: this.page.getByRole('rowheader', { name: exactly(account) }) });
  }

  /** The `Reactive cases` cell of `account`'s row: links to the cases the account raised about this one. */
  reactiveCases(account: string): Locator {
    return this.row(account).getByRole('cell').nth(6);
  }

  /** The link that opens `Record a reactive case` for `account`, related to this case. */
  recordReactiveCase(account: string): Locator {
    return this.row(account).getByRole('link', { name: `Record a reactive case for ${account}` });
  }

  /** The status cell of `account`'s row. */
  status(account: string): Locator {
    return this.row(account).getByRole('cell').nth(3);
  }

  /** What the last Send said (a polite status in the region). */
  get message(): Locator {
    return this.region.getByRole('status');
  }

  filter(name: 'All accounts' | 'Not notified' | 'Update overdue'): Locator {
    return this.region.getByRole('navigation', { name: 'Filter the accounts' }).getByRole('link', { name });
  }

  get notifyCustomersButton(): Locator {
    return this.region.getByRole('button', { name: 'Notify customers' });
  }

  get sentNoticesLink(): Locator {
    return this.region.getByRole('link', { name: 'Sent notices' });
  }

  /** Presses `Notify customers` and waits for its preview. */
  async openNotify(): Promise<NotifyPage> {
    await this.followTo(this.notifyCustomersButton);
    const notify = new NotifyPage(this.page, this.mode);
    await expect(notify.heading).toHaveText('Notify customers');
    return notify;
  }

  /** Reloads the case page until `account`'s row says `status` (delivery happens beside the page). */
  async waitForStatus(account: string, status: ImpactStatus, timeoutMs = 15_000): Promise<void> {
    await expect(async () => {
      await this.page.reload();
      await expect(this.status(account)).toHaveText(status, { timeout: 1_000 });
    }).toPass({ timeout: timeoutMs });
  }
}

/**
 * Notify customers (`/cases/CS…/notify`): the kinds `Initial notice`, `Update`, `Resolution notice` as links, a
 * checkbox per account (named by the account) with the message it gets (`Message to ACCOUNT`), and a button that
 * begins with `Send`.
 */
export class NotifyPage extends PageObject {
  async goto(caseNumber: string, kind?: 'initial' | 'update' | 'resolution'): Promise<void> {
    await this.open(`/cases/${caseNumber}/notify${kind ? `?kind=${kind}` : ''}`);
  }

  kind(name: 'Initial notice' | 'Update' | 'Resolution notice'): Locator {
    return this.page.getByRole('navigation', { name: 'Kind of notice' }).getByRole('link', { name });
  }

  account(name: string): Locator {
    return this.page.getByRole('checkbox', { name: exactly(name) });
  }

  /** The body of the message `account` would get. */
  message(account: string): Locator {
    return this.page.getByLabel(`Message to ${account}`, { exact: true });
  }

  get sendButton(): Locator {
    return this.page.getByRole('button', { name: /^Send/ });
  }

  /** Why nothing could be sent (`role="alert"`), when something was refused. */
  get refusal(): Locator {
    return this.page.getByRole('alert').filter({ hasText: /./ });
  }

  /** Presses the Send button; the page goes back to the case. */
  async send(): Promise<void> {
    await this.followTo(this.sendButton);
  }
}

/** `Sent notices` (`/notices`): the table `Sent notices`, newest first, with a `Retry` for each failed notice. */
export class SentNoticesPage extends PageObject {
  async goto(): Promise<void> {
    await this.open('/notices');
  }

  get table(): Locator {
    return this.page.getByRole('table', { name: 'Sent notices' });
  }

  /** The rows of notices to `account` on case `caseNumber` (its child case). */
  rows(text: string | RegExp): Locator {
    return this.table.locator('tbody').getByRole('row').filter({ hasText: text });
  }
}
