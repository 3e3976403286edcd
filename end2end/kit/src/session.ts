import { request as playwrightRequest, type BrowserContextOptions } from '@playwright/test';

/** A browser context's cookies and storage, as `storageState` takes it. */
export type StorageState = Exclude<BrowserContextOptions['storageState'], string | undefined>;

/**
 * Signs in by posting the login form, as a browser without JavaScript does, and answers the session as a storage
 * state to start browser contexts from: no login page to drive for tests that are not about signing in.
 */
export async function signInOverHttp(baseURL: string, user: string, password: string): Promise<StorageState> {
  // Explicit options: inside a test Playwright would otherwise lend this context the test's own cookies.
  const api = await playwrightRequest.newContext({
    baseURL,
    storageState: { cookies: [], origins: [] },
    extraHTTPHeaders: {},
    maxRedirects: 0,
  });
  try {
    const response = await api.post('/login', { form: { user_name: user, password } });
    const location = response.headers()['location'] ?? '';
    // Signed in: 303 to the page asked for. Refused: 303 back to the login page, which says why.
    if (response.status() !== 303 || location.startsWith('/login')) {
      throw new Error(`signing in as ${user} at ${baseURL} failed: HTTP ${response.status()} to ${location || '?'}`);
    }
    return await api.storageState();
  } finally {
    await api.dispose();
  }
}

/** Waits until `GET /healthz` answers 200 (the server is up and its database answers). */
export async function waitUntilHealthy(baseURL: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  const api = await playwrightRequest.newContext({ baseURL });
  try {
    while (Date.now() < deadline) {
      try {
        const response = await api.get('/healthz', { timeout: 5_000 });
        if (response.ok()) return;
        last = `HTTP ${response.status()}`;
      } catch (error) {
        last = String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await api.dispose();
  }
  throw new Error(`Forestall did not become healthy at ${baseURL}: ${last}`);
}
