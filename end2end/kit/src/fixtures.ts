import { test as base, expect, type BrowserContext } from '@playwright/test';
import { Forestall } from './app';
import { DEMO_CIS, DEMO_TOKEN, DEMO_USERS, type Credentials, type UserName } from './demo';
import { IngestClient, type GenericEvent } from './ingest';
import { JS_TAG, NEEDS_JS_ANNOTATION } from './mode';
import type { CaseValues } from './pages/case-form';
import { signInOverHttp, type StorageState } from './session';

/** Options a suite sets with `test.use()` or in its config's `use`. */
export interface ForestallOptions {
  /** The user the test's own `page` starts signed in as; `null` (the default): signed out. */
  user: UserName | null;
  /** The users the kit may sign in, by name. Default: the demo users. */
  users: Record<string, Credentials>;
  /** The API token the `ingest` fixture posts with. Default: the demo token. */
  ingestToken: string;
}

/** What a proactive case made for a test holds. */
export interface MadeCase {
  /** The alert it was made from. */
  alert: string;
  /** Its number, `CS0010001`. */
  case: string;
}

export interface ForestallFixtures {
  /** The page objects on the test's `page`, in its mode (hydrated or without JavaScript). */
  forestall: Forestall;
  /**
   * A page of its own, in a new browser context signed in as `user` (with the test's options, so in the same
   * mode), closed after the test: for tests with two users at once, or another role than the test's `page`.
   */
  openAs: (user: UserName) => Promise<Forestall>;
  /** Posts events to the ingestion API with the `ingestToken`. */
  ingest: IngestClient;
  /**
   * A proactive case made through the UI as `as` (default the demo operator): a fresh alert on `node` (default the
   * mail relay: one account) unless `alert` names one, its install base refreshed, Create Case, Submit.
   */
  proactiveCase: (options?: ProactiveCaseOptions) => Promise<MadeCase>;
}

export interface ProactiveCaseOptions extends CaseValues {
  alert?: string;
  node?: string;
  event?: Partial<GenericEvent>;
  as?: UserName;
}

/** The automatic fixture that skips `@js` tests where JavaScript is disabled. */
interface JsGate {
  forestallJsGate: void;
}

interface WorkerFixtures {
  /** Sessions signed in once per worker, by base URL and user: signing in hashes a password, which takes time. */
  forestallSessions: Map<string, Promise<StorageState>>;
}

/** The credentials of `user` among `users`, or a clear error. */
function credentialsOf(users: Record<string, Credentials>, user: string): Credentials {
  const known = users[user];
  if (!known) throw new Error(`the kit knows no password for ${user}: add it to the "users" option`);
  return known;
}

/**
 * Playwright's `test` with Forestall's fixtures and options. Tests tagged `@js` (see `needsJavaScript`) are skipped,
 * with their reason, where JavaScript is disabled.
 */
export const test = base.extend<ForestallOptions & ForestallFixtures & JsGate, WorkerFixtures>({
  user: [null, { option: true }],
  users: [DEMO_USERS, { option: true }],
  ingestToken: [DEMO_TOKEN, { option: true }],

  forestallSessions: [async ({}, use) => use(new Map()), { scope: 'worker' }],

  // The test's `page` starts signed in when `user` is set; an explicit `storageState` is used as given otherwise.
  storageState: async ({ storageState, user, users, baseURL, forestallSessions }, use) => {
    if (!user) return use(storageState);
    await use(await sessionOf(forestallSessions, requireBaseURL(baseURL), user, credentialsOf(users, user)));
  },

  forestallJsGate: [
    async ({ javaScriptEnabled }, use, testInfo) => {
      if (!javaScriptEnabled && testInfo.tags.includes(JS_TAG)) {
        const why = testInfo.annotations.find((a) => a.type === NEEDS_JS_ANNOTATION)?.description;
        testInfo.skip(true, `needs JavaScript${why ? `: ${why}` : ''}`);
      }
      await use();
    },
    { auto: true },
  ],

  forestall: async ({ page, javaScriptEnabled }, use) => {
    await use(new Forestall(page, { javaScript: javaScriptEnabled }));
  },

  openAs: async ({ browser, baseURL, users, forestallSessions, javaScriptEnabled }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (user) => {
      const credentials = credentialsOf(users, user);
      const storageState = await sessionOf(forestallSessions, requireBaseURL(baseURL), user, credentials);
      const context = await browser.newContext({ storageState });
      contexts.push(context);
      return new Forestall(await context.newPage(), { javaScript: javaScriptEnabled });
    });
    for (const context of contexts) await context.close();
  },

  ingest: async ({ request, ingestToken }, use) => {
    await use(new IngestClient(request, ingestToken));
  },

  proactiveCase: async ({ openAs, ingest }, use) => {
    await use(async (options = {}) => {
      const { alert, node = DEMO_CIS.mailRelay, event = {}, as = 'operator', ...values } = options;
      const number = alert ?? (await ingest.alert({ node, ...event })).number;
      const { alertForm } = await openAs(as);
      await alertForm.goto(number);
      await alertForm.refreshInstallBase();
      const caseForm = await alertForm.openCaseForm();
      const made = await caseForm.create(values);
      // Done with: closed now rather than living, idle, until the test ends.
      await alertForm.page.context().close();
      return { alert: number, case: made };
    });
  },
});

export { expect };

function requireBaseURL(baseURL: string | undefined): string {
  if (!baseURL) throw new Error("set Playwright's baseURL to the Forestall server (use: { baseURL })");
  return baseURL;
}

function sessionOf(
  sessions: Map<string, Promise<StorageState>>,
  baseURL: string,
  user: string,
  credentials: Credentials,
): Promise<StorageState> {
  const key = `${baseURL} ${user}`;
  let session = sessions.get(key);
  if (!session) {
    session = signInOverHttp(baseURL, user, credentials.password);
    // A failed sign-in is not kept: the next test tries again and reports its own error.
    session.catch(() => sessions.delete(key));
    sessions.set(key, session);
  }
  return session;
}
