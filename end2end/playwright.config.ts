import { defineConfig, devices } from '@playwright/test';
import { hydratedAndNoJsProjects } from '@forestall/e2e-kit';

// Unless FORESTALL_URL points the suite at a running instance, Playwright starts the server that `scripts/build` built,
// on a fresh SQLite database with the demo data, and stops it after the suite. Every live stream ends after 5 s, so
// every test's pages survive their streams being cut and reconnecting.
const external = process.env.FORESTALL_URL;
const baseURL = external ?? 'http://127.0.0.1:3000';
const database = '../target/e2e/forestall.db';

export default defineConfig({
  // The suite, and the kit's example suite: it runs too, so the README's example cannot rot.
  testDir: '.',
  testMatch: ['tests/**/*.spec.ts', 'kit/examples/**/*.spec.ts'],
  globalSetup: './global-setup.ts',
  // The tests share one server and database and the machine has two cores: one worker. No test depends on another:
  // each one that changes data makes its own records (README, "Tests").
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  webServer: external
    ? undefined
    : {
        command: `mkdir -p ../target/e2e && rm -f ${database} ${database}-wal ${database}-shm && exec ../target/debug/forestall serve`,
        url: `${baseURL}/healthz`,
        reuseExistingServer: false,
        timeout: 120_000,
        stdout: 'pipe',
        env: {
          ...(process.env as Record<string, string>),
          DATABASE_URL: `sqlite://${database}`,
          FORESTALL_DEMO: 'true',
          FORESTALL_LIVE_MAX_AGE: '5',
          FORESTALL_OUTBOX_DIR: '../target/e2e/notices',
          FORESTALL_LOG: process.env.FORESTALL_LOG ?? 'warn',
          LEPTOS_SITE_ROOT: '../target/site',
          LEPTOS_OUTPUT_NAME: 'forestall',
        },
      },
  // Every test runs twice: hydrated, and as plain HTML with JavaScript disabled (as lemmy-ui-leptos does). The kit
  // skips, with its reason, a test tagged @js (`needsJavaScript`) in the second.
  projects: hydratedAndNoJsProjects({
    ...devices['Desktop Chrome'],
    viewport: { width: 1366, height: 768 },
    launchOptions: {
      // Debian's chromium: Playwright never downloads a browser here.
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  }),
});
