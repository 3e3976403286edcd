import type { Page } from '@playwright/test';
import { HYDRATED, waitForHydration, type PageMode } from './mode';
import { AffectedList } from './pages/affected-list';
import { AlertForm } from './pages/alert-form';
import { AllAlertsPage } from './pages/all-alerts';
import { CaseForm } from './pages/case-form';
import { CasePage } from './pages/case-page';
import { LoginPage } from './pages/login';
import { CustomerImpact, NotifyPage, SentNoticesPage } from './pages/notices';
import { ReactiveCaseForm } from './pages/reactive-case';

/** Every page object on one page, in that page's mode: what the `forestall` fixture and `openAs` give. */
export class Forestall {
  readonly login: LoginPage;
  readonly allAlerts: AllAlertsPage;
  readonly alertForm: AlertForm;
  readonly affected: AffectedList;
  readonly caseForm: CaseForm;
  readonly casePage: CasePage;
  readonly customerImpact: CustomerImpact;
  readonly notify: NotifyPage;
  readonly sentNotices: SentNoticesPage;
  readonly reactiveCase: ReactiveCaseForm;

  constructor(
    readonly page: Page,
    readonly mode: PageMode = HYDRATED,
  ) {
    this.login = new LoginPage(page, mode);
    this.allAlerts = new AllAlertsPage(page, mode);
    this.alertForm = new AlertForm(page, mode);
    this.affected = new AffectedList(page, mode);
    this.caseForm = new CaseForm(page, mode);
    this.casePage = new CasePage(page, mode);
    this.customerImpact = new CustomerImpact(page, mode);
    this.notify = new NotifyPage(page, mode);
    this.sentNotices = new SentNoticesPage(page, mode);
    this.reactiveCase = new ReactiveCaseForm(page, mode);
  }

  /** Whether the page runs JavaScript (see {@link PageMode}). */
  get javaScript(): boolean {
    return this.mode.javaScript;
  }

  /** Waits for hydration; a no-op without JavaScript. */
  waitForHydration(): Promise<void> {
    return waitForHydration(this.page, this.mode);
  }

  /** The number the alert form's `Case` field shows, or null while the alert has no case. */
  readCaseField(): Promise<string | null> {
    return this.alertForm.caseNumber();
  }
}
