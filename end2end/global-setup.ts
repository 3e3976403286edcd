import { waitUntilHealthy } from '@forestall/e2e-kit';

// Waits until the server answers /healthz, so no test races its start (Playwright's webServer waits for the server
// it starts; one given by FORESTALL_URL may still be starting). Sessions are signed in by the kit's fixtures, once
// per user and worker, when a test first asks for one.
export default async function globalSetup(): Promise<void> {
  await waitUntilHealthy(process.env.FORESTALL_URL ?? 'http://127.0.0.1:3000');
}
