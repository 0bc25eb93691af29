/** Input limits; each violation is reported with the limit's name and its variable. */
export interface Limits {
  readonly maxBodyBytes: number;
  readonly maxResultsPerSession: number;
  readonly maxEventsPerRequest: number;
  /** Most items in each section (sessions, events, irrelevant) of one POST /ingest body. */
  readonly maxIngestItems: number;
  readonly maxIdLength: number;
  readonly maxMetaBytes: number;
  readonly maxSearchMetaBytes: number;
  readonly maxJsonDepth: number;
}

/** The variable that sets each limit, quoted in error messages so a user knows what to change. */
export const LIMIT_VARIABLES: Readonly<Record<keyof Limits, string>> = {
  maxBodyBytes: 'CLICKSTREAM_MAX_BODY_BYTES',
  maxResultsPerSession: 'CLICKSTREAM_MAX_RESULTS_PER_SESSION',
  maxEventsPerRequest: 'CLICKSTREAM_MAX_EVENTS_PER_REQUEST',
  maxIngestItems: 'CLICKSTREAM_MAX_INGEST_ITEMS',
  maxIdLength: 'CLICKSTREAM_MAX_ID_LENGTH',
  maxMetaBytes: 'CLICKSTREAM_MAX_META_BYTES',
  maxSearchMetaBytes: 'CLICKSTREAM_MAX_SEARCH_META_BYTES',
  maxJsonDepth: 'CLICKSTREAM_MAX_JSON_DEPTH',
};

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 2 * 1024 * 1024,
  maxResultsPerSession: 1000,
  maxEventsPerRequest: 1000,
  maxIngestItems: 1000,
  maxIdLength: 256,
  maxMetaBytes: 16 * 1024,
  maxSearchMetaBytes: 64 * 1024,
  maxJsonDepth: 32,
};

/** Page sizes of batch reads. */
export const PAGE_LIMITS = {
  defaultSessions: 100,
  maxSessions: 1000,
  defaultEventsPerSession: 1000,
  maxEventsPerSession: 10000,
} as const;
