import type { APIRequestContext } from '@playwright/test';
import { DEMO_TOKEN } from './demo';

/** A generic event (README, "The generic event API"): `node` and `severity` are what a test usually chooses. */
export interface GenericEvent {
  node: string;
  /** 0-5 or a name: `Critical`, `Major`, `Minor`, `Warning`, `Info`, `Clear`. Default `Major`. */
  severity?: string | number;
  description?: string;
  source?: string;
  type?: string;
  resource?: string;
  metric_name?: string;
  /** Events with the same key update one open alert. Default: a key of the call's own, so it raises a new alert. */
  message_key?: string;
  /** RFC 3339 or `2026-11-27 03:00:00` (UTC). Default: when it arrives. */
  time_of_event?: string;
  additional_info?: Record<string, unknown> | string;
  /** `Closing` closes the open alert. */
  resolution_state?: string;
}

/** One event's outcome, in the order posted. */
export interface IngestResult {
  index: number;
  status?: 'created' | 'updated' | 'closed' | 'reopened' | 'flapping' | 'ignored';
  alert?: string;
  /** Set for a refused event: the JSON path of the field at fault, and why. */
  field?: string;
  error?: string;
}

/** The endpoints' answer to a request that was accepted as a whole. */
export interface IngestAnswer {
  accepted: number;
  rejected: number;
  results: IngestResult[];
}

/** The alert a posted event raised or updated. */
export interface PostedAlert {
  /** `Alert0010028`. */
  number: string;
  /** The key to post again with, to update (or close) this very alert. */
  messageKey: string;
  description: string;
  status: NonNullable<IngestResult['status']>;
}

/**
 * Posts events to Forestall's ingestion API (`/ingest/v1/...`) with an API token, as monitoring does. A test that
 * changes data starts from an alert of its own made this way, so it never depends on what another test did.
 */
export class IngestClient {
  constructor(
    private readonly request: APIRequestContext,
    private readonly token: string = DEMO_TOKEN,
  ) {}

  /**
   * Posts one generic event and answers the alert it raised or updated. Without a `message_key` the event gets a
   * key of its own, and without a `description` one that names it: every such call raises a new alert.
   */
  async alert(event: GenericEvent): Promise<PostedAlert> {
    const stamp = uniqueStamp();
    const messageKey = event.message_key ?? `e2e-kit-${stamp}`;
    const description = event.description ?? `Test alert on ${event.node} (${stamp})`;
    const answer = await this.events([
      {
        source: 'Playwright',
        type: 'Test',
        resource: 'e2e',
        metric_name: 'e2e',
        severity: 'Major',
        ...event,
        message_key: messageKey,
        description,
      },
    ]);
    const [result] = answer.results;
    if (!result?.alert || !result.status) {
      throw new Error(`the event for ${event.node} was refused: ${JSON.stringify(result)}`);
    }
    return { number: result.alert, messageKey, description, status: result.status };
  }

  /** Posts generic events as one request (at most 1,000) to `/ingest/v1/events`. */
  events(events: Array<GenericEvent | Record<string, unknown>>): Promise<IngestAnswer> {
    return this.post('/ingest/v1/events', { events });
  }

  /** Posts a Prometheus Alertmanager webhook payload (version 4) to `/ingest/v1/alertmanager`. */
  alertmanager(payload: Record<string, unknown>): Promise<IngestAnswer> {
    return this.post('/ingest/v1/alertmanager', payload);
  }

  /** Posts a Grafana webhook payload to `/ingest/v1/grafana`. */
  grafana(payload: Record<string, unknown>): Promise<IngestAnswer> {
    return this.post('/ingest/v1/grafana', payload);
  }

  private async post(path: string, data: unknown): Promise<IngestAnswer> {
    const response = await this.request.post(path, {
      headers: { Authorization: `Bearer ${this.token}` },
      data,
    });
    if (response.status() !== 200) {
      throw new Error(`POST ${path} answered ${response.status()}: ${await response.text()}`);
    }
    return (await response.json()) as IngestAnswer;
  }
}

let counter = 0;

/** Unique within a run and across runs on one server: a time, a counter and a random part. */
export function uniqueStamp(): string {
  counter += 1;
  return `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}
