import type { Locator, Page } from '@playwright/test';
import { HYDRATED, followToNewPage, submitForm, waitForHydration, type PageMode } from '../mode';

/** What every page object shares: its page, the mode that page runs in, and the waits that mode calls for. */
export abstract class PageObject {
  constructor(
    readonly page: Page,
    readonly mode: PageMode = HYDRATED,
  ) {}

  /** Whether the page runs JavaScript (see {@link PageMode}). */
  get javaScript(): boolean {
    return this.mode.javaScript;
  }

  /** Waits for hydration; a no-op without JavaScript. */
  waitForHydration(): Promise<void> {
    return waitForHydration(this.page, this.mode);
  }

  /** A polite status message (`role="status"`) on the page whose text matches. */
  status(text: string | RegExp): Locator {
    return this.page.getByRole('status').filter({ hasText: text });
  }

  /** The page's level-one heading: a record's number, or the page's name. */
  get heading(): Locator {
    return this.page.getByRole('heading', { level: 1 });
  }

  /** Goes to `path` and waits for the page (and its hydration). */
  protected async open(path: string): Promise<void> {
    await this.page.goto(path);
    await this.waitForHydration();
  }

  protected submitWith(button: Locator): Promise<void> {
    return submitForm(this.page, button, this.mode);
  }

  protected followTo(control: Locator): Promise<void> {
    return followToNewPage(this.page, control, this.mode);
  }
}

/** `text` as a regular expression that matches it whole. */
export function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}
