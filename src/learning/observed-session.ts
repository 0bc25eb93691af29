/**
 * A search session as the click models see it: the query text, the documents shown in order, and what the
 * user did with them, reduced to one weight per shown result. How a stored session becomes one (which
 * text is the query, which the document) is the training service's business.
 */
import { weightOf, type EventWeights } from './event-weights.js';

export interface ObservedSession {
  readonly sessionId: string;
  readonly query: string;
  /** The results in the order shown: position = index. */
  readonly results: readonly ShownResult[];
  readonly interactions: readonly Interaction[];
}

export interface ShownResult {
  readonly objectId: string;
  /** The text that stands for the object in training data (its id, or a field of its meta); null: none. */
  readonly document: string | null;
}

export interface Interaction {
  readonly objectId: string;
  /** 0-based position of the object in the session's results; null when it was not shown. */
  readonly position: number | null;
  readonly eventType: string;
}

/** What one session says: a weight per shown position (0: shown, not interacted with). */
export interface SessionSignal {
  readonly session: ObservedSession;
  /** Indexed by position, for the positions below the limit. */
  readonly weights: readonly number[];
  /** Interactions of a weighted type with objects that were not shown: no position-based signal. */
  readonly notShown: number;
}

/**
 * Repeated interactions with one object count once, at their highest weight; event types without a weight
 * are ignored; only the first `maxPosition` positions are kept.
 */
export function signalOf(session: ObservedSession, weights: EventWeights, maxPosition: number): SessionSignal {
  const shown = Math.min(session.results.length, maxPosition);
  const byPosition = new Array<number>(shown).fill(0);
  let notShown = 0;
  for (const interaction of session.interactions) {
    const weight = weightOf(weights, interaction.eventType);
    if (weight <= 0) continue;
    if (interaction.position === null) {
      notShown++;
      continue;
    }
    if (interaction.position < shown) {
      byPosition[interaction.position] = Math.max(byPosition[interaction.position] ?? 0, weight);
    }
  }
  return { session, weights: byPosition, notShown };
}
