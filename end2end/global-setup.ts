// Waits until the server answers /healthz, so no test races the server's start.
export default async function globalSetup(): Promise<void> {
  const baseURL = process.env.FORESTALL_URL ?? 'http://127.0.0.1:3000';
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
