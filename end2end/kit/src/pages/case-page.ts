import { expect, type Locator } from '@playwright/test';
import { PageObject, exactly } from './page-object';

/**
 * A case's page (UI contract: the number as heading; the work area with `State`, `Assigned to`, `Move to state`,
 * `Resolution notes` and `Update case`, `Assign to me`, the textboxes `Work notes` and `Additional comments` with
 * `Post work note` and `Post comment`, and the journals, regions `Work notes` and `Additional comments`).
 */
export class CasePage extends PageObject {
  /** Opens the case's page. */
  async goto(number: string): Promise<void> {
    await this.open(`/cases/${number}`);
  }

  /**
   * A field the page shows as a term and its description: `Short description`, `Account`, `Contact`, `Priority`,
   * `Alert`, `Parent case`, and in the work area `State`, `Assigned to`, `Resolution notes`.
   */
  field(term: string): Locator {
    // In a description list a term is described by the `dd` that follows it.
    return this.page.getByRole('term').filter({ hasText: exactly(term) }).locator('xpath=following-sibling::dd[1]');
  }

  /** The case's state: `New`, `Open`, `Awaiting Info`, `Resolved`, `Closed`, `Canceled`. */
  get state(): Locator {
    return this.field('State');
  }

  /** Who has the case: a user name, or `Unassigned`. */
  get assignedTo(): Locator {
    return this.field('Assigned to');
  }

  /** The install base items the case covers, a page at a time (table `Install base items`: Number, Name, Account). */
  get items(): Locator {
    return this.page.getByRole('table', { name: 'Install base items' });
  }

  /** The pager of the items (`items pages`), and of the journals (`Work notes pages`, `Additional comments pages`). */
  pager(name: 'items pages' | 'Work notes pages' | 'Additional comments pages'): Locator {
    return this.page.getByRole('navigation', { name: exactly(name) });
  }

  /** The link to the alert the case was opened for. */
  alertLink(number: string): Locator {
    return this.page.getByRole('link', { name: exactly(number) });
  }

  /** The journal of work notes (internal), newest first. */
  get workNotes(): Locator {
    return this.page.getByRole('region', { name: 'Work notes' });
  }

  /** The journal of additional comments (customer-visible). */
  get additionalComments(): Locator {
    return this.page.getByRole('region', { name: 'Additional comments' });
  }

  get workNoteBox(): Locator {
    return this.page.getByRole('textbox', { name: 'Work notes' });
  }

  get commentBox(): Locator {
    return this.page.getByRole('textbox', { name: 'Additional comments' });
  }

  get moveToState(): Locator {
    return this.page.getByLabel('Move to state', { exact: true });
  }

  get resolutionNotes(): Locator {
    return this.page.getByRole('textbox', { name: 'Resolution notes' });
  }

  get updateCaseButton(): Locator {
    return this.page.getByRole('button', { name: 'Update case' });
  }

  get assignToMeButton(): Locator {
    return this.page.getByRole('button', { name: 'Assign to me' });
  }

  /** A major case's child cases, one row per account. */
  get childCases(): Locator {
    return this.page.getByRole('table', { name: 'Child cases' });
  }

  /** Why the last change was refused when it was not about one field (`role="alert"`). */
  get refusal(): Locator {
    return this.page.getByRole('alert').filter({ hasText: /./ });
  }

  /** Posts a work note and waits until the journal shows it. */
  async postWorkNote(text: string): Promise<void> {
    await this.workNoteBox.fill(text);
    await this.submitWith(this.page.getByRole('button', { name: 'Post work note' }));
    await expect(this.workNotes.getByText(text, { exact: true })).toBeVisible();
  }

  /** Posts an additional comment and waits until the journal shows it. */
  async postComment(text: string): Promise<void> {
    await this.commentBox.fill(text);
    await this.submitWith(this.page.getByRole('button', { name: 'Post comment' }));
    await expect(this.additionalComments.getByText(text, { exact: true })).toBeVisible();
  }

  /**
   * Chooses `state` under `Move to state`, fills `Resolution notes` if given, and presses `Update case`. The
   * caller checks the outcome: the new `State`, or the field's error when the server refused it.
   */
  async moveTo(state: string, resolutionNotes?: string): Promise<void> {
    await this.moveToState.selectOption(state);
    if (resolutionNotes !== undefined) await this.resolutionNotes.fill(resolutionNotes);
    await this.submitWith(this.updateCaseButton);
  }

  /** Presses `Assign to me` and waits until `Assigned to` names `user`. */
  async assignToMe(user: string): Promise<void> {
    await this.submitWith(this.assignToMeButton);
    await expect(this.assignedTo).toHaveText(user);
  }
}
