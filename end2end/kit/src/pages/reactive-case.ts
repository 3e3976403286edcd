import type { Locator } from '@playwright/test';
import { PageObject } from './page-object';

/** How a customer raised a reactive case, as the form's radio buttons name it. */
export type Channel = 'Phone' | 'Email' | 'Web';

/** What an agent fills in on `Record a reactive case`. */
export interface ReactiveCaseValues {
  /** The account's name as the `Account` list shows it (an affected account reads `NAME (affected)`). */
  account?: string;
  channel?: Channel;
  shortDescription?: string;
  /** The related proactive case's number; `None` when left out. */
  related?: string;
}

/**
 * `Record a reactive case` (`/cases/new`, UI contract 0.11.0): a plain form named by its heading, with the lists
 * `Account`, `Contact`, `Priority` and `Related proactive case`, the radio group `Channel` (`Phone`, `Email`,
 * `Web`), the textbox `Short description` and the button `Record case`; a search form `Find an account`. Opened
 * from the link `Record a reactive case` on Cases, or `Record a reactive case for ACCOUNT` on Customer impact.
 */
export class ReactiveCaseForm extends PageObject {
  get form(): Locator {
    return this.page.getByRole('form', { name: 'Record a reactive case' });
  }

  get account(): Locator {
    return this.form.getByRole('combobox', { name: 'Account' });
  }

  get related(): Locator {
    return this.form.getByRole('combobox', { name: 'Related proactive case' });
  }

  get shortDescription(): Locator {
    return this.form.getByRole('textbox', { name: 'Short description' });
  }

  channel(channel: Channel): Locator {
    return this.form.getByRole('group', { name: 'Channel' }).getByRole('radio', { name: channel });
  }

  get recordButton(): Locator {
    return this.form.getByRole('button', { name: 'Record case' });
  }

  async goto(): Promise<void> {
    await this.open('/cases/new');
  }

  /** Fills in what `values` names and presses `Record case`; the page that answers is the new case or the form. */
  async record(values: ReactiveCaseValues): Promise<void> {
    if (values.account) await this.account.selectOption({ label: values.account });
    if (values.channel) await this.channel(values.channel).check();
    if (values.shortDescription !== undefined) await this.shortDescription.fill(values.shortDescription);
    if (values.related) await this.related.selectOption({ value: values.related });
    await this.followTo(this.recordButton);
  }
}
