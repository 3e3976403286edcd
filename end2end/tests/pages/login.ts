import { expect, type Locator, type Page } from '@playwright/test';
import { DEMO_USERS, type DemoUser } from '../auth';

/** The login page (UI contract: `User name`, `Password`, `Log in`). */
export class LoginPage {
  constructor(readonly page: Page) {}

  get userName(): Locator {
    return this.page.getByLabel('User name', { exact: true });
  }

  get password(): Locator {
    return this.page.getByLabel('Password', { exact: true });
  }

  get logIn(): Locator {
    return this.page.getByRole('button', { name: 'Log in' });
  }

  async signIn(user: string, password: string): Promise<void> {
    await this.page.goto('/login');
    await this.userName.fill(user);
    await this.password.fill(password);
    await this.logIn.click();
  }

  /** Signs in as a demo user and waits for their start page. */
  async signInAs(user: DemoUser): Promise<void> {
    await this.signIn(user, DEMO_USERS[user].password);
    await expect(this.page.getByText(`${user} · ${DEMO_USERS[user].role}`)).toBeVisible();
  }
}
