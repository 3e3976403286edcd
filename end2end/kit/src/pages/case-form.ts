import { expect, type Locator } from '@playwright/test';
import { CASE_NUMBER } from './numbers';
import { PageObject } from './page-object';

/** What to type into the case form; fields left out keep their prefill. */
export interface CaseValues {
  shortDescription?: string;
  /** A priority code: `1` Critical ... `4` Low. */
  priority?: string;
  workNotes?: string;
}

/**
 * The case form `Create Case` opens (UI contract: region `New proactive case` with `Short description`, `Priority`,
 * `Account`, `Contact`, `Work notes` and `Submit`; a field's error is its accessible description).
 */
export class CaseForm extends PageObject {
  get region(): Locator {
    return this.page.getByRole('region', { name: 'New proactive case' });
  }

  field(label: string): Locator {
    return this.region.getByLabel(label, { exact: true });
  }

  get shortDescription(): Locator {
    return this.field('Short description');
  }

  get priority(): Locator {
    return this.field('Priority');
  }

  /** The account: a read-only text for one affected account or a major case, a select when none is affected. */
  get account(): Locator {
    return this.field('Account');
  }

  /** The contact: a select of the account's contacts, its primary contact chosen. */
  get contact(): Locator {
    return this.field('Contact');
  }

  get workNotes(): Locator {
    return this.field('Work notes');
  }

  get submitButton(): Locator {
    return this.region.getByRole('button', { name: 'Submit' });
  }

  /** The accounts a major case will have child cases for. */
  get accountsAffected(): Locator {
    return this.region.getByRole('list', { name: 'Accounts affected' });
  }

  /** Fills what `values` gives. */
  async fill(values: CaseValues): Promise<void> {
    if (values.shortDescription !== undefined) await this.shortDescription.fill(values.shortDescription);
    if (values.priority !== undefined) await this.priority.selectOption(values.priority);
    if (values.workNotes !== undefined) await this.workNotes.fill(values.workNotes);
  }

  /**
   * Seed step 6: presses `Submit`. With JavaScript the answer comes in place (`Case CS… created`, or a field's
   * error); without, once the page the server sends the browser back to has loaded.
   */
  async submit(): Promise<void> {
    await this.submitWith(this.submitButton);
  }

  /** Seed steps 5-6: fills `values`, submits, and answers the new case's number from the alert's `Case` field. */
  async create(values: CaseValues = {}): Promise<string> {
    await this.fill(values);
    await this.submit();
    // The alert form's `Case` field: the form this case form belongs to.
    const link = this.page.getByLabel('Case', { exact: true }).getByRole('link', { name: CASE_NUMBER });
    await expect(link).toBeVisible();
    return (await link.textContent())!.trim();
  }
}
