import type { Item } from './types.js';

/** How much one ingest body may hold (the collector's defaults, or less). */
export interface BatchLimits {
  /** Items per section: sessions, event groups, irrelevant ids (CLICKSTREAM_MAX_INGEST_ITEMS: 1000). */
  readonly items: number;
  /** Events per group (CLICKSTREAM_MAX_EVENTS_PER_REQUEST: 1000). */
  readonly eventsPerSession: number;
  /** Bytes of the body, as UTF-8. */
  readonly bytes: number;
}

/** One ingest body and the queued items it holds, section by section, in the order the answer follows. */
export interface Batch {
  readonly body: string;
  readonly sessions: readonly Item[];
  readonly events: readonly (readonly Item[])[];
  readonly irrelevant: readonly Item[];
  readonly items: readonly Item[];
}

/** The item's identity: a re-queued write is the same item (and the collector sees the same content). */
export function keyOf(item: Item): string {
  return item.k === 'e' ? `e ${item.sid} ${item.body.event_id}` : `${item.k} ${item.sid}`;
}

const encoder = new TextEncoder();
const bytesOf = (value: unknown): number => encoder.encode(JSON.stringify(value)).length;

/**
 * The next body to send: queued items in order, within the limits, skipping those `busy` (in flight). A
 * session's events and flag go only behind its registration: in the same body, or once the registration
 * has left the queue (acknowledged); while it waits, in flight or over the limits, they wait too. An item
 * over the byte limit on its own is the whole body. Returns null when nothing can be sent.
 */
export function nextBatch(queue: readonly Item[], limits: BatchLimits, busy: (item: Item) => boolean): Batch | null {
  const sessions: Item[] = [];
  const groups = new Map<string, Item[]>();
  const irrelevant: Item[] = [];
  const included = new Set<string>();
  const waiting = new Set<string>();
  // {"sessions":[],"events":[],"irrelevant":[]}
  let bytes = 44;
  const fits = (size: number) => bytes + size + 1 <= limits.bytes;
  // An item too large for the limit on its own goes alone, for the collector to take or refuse (413).
  const empty = () => sessions.length + groups.size + irrelevant.length === 0;
  for (const item of queue) {
    if (item.k === 's') {
      const size = bytesOf(item.body);
      if (busy(item) || sessions.length >= limits.items || (!fits(size) && !empty())) {
        waiting.add(item.sid);
        continue;
      }
      bytes += size + 1;
      sessions.push(item);
      included.add(item.sid);
    } else if (busy(item) || (waiting.has(item.sid) && !included.has(item.sid))) {
      continue;
    } else if (item.k === 'i') {
      const size = bytesOf(item.sid);
      if (irrelevant.length >= limits.items || (!fits(size) && !empty())) continue;
      bytes += size + 1;
      irrelevant.push(item);
    } else {
      let group = groups.get(item.sid);
      // {"session_id":"...","events":[]}
      const size = bytesOf(item.body) + (group ? 0 : bytesOf(item.sid) + 28);
      const full = group ? group.length >= limits.eventsPerSession : groups.size >= limits.items;
      if (full || (!fits(size) && !empty())) continue;
      bytes += size + 1;
      if (!group) {
        group = [];
        groups.set(item.sid, group);
      }
      group.push(item);
    }
    if (bytes > limits.bytes) break;
  }
  const events = [...groups.values()];
  const items = [...sessions, ...events.flat(), ...irrelevant];
  if (items.length === 0) return null;
  const body = JSON.stringify({
    sessions: sessions.map((item) => (item.k === 's' ? item.body : null)),
    events: events.map((group) => ({
      session_id: group[0]?.sid,
      events: group.map((item) => (item.k === 'e' ? item.body : null)),
    })),
    irrelevant: irrelevant.map((item) => item.sid),
  });
  return { body, sessions, events, irrelevant, items };
}
