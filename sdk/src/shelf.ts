import type { Item } from './types.js';

/** After this long without a heartbeat, a tab is taken for closed and its items for orphans. */
export const STALE_MS = 10_000;
/** How long a tab waits after claiming another tab's items before it takes them (see LocalShelf.claim). */
export const CLAIM_WAIT_MS = 150;
/** How long a "taken" marker waits for its tab to come back (a page frozen in the back/forward cache). */
const TAKEN_KEPT_MS = 3_600_000;

/** Where a client keeps its queue between calls. */
export interface Shelf {
  /** Whether the items outlive the page (another page of the origin delivers what this one left). */
  readonly persistent: boolean;
  /** Keeps `items` as this client's; throws when the storage refuses (full, or disabled meanwhile). */
  save(items: readonly Item[]): void;
}

/** A queue that lives as long as the client (Node, or a browser without usable storage). */
export const memoryShelf: Shelf = { persistent: false, save: () => undefined };

type Kind = 'q' | 'hb' | 'claim' | 'taken';

/**
 * A queue in localStorage, shared safely between the tabs of one origin without locks (`navigator.locks`
 * needs a secure context). Each tab keeps its items under its own key (`<prefix>q:<tab>`) and a heartbeat
 * (`<prefix>hb:<tab>`). A tab whose heartbeat stopped (closed, or marked gone on pagehide) leaves its
 * items; another tab claims them (`<prefix>claim:<tab>`), waits CLAIM_WAIT_MS, and takes them only if its
 * claim is still the one stored and their tab is still silent, so that two tabs racing for one orphan do
 * not both send it. It leaves a `<prefix>taken:<tab>` marker, so that a tab that was only frozen knows,
 * when it wakes, that what it had saved is another tab's to send.
 */
export class LocalShelf implements Shelf {
  readonly persistent = true;

  readonly #storage: Storage;
  readonly #prefix: string;

  constructor(storage: Storage, prefix: string, tab: string) {
    this.#storage = storage;
    this.#prefix = prefix;
    this.tab = tab;
  }

  tab: string;

  save(items: readonly Item[]): void {
    if (items.length === 0) this.#storage.removeItem(this.#key('q', this.tab));
    else this.#storage.setItem(this.#key('q', this.tab), JSON.stringify(items));
  }

  /** This tab is alive at `now`. */
  beat(now: number): void {
    this.#storage.setItem(this.#key('hb', this.tab), String(now));
  }

  /** This tab is going away: its items, if any, are orphans at once; with none, it leaves nothing behind. */
  leave(): void {
    if (this.#storage.getItem(this.#key('q', this.tab)) === null) this.#storage.removeItem(this.#key('hb', this.tab));
    else this.#storage.setItem(this.#key('hb', this.tab), '0');
  }

  /** Whether another tab took this tab's saved items (it was silent too long); the marker is then cleared. */
  taken(): boolean {
    const marker = this.#key('taken', this.tab);
    if (this.#storage.getItem(marker) === null) return false;
    this.#storage.removeItem(marker);
    return true;
  }

  /**
   * Claims the items of every tab silent for STALE_MS; returns the tabs claimed. Clears what closed tabs
   * left without items (heartbeats, claims, old markers), so that storage does not fill page view by page view.
   */
  claim(now: number): string[] {
    const claimed: string[] = [];
    const keys = Array.from({ length: this.#storage.length }, (_, i) => this.#storage.key(i) ?? '');
    const silent = (tab: string) => !(Number(this.#storage.getItem(this.#key('hb', tab))) > now - STALE_MS);
    for (const key of keys) {
      if (!key.startsWith(this.#prefix)) continue;
      const [kind, tab = ''] = key.slice(this.#prefix.length).split(':') as [Kind, string?];
      if (tab === this.tab) continue;
      const queued = this.#storage.getItem(this.#key('q', tab)) !== null;
      if (kind === 'taken' && !(Number(this.#storage.getItem(key)) > now - TAKEN_KEPT_MS))
        this.#storage.removeItem(key);
      else if ((kind === 'hb' || kind === 'claim') && !queued && silent(tab)) this.#storage.removeItem(key);
      if (kind !== 'q' || !silent(tab)) continue;
      // A claim holds while its tab is alive and the claim is recent; a closed tab's claim is void.
      const [holder = '', at] = (this.#storage.getItem(this.#key('claim', tab)) ?? '').split(' ');
      if (holder && holder !== this.tab && !silent(holder) && Number(at) > now - STALE_MS) continue;
      this.#storage.setItem(this.#key('claim', tab), `${this.tab} ${now}`);
      claimed.push(tab);
    }
    return claimed;
  }

  /** The items of `other` if this tab's claim on them held and `other` is still silent; they move here. */
  take(other: string, now: number): Item[] {
    const claim = this.#key('claim', other);
    const mine = this.#storage.getItem(claim)?.startsWith(`${this.tab} `) === true;
    const silent = !(Number(this.#storage.getItem(this.#key('hb', other))) > now - STALE_MS);
    if (!mine || !silent) return [];
    const items = parseItems(this.#storage.getItem(this.#key('q', other)));
    this.#storage.setItem(this.#key('taken', other), String(now));
    this.#storage.removeItem(this.#key('q', other));
    this.#storage.removeItem(this.#key('hb', other));
    this.#storage.removeItem(claim);
    return items;
  }

  /** Removes this tab's queue (the client goes on in memory). */
  drop(): void {
    this.#storage.removeItem(this.#key('q', this.tab));
  }

  #key(kind: Kind, tab: string): string {
    return `${this.#prefix}${kind}:${tab}`;
  }
}

function parseItems(text: string | null): Item[] {
  try {
    const items: unknown = JSON.parse(text ?? '[]');
    return Array.isArray(items) ? (items as Item[]) : [];
  } catch {
    return [];
  }
}

/** The page's localStorage if it can be written, else null (disabled, or a sandboxed frame). */
export function usableLocalStorage(): Storage | null {
  try {
    const storage = globalThis.localStorage;
    const probe = '__clickstream_probe__';
    storage.setItem(probe, probe);
    storage.removeItem(probe);
    return storage;
  } catch {
    return null;
  }
}
