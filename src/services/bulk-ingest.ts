import {
  ClickstreamError,
  type ErrorCode,
  type FieldError,
  mergeFieldErrors,
  validationFailed,
} from '../domain/errors.js';
import type { Limits } from '../domain/limits.js';
import { isRecord, Problems } from '../domain/validation.js';
import type { IngestEnvelope, IngestResults, ItemRefused } from '../schemas/ingest-payloads.js';
import type { AddEventsBody, MarkIrrelevantBody, RegisterSessionBody } from '../schemas/payloads.js';
import type { IngestService } from './ingest.js';

/** The outcome of checking one item against its route's schema: the typed item, or what is wrong where. */
export type ShapeCheck<T> = (value: unknown) => { readonly ok: true; readonly value: T } | FieldError[];

/** The schema checks of each kind of item (the HTTP layer compiles them from the single routes' schemas). */
export interface ItemShapes {
  readonly session: ShapeCheck<RegisterSessionBody>;
  readonly events: ShapeCheck<AddEventsBody>;
  readonly irrelevant: ShapeCheck<MarkIrrelevantBody>;
}

/**
 * What an item can be refused for on its own. Anything else (the store unavailable or full) fails the
 * whole request, which the client retries whole: every item is idempotent.
 */
const ITEM_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'validation_failed',
  'session_not_found',
  'session_conflict',
  'event_conflict',
  'session_closed',
]);

const SECTIONS = ['sessions', 'events', 'irrelevant'] as const;

/**
 * The batched client route: registrations, then events, then irrelevant flags, each item all or nothing
 * and answered in order with what its single route would answer. Items of one section are applied
 * concurrently (the store commits them in groups); a section starts once the previous one is done, so a
 * session registered in the body can take events in it.
 */
export class BulkIngestService {
  constructor(
    private readonly ingest: IngestService,
    private readonly shapes: ItemShapes,
    private readonly limits: Limits,
    /** The HTTP status an item refused for `code` is answered with (that of its single route). */
    private readonly statusOf: (code: ErrorCode) => number,
  ) {}

  /** The rules of the body as a whole: at least one item, and no section over its limit. */
  readonly envelopeProblems = (body: unknown): FieldError[] => {
    const problems = new Problems(this.limits);
    // Not an object (an array too): the envelope's schema says so, and no rule of the body applies.
    if (!isRecord(body)) return problems.list;
    const sections: Partial<Record<(typeof SECTIONS)[number], unknown>> = body;
    let items = 0;
    for (const name of SECTIONS) {
      const section = sections[name];
      if (!Array.isArray(section)) continue;
      items += section.length;
      problems.checkCount(name, section.length, 'maxIngestItems');
    }
    if (items === 0 && SECTIONS.every((name) => sections[name] == null || Array.isArray(sections[name]))) {
      problems.add('(body)', 'holds no item; send at least one of sessions, events or irrelevant');
    }
    return problems.list;
  };

  async ingestAll(body: IngestEnvelope): Promise<{ results: IngestResults }> {
    const problems = this.envelopeProblems(body);
    if (problems.length > 0) throw validationFailed(problems);
    const { ingest, shapes } = this;
    const sessions = await this.settle('sessions', body.sessions, (item, at) =>
      this.apply(at, item, shapes.session, ingest.sessionProblems, (valid) => ingest.registerSession(valid)),
    );
    const events = await this.settle('events', body.events, (item, at) =>
      this.apply(at, item, shapes.events, ingest.eventsProblems, (valid) => ingest.addEvents(valid)),
    );
    // An irrelevant item is a bare session id: checked as the body {session_id} of its single route, and its
    // problems reported at the item itself.
    const irrelevant = await this.settle('irrelevant', body.irrelevant, (item, at) =>
      this.apply(
        (path) => at(path === 'session_id' ? '' : path),
        { session_id: item },
        shapes.irrelevant,
        ingest.irrelevantProblems,
        (valid) => ingest.markIrrelevant(valid),
      ),
    );
    return { results: { sessions, events, irrelevant } };
  }

  /**
   * Applies every item of a section concurrently and answers in order. A failure that is not an item's own
   * fails the request, once every item has settled, so that no write is still running when the answer leaves.
   */
  private async settle<T>(
    section: (typeof SECTIONS)[number],
    items: readonly unknown[] | null | undefined,
    applyOne: (item: unknown, at: ItemPath) => Promise<T>,
  ): Promise<T[]> {
    if (!items) return [];
    const settled = await Promise.allSettled(
      items.map((item, index) => applyOne(item, (path) => join(`${section}[${index}]`, path))),
    );
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
  }

  private async apply<T, A extends object>(
    at: ItemPath,
    item: unknown,
    shape: ShapeCheck<T>,
    rules: (body: unknown) => FieldError[],
    run: (valid: T) => Promise<A>,
  ): Promise<(A & { status: 200 }) | ItemRefused> {
    const checked = shape(item);
    if (Array.isArray(checked)) return this.refused(at, validationFailed(mergeFieldErrors(checked, rules(item))));
    try {
      return { status: 200, ...(await run(checked.value)) };
    } catch (error) {
      if (error instanceof ClickstreamError && ITEM_CODES.has(error.code)) return this.refused(at, error);
      throw error;
    }
  }

  /** The item's answer, its paths from the body root: `search_query` of item 2 is `sessions[2].search_query`. */
  private refused(at: ItemPath, error: ClickstreamError): ItemRefused {
    const errors =
      error.errors.length > 0
        ? error.errors.map((problem) => ({ path: at(problem.path), message: problem.message }))
        : [{ path: at(''), message: error.message }];
    const detail = error.code === 'validation_failed' ? validationFailed(errors).message : error.message;
    return { status: this.statusOf(error.code), code: error.code, detail, errors };
  }
}

/** Makes a path within an item a path from the body root. */
type ItemPath = (pathInItem: string) => string;

function join(item: string, path: string): string {
  if (path === '(body)' || path === '') return item;
  return path.startsWith('[') ? `${item}${path}` : `${item}.${path}`;
}
