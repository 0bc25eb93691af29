import { ClickstreamError, type FieldError, validationFailed } from '../domain/errors.js';
import { PAGE_LIMITS } from '../domain/limits.js';
import { eventsProblems, isSameEvent, toNewEvents } from '../domain/event.js';
import { isSameSession, sessionProblems, toNewSession, type IngestRules } from '../domain/session.js';
import { idFieldProblems } from '../domain/validation.js';
import type { Clock } from '../domain/time.js';
import type { AddEventsBody, MarkIrrelevantBody, RegisterSessionBody } from '../schemas/payloads.js';
import type {
  AddEventsResponse,
  MarkIrrelevantResponse,
  RegisterSessionResponse,
  SessionWithEvents,
} from '../schemas/records.js';
import type { ClickstreamStore } from '../storage/store.js';

/** The client-side use-cases: register searches, add their events, flag them, look at one. */
export class IngestService {
  constructor(
    private readonly store: ClickstreamStore,
    private readonly rules: IngestRules,
    private readonly clock: Clock,
  ) {}

  /** Registers a search session; a re-registration with the same content answers as the first one did. */
  async registerSession(body: RegisterSessionBody): Promise<RegisterSessionResponse> {
    const now = this.clock();
    const incoming = toNewSession(body, now, this.rules);
    const { created, session } = await this.store.registerSession(incoming, now);
    if (!created && !isSameSession(session, incoming)) {
      throw new ClickstreamError(
        'session_conflict',
        `session ${JSON.stringify(body.session_id)} is registered already with different content; a new search needs a new session_id`,
      );
    }
    return {
      session_id: session.session_id,
      batch_id: session.batch_id,
      session_number: session.session_number,
      created_at: session.created_at,
    };
  }

  /** Adds events to a registered session, all or nothing. */
  async addEvents(body: AddEventsBody): Promise<AddEventsResponse> {
    const now = this.clock();
    const { events, repeatedInRequest } = toNewEvents(body, now, this.rules);
    const result = await this.store.addEvents(body.session_id, events, now, isSameEvent);
    return { session_id: body.session_id, stored: result.stored, duplicates: result.duplicates + repeatedInRequest };
  }

  /** Flags a session as irrelevant (bots, tests); it stays stored and is marked in every read. */
  async markIrrelevant(body: MarkIrrelevantBody): Promise<MarkIrrelevantResponse> {
    const problems = this.irrelevantProblems(body);
    if (problems.length > 0) throw validationFailed(problems);
    await this.store.markIrrelevant(body.session_id, this.clock());
    return { session_id: body.session_id, is_irrelevant: true };
  }

  // The rules of each payload beyond its shape, on any value: the HTTP layer lists them with shape errors.
  readonly sessionProblems = (body: unknown): FieldError[] => sessionProblems(body, this.clock(), this.rules);
  readonly eventsProblems = (body: unknown): FieldError[] => eventsProblems(body, this.clock(), this.rules);
  readonly irrelevantProblems = (body: unknown): FieldError[] => idFieldProblems(body, 'session_id', this.rules.limits);

  /** One session with its events (up to the per-session page limit), for debugging an integration. */
  async getSession(sessionId: string): Promise<SessionWithEvents> {
    const session = await this.store.getSession(sessionId, PAGE_LIMITS.maxEventsPerSession);
    if (!session)
      throw new ClickstreamError('session_not_found', `session ${JSON.stringify(sessionId)} is not registered`);
    return session;
  }
}
