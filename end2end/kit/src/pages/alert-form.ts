import { expect, type Locator, type Page } from '@playwright/test';
import { AffectedList } from './affected-list';
import { CaseForm } from './case-form';
import { CASE_NUMBER, INCIDENT_NUMBER } from './numbers';
import { PageObject, exactly } from './page-object';

/**
 * The alert form (UI contract: the number as heading; fields found by label, among them `Case` and `Incident`;
 * `Refresh Install Base Items`, `Create Case`, the `More actions` menu, `Create Incident`).
 */
export class AlertForm extends PageObject {
  /** The form's `Affected Install Base Items` region. */
  get affected(): AffectedList {
    return new AffectedList(this.page, this.mode);
  }

  /** The case form `Create Case` opens on this page. */
  get caseForm(): CaseForm {
    return new CaseForm(this.page, this.mode);
  }

  /** Opens the alert's form. */
  async goto(number: string): Promise<void> {
    await this.open(`/alerts/${number}`);
  }

  /** A field by its label: `Number`, `Severity`, `State`, `Source`, `Node`, `Configuration item`, `Description`... */
  field(label: string): Locator {
    return this.page.getByLabel(label, { exact: true });
  }

  /** The `Case` field: empty, or the case number as a link to the case. */
  get caseField(): Locator {
    return this.field('Case');
  }

  /** The `Case` field's link, to the case `number` if given. */
  caseLink(number?: string): Locator {
    return this.caseField.getByRole('link', { name: number ? exactly(number) : CASE_NUMBER });
  }

  /** The `Incident` field: empty, or the incident's number. */
  get incidentField(): Locator {
    return this.field('Incident');
  }

  /** The case number the `Case` field shows now, or null while the alert has none. */
  async caseNumber(): Promise<string | null> {
    return (await this.caseField.textContent())?.trim() || null;
  }

  /** Waits until the `Case` field holds a case's link and answers its number. */
  async waitForCase(): Promise<string> {
    await expect(this.caseLink()).toBeVisible();
    return (await this.caseLink().textContent())!.trim();
  }

  get refreshButton(): Locator {
    return this.page.getByRole('button', { name: 'Refresh Install Base Items' });
  }

  /** Shown while the alert has no case, to roles that may create one; then the `Case` field's link takes its place. */
  get createCaseButton(): Locator {
    return this.page.getByRole('button', { name: 'Create Case' });
  }

  get moreActionsButton(): Locator {
    return this.page.getByRole('button', { name: 'More actions' });
  }

  /** `Create Case` in the `More actions` menu. */
  get createCaseMenuItem(): Locator {
    return this.page.getByRole('menuitem', { name: 'Create Case' });
  }

  get createIncidentButton(): Locator {
    return this.page.getByRole('button', { name: 'Create Incident' });
  }

  /** Seed step 3: traces the affected install base items and waits for the new snapshot. */
  async refreshInstallBase(): Promise<void> {
    await this.submitWith(this.refreshButton);
    if (this.javaScript) {
      await expect(this.affected.region.getByRole('status')).toHaveText(/^Refreshed: /);
    } else {
      await expect(this.affected.lastRefreshed).toBeVisible();
    }
  }

  /** Seed step 4: `Create Case` opens the prefilled case form (on the alert form, hydrated). */
  async openCaseForm(): Promise<CaseForm> {
    await this.followTo(this.createCaseButton);
    await expect(this.caseForm.region).toBeVisible();
    return this.caseForm;
  }

  /** `Create Case` from the `More actions` menu, by keyboard. Needs JavaScript: the menu is a script's. */
  async openCaseFormFromMenu(): Promise<CaseForm> {
    if (!this.javaScript) throw new Error('the More actions menu needs JavaScript; use openCaseForm()');
    await this.moreActionsButton.focus();
    await this.page.keyboard.press('Enter');
    await expect(this.createCaseMenuItem).toBeFocused();
    const loaded = this.page.waitForEvent('load');
    await this.page.keyboard.press('Enter');
    await loaded;
    await this.waitForHydration();
    await expect(this.caseForm.region).toBeVisible();
    return this.caseForm;
  }

  /** Presses `Create Incident` and answers the incident's number once the `Incident` field shows it. */
  async createIncident(): Promise<string> {
    await this.submitWith(this.createIncidentButton);
    await expect(this.incidentField).toHaveText(INCIDENT_NUMBER);
    return (await this.incidentField.textContent())!.trim();
  }
}

/**
 * The number the alert form on `page` shows in its `Case` field now, or null while the alert has none. Use
 * `AlertForm.waitForCase()` to wait for one.
 */
export function readCaseField(page: Page): Promise<string | null> {
  return new AlertForm(page).caseNumber();
}
