import type { Locator, Page, Project, TestDetails } from '@playwright/test';

/**
 * How the page under test runs. Forestall renders every page complete on the server and its forms post without
 * JavaScript; with JavaScript, islands hydrate and act in place. Page objects wait for what the mode makes happen:
 * hydration and in-place answers, or the page the server redirects a plain form post to.
 */
export interface PageMode {
  /** Whether the page's browser context runs JavaScript (Playwright's `javaScriptEnabled`). */
  javaScript: boolean;
}

/** The default mode: JavaScript on, islands hydrated. */
export const HYDRATED: PageMode = Object.freeze({ javaScript: true });

/** Plain server-rendered HTML: `javaScriptEnabled: false`. */
export const NO_JS: PageMode = Object.freeze({ javaScript: false });

/**
 * Waits until the page's islands are hydrated (Forestall sets `data-hydrated` on `<html>` then): from that moment a
 * button acts in place instead of posting its form. Without JavaScript nothing hydrates and it returns at once.
 */
export async function waitForHydration(page: Page, mode: PageMode = HYDRATED): Promise<void> {
  if (!mode.javaScript) return;
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
}

/**
 * Clicks a form's submit button and returns once the answer can be read from the page. With JavaScript the island
 * answers in place (callers then assert the outcome, which Playwright waits for); without, the browser posts the
 * form, and this waits until the page the server sends it back to has loaded.
 */
export async function submitForm(page: Page, button: Locator, mode: PageMode = HYDRATED): Promise<void> {
  if (mode.javaScript) {
    await button.click();
    return;
  }
  await followToNewPage(page, button, mode);
}

/**
 * Clicks a link or a GET form's button that loads another page (in either mode), and waits until it has loaded and,
 * with JavaScript, hydrated.
 */
export async function followToNewPage(page: Page, control: Locator, mode: PageMode = HYDRATED): Promise<void> {
  const loaded = page.waitForEvent('load');
  await control.click();
  await loaded;
  await waitForHydration(page, mode);
}

/** The tag of tests that cannot work without JavaScript: live updates, in-place answers, menus. */
export const JS_TAG = '@js';

/** The annotation type that carries why a `@js` test needs JavaScript. */
export const NEEDS_JS_ANNOTATION = 'needs-js';

/**
 * Details for a test (or `test.describe`) that truly needs JavaScript, with the reason:
 * `test('the Case field fills without a reload', needsJavaScript('live update in place'), async ...)`.
 * The kit's `test` skips it, with the reason, in a context with JavaScript disabled; `--grep-invert @js` leaves it out.
 */
export function needsJavaScript(reason: string): TestDetails {
  return { tag: JS_TAG, annotation: { type: NEEDS_JS_ANNOTATION, description: reason } };
}

/**
 * The two projects every Forestall suite should run: `hydrated` (JavaScript on) and `no-js` (the plain HTML and
 * form posts a browser without JavaScript gets). `use` is what both share (browser, viewport, ...).
 */
export function hydratedAndNoJsProjects(use: Project['use'] = {}): Project[] {
  return [
    { name: 'hydrated', use: { ...use, javaScriptEnabled: true } },
    { name: 'no-js', use: { ...use, javaScriptEnabled: false } },
  ];
}
