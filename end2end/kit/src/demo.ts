/**
 * What a demo server (`forestall serve --demo`, `scripts/serve`) holds, as Forestall's README documents it. The
 * passwords and the token are for the demo only: anyone who reads the README knows them.
 */

/** The version of Forestall's UI contract (README, "UI contract changelog") this kit drives. */
export const UI_CONTRACT_VERSION = '0.11.0';

/** Forestall's roles (README, "Demo users"). */
export type Role = 'admin' | 'evt_mgmt_admin' | 'evt_mgmt_operator' | 'sn_customerservice_agent' | 'evt_mgmt_user';

/** A user the kit can sign in: its password and the role the top bar shows for it. */
export interface Credentials {
  password: string;
  role: Role;
}

/** The demo users, one per role. */
export const DEMO_USERS = {
  admin: { password: 'demo-admin-pass', role: 'admin' },
  'evt.admin': { password: 'demo-evt-admin-pass', role: 'evt_mgmt_admin' },
  operator: { password: 'demo-operator-pass', role: 'evt_mgmt_operator' },
  agent: { password: 'demo-agent-pass', role: 'sn_customerservice_agent' },
  viewer: { password: 'demo-viewer-pass', role: 'evt_mgmt_user' },
} as const satisfies Record<string, Credentials>;

/** A demo user's name. */
export type DemoUser = keyof typeof DEMO_USERS;

/** A user name: a demo user's, or one of a deployment's own (given in the `users` option). */
export type UserName = DemoUser | (string & {});

/** The demo data's API token for the ingestion endpoints (`forestall token revoke demo` turns it off). */
export const DEMO_TOKEN = 'fst_demo_only_not_secret_0000000000000000';

/**
 * Configuration items of the demo CMDB to raise alerts on, by what their trace reaches (README, "Demo data").
 * A test that changes data posts a fresh alert on one of them rather than acting on a demo alert, so it can run
 * alone, in any order, and again on the same server.
 */
export const DEMO_CIS = {
  /** One account (Umbrella Health), 3 items, one of them a child item: Create Case makes one case. */
  mailRelay: 'mail-relay-01',
  /** Three accounts (Acme, Globex, Forestall IT), 6 items: Create Case makes a major case with 3 child cases. */
  dbHost: 'db-host-01',
  /** Nothing depends on it: the snapshot is empty and no case can cover a customer. */
  edgeRouter: 'edge-router-07',
  /** The application the payments stack runs (its fqdn is `payments-app.example.net`): customers are affected. */
  paymentsApp: 'payments-app',
} as const;
