/**
 * `@forestall/e2e-kit`: page objects and fixtures to drive Forestall from Playwright suites, by role and
 * accessible name only (Forestall's UI contract, whose version this package's version is).
 */
export { test, expect } from './fixtures';
export type { ForestallFixtures, ForestallOptions, MadeCase, ProactiveCaseOptions } from './fixtures';
export { Forestall } from './app';
export {
  DEMO_CIS,
  DEMO_TOKEN,
  DEMO_USERS,
  UI_CONTRACT_VERSION,
  type Credentials,
  type DemoUser,
  type Role,
  type UserName,
} from './demo';
export {
  IngestClient,
  uniqueStamp,
  type GenericEvent,
  type IngestAnswer,
  type IngestResult,
  type PostedAlert,
} from './ingest';
export {
  HYDRATED,
  JS_TAG,
  NEEDS_JS_ANNOTATION,
  NO_JS,
  followToNewPage,
  hydratedAndNoJsProjects,
  needsJavaScript,
  submitForm,
  waitForHydration,
  type PageMode,
} from './mode';
export { signInOverHttp, waitUntilHealthy, type StorageState } from './session';
export { PageObject } from './pages/page-object';
export { LoginPage } from './pages/login';
export { AllAlertsPage, type AlertFilters, type AlertsQuery } from './pages/all-alerts';
export { AlertForm, readCaseField } from './pages/alert-form';
export { ALERT_NUMBER, CASE_NUMBER, INCIDENT_NUMBER } from './pages/numbers';
export { AffectedList } from './pages/affected-list';
export { CaseForm, type CaseValues } from './pages/case-form';
export { CasePage } from './pages/case-page';
export { CustomerImpact, NotifyPage, SentNoticesPage, type ImpactStatus } from './pages/notices';
export { ReactiveCaseForm, type Channel, type ReactiveCaseValues } from './pages/reactive-case';

