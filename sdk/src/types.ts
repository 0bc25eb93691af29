/** A JSON object, as the collector stores it in `meta` fields. */
export type JsonObject = Record<string, unknown>;

/** One result as shown, in order: its position is its index. */
export interface SearchResult {
  readonly object_id: string;
  readonly rank?: number | null;
  readonly meta?: JsonObject | null;
}

/** The body of POST /api/v1/clickstream/session, as the client sends it. */
export interface SessionBody {
  readonly session_id: string;
  readonly search_query: string | JsonObject | unknown[];
  readonly search_results: readonly SearchResult[];
  readonly search_meta?: JsonObject;
  readonly user_id?: string;
  readonly created_at?: number;
}

/** One event of a session, as the client sends it. */
export interface EventBody {
  readonly event_id: string;
  readonly object_id: string;
  readonly event_type: string;
  readonly meta?: JsonObject;
  readonly created_at?: number;
}

/**
 * One queued write: a registration (`s`), an event (`e`) or an irrelevant flag (`i`) of session `sid`,
 * with when it was queued (`t`, ms) and how many attempts failed for it (`n`).
 */
export type Item =
  | { readonly k: 's'; readonly sid: string; readonly body: SessionBody; t: number; n: number }
  | { readonly k: 'e'; readonly sid: string; readonly body: EventBody; t: number; n: number }
  | { readonly k: 'i'; readonly sid: string; t: number; n: number };

/** A field error of the collector's answer. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/**
 * What the `error` event carries: an item dropped for good, with the collector's answer (status, code,
 * detail and errors of its problem+json or of its entry in an ingest answer), or a client-side code:
 * `queue_full` (the oldest item made room), `undeliverable` (retries ran out), `invalid` (its body is not
 * JSON: refused when called), `closed` (called from close() on, or left when a client without storage closed).
 */
export interface DeliveryProblem {
  readonly item: {
    readonly kind: 'session' | 'event' | 'irrelevant';
    readonly session_id: string;
    readonly event_id?: string;
  };
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly errors: readonly FieldError[];
}

/** The answer to one item of an ingest request. */
export interface ItemAnswer {
  readonly status: number;
  readonly code?: string;
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
  readonly duplicates?: number;
}

/** The answer of POST /api/v1/clickstream/ingest. */
export interface IngestAnswer {
  readonly results: {
    readonly sessions: readonly ItemAnswer[];
    readonly events: readonly ItemAnswer[];
    readonly irrelevant: readonly ItemAnswer[];
  };
}
