import { mkdir, writeFile } from 'node:fs/promises';
import { DEMO_USERS, signedInAs, type DemoUser } from './tests/auth';

const baseURL = process.env.FORESTALL_URL ?? 'http://127.0.0.1:3000';

// Waits until the server answers /healthz, so no test races the server's start; then signs each demo user in once
// and saves the session as a storage state the tests can start from.
export default async function globalSetup(): Promise<void> {
  await waitForHealth();
  const { hostname } = new URL(baseURL);
  for (const [user, { password }] of Object.entries(DEMO_USERS) as [DemoUser, { password: string }][]) {
    const response = await fetch(`${baseURL}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user_name: user, password }),
    });
    const cookie = response.headers.get('set-cookie')?.split(';')[0];
    if (response.status !== 303 || !cookie) {
      throw new Error(`signing in as ${user} failed: HTTP ${response.status} ${response.headers.get('location')}`);
    }
    const [name, value] = cookie.split('=');
    const state = {
      cookies: [
        { name, value, domain: hostname, path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' },
      ],
      origins: [],
    };
    const file = signedInAs(user);
    await mkdir(file.replace(/[^/]+$/, ''), { recursive: true });
    await writeFile(file, JSON.stringify(state));
  }
}

async function waitForHealth(): Promise<void> {
  const deadline = Date.now() + 120_000;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${baseURL}/healthz`);
      if (response.ok) return;
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`Forestall did not become healthy at ${baseURL}: ${lastError}`);
}
