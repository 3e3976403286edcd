import path from 'node:path';

/** The demo users (README, "Demo users"): one per role. For the demo only. */
export const DEMO_USERS = {
  admin: { password: 'demo-admin-pass', role: 'admin' },
  'evt.admin': { password: 'demo-evt-admin-pass', role: 'evt_mgmt_admin' },
  operator: { password: 'demo-operator-pass', role: 'evt_mgmt_operator' },
  agent: { password: 'demo-agent-pass', role: 'sn_customerservice_agent' },
  viewer: { password: 'demo-viewer-pass', role: 'evt_mgmt_user' },
} as const;

export type DemoUser = keyof typeof DEMO_USERS;

/** The signed-in browser state global-setup saved for `user`: `test.use({ storageState: signedInAs('operator') })`. */
export function signedInAs(user: DemoUser): string {
  return path.join(__dirname, '..', '.auth', `${user}.json`);
}
