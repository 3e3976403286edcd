import { expect, type Locator } from '@playwright/test';
import { DEMO_USERS, type Credentials, type UserName } from '../demo';
import { PageObject } from './page-object';

/** The login page (UI contract: `User name`, `Password`, `Log in`) and the top bar's `Log out`. */
export class LoginPage extends PageObject {
  get userName(): Locator {
    return this.page.getByLabel('User name', { exact: true });
  }

  get password(): Locator {
    return this.page.getByLabel('Password', { exact: true });
  }

  get logInButton(): Locator {
    return this.page.getByRole('button', { name: 'Log in' });
  }

  get logOutButton(): Locator {
    return this.page.getByRole('button', { name: 'Log out' });
  }

  /** Why the last sign-in was refused (`role="alert"`). */
  get refusal(): Locator {
    return this.page.getByRole('alert');
  }

  /** The top bar's `NAME · ROLE`, shown while someone is signed in. */
  signedInAs(user: string, role: string): Locator {
    return this.page.getByText(`${user} · ${role}`, { exact: true });
  }

  /** Opens the login page (signed-out visitors of any other page are sent here too). */
  async goto(): Promise<void> {
    await this.open('/login');
  }

  /** Types the name and password and presses `Log in`; the caller checks where that led. */
  async signIn(user: string, password: string): Promise<void> {
    await this.goto();
    await this.userName.fill(user);
    await this.password.fill(password);
    await this.followTo(this.logInButton);
  }

  /** Signs in as `user` (a demo user unless `credentials` are given) and waits for the top bar to name them. */
  async signInAs(user: UserName, credentials?: Credentials): Promise<void> {
    const known = credentials ?? DEMO_USERS[user as keyof typeof DEMO_USERS];
    if (!known) throw new Error(`no password known for ${user}: pass its credentials`);
    await this.signIn(user, known.password);
    await expect(this.signedInAs(user, known.role)).toBeVisible();
  }

  /** Presses `Log out` and waits for the login page to say so. */
  async logOut(): Promise<void> {
    await this.followTo(this.logOutButton);
    await expect(this.status('You have signed out.')).toBeVisible();
  }
}
