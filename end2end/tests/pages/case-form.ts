import { type Locator, type Page } from '@playwright/test';

/** The case form opened by Create Case. */
export class CaseForm {
  readonly form: Locator;

  constructor(readonly page: Page) {
    this.form = page.getByRole('region', { name: 'New proactive case' });
  }

  field(label: string): Locator {
    return this.form.getByLabel(label, { exact: true });
  }

  get shortDescription(): Locator {
    return this.field('Short description');
  }

  get priority(): Locator {
    return this.field('Priority');
  }

  get account(): Locator {
    return this.field('Account');
  }

  get contact(): Locator {
    return this.field('Contact');
  }

  get workNotes(): Locator {
    return this.field('Work notes');
  }

  /** Seed step 6. */
  async submit(): Promise<void> {
    await this.form.getByRole('button', { name: 'Submit' }).click();
  }
}
