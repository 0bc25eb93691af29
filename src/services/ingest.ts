import { ClickstreamError, type FieldError, validationFailed } from '../domain/errors.js';
import { PAGE_LIMITS } from '../domain/limits.js';
import { eventsProblems, isSameEvent, toRetriableEvents } from '../domain/event.js';
import {
  isSameSession,
  sessionProblems,
  toRetriableSession,
  type IngestRules,
  type SessionRecord,
} from '../domain/session.js';
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
import { NO_OBSERVER, type UseCaseObserver } from './observer.js';

/** The client-side use-cases: register searches, add their events, flag them, look at one. */
export class IngestService {
  constructor(
    private readonly store: ClickstreamStore,
    private readonly rules: IngestRules,
    private readonly clock: Clock,
    private readonly observer: UseCaseObserver = NO_OBSERVER,
  ) {}

  /** Registers a search session; a re-registration with the same content answers as the first one did. */
  async registerSession(body: RegisterSessionBody): Promise<RegisterSessionResponse> {
    const now = this.clock();
    const { session: incoming, outsideWindow } = toRetriableSession(body, now, this.rules);
    if (outsideWindow.length > 0) {
      // Only a retry of the stored session may carry a created_at that has aged out of the window.
      const stored = await this.store.findSession(incoming.session_id);
      if (!stored || !isSameSession(stored, incoming)) throw validationFailed(outsideWindow);
      return registered(stored);
    }
    const { created, session } = await this.store.registerSession(incoming, now);
    if (!created && !isSameSession(session, incoming)) {
      throw new ClickstreamError(
        'session_conflict',
        `session ${JSON.stringify(body.session_id)} is registered already with different content; a new search needs a new session_id`,
      );
    }
    this.observer.sessionRegistered(created);
    return registered(session);
  }

  /** Adds events to a registered session, all or nothing. */
  async addEvents(body: AddEventsBody): Promise<AddEventsResponse> {
    const now = this.clock();
    const { events, repeatedInRequest, outsideWindow } = toRetriableEvents(body, now, this.rules);
    if (outsideWindow.length > 0) {
      // Events whose created_at has aged out of the window are accepted only as re-sends of stored events
      // (then they count as duplicates below).
      const ids = outsideWindow.map((late) => late.event.event_id);
      const stored = new Map((await this.store.findEvents(body.session_id, ids)).map((e) => [e.event_id, e]));
      const refused = outsideWindow.filter((late) => {
        const twin = stored.get(late.event.event_id);
        return !twin || !isSameEvent(twin, late.event);
      });
      if (refused.length > 0) throw validationFailed(refused.map((late) => late.problem));
    }
    const result = await this.store.addEvents(body.session_id, events, now);
    const duplicates = result.duplicates + repeatedInRequest;
    this.observer.eventsAdded(result.stored, duplicates);
    return { session_id: body.session_id, stored: result.stored, duplicates };
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

function registered(session: SessionRecord): RegisterSessionResponse {
  return {
    session_id: session.session_id,
    batch_id: session.batch_id,
    session_number: session.session_number,
    created_at: session.created_at,
  };
}
