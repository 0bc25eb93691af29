import type { Item } from './types.js';

/** After this long without a heartbeat, a tab is taken for closed and its items for orphans. */
export const STALE_MS = 10_000;
/** How long a tab waits after claiming another tab's items before it takes them (see LocalShelf.claim). */
export const CLAIM_WAIT_MS = 150;

/** Where a client keeps its queue between calls. */
export interface Shelf {
  /** Whether the items outlive the page (another page of the origin delivers what this one left). */
  readonly persistent: boolean;
  /** Keeps `items` as this client's; throws when the storage refuses (full, or disabled meanwhile). */
  save(items: readonly Item[]): void;
}

/** A queue that lives as long as the client (Node, or a browser without usable storage). */
export const memoryShelf: Shelf = { persistent: false, save: () => undefined };

/**
 * A queue in localStorage, shared safely between the tabs of one origin without locks (`navigator.locks`
 * needs a secure context): each tab writes only its own key (`<prefix>q:<tab>`) and a heartbeat
 * (`<prefix>hb:<tab>`). A tab whose heartbeat stopped (closed, or marked dead on pagehide) leaves its
 * items; another tab claims them (`<prefix>claim:<tab>`), waits CLAIM_WAIT_MS, and takes them only if its
 * claim is still the one stored, so that two tabs racing for one orphan do not both send it.
 */
export class LocalShelf implements Shelf {
  readonly persistent = true;

  constructor(
    private readonly storage: Storage,
    private readonly prefix: string,
    public tab: string,
  ) {}

  save(items: readonly Item[]): void {
    if (items.length === 0) this.storage.removeItem(this.#key('q', this.tab));
    else this.storage.setItem(this.#key('q', this.tab), JSON.stringify(items));
  }

  /** This tab is alive at `now`. */
  beat(now: number): void {
    this.storage.setItem(this.#key('hb', this.tab), String(now));
  }

  /** This tab is going away: its items are orphans at once. */
  leave(): void {
    this.storage.setItem(this.#key('hb', this.tab), '0');
  }

  /** Whether another tab took this tab's items (its heartbeat was stale, e.g. while the page was frozen). */
  taken(): boolean {
    return this.storage.getItem(this.#key('hb', this.tab)) === null;
  }

  /** Claims the items of every tab whose heartbeat is older than STALE_MS; returns the tabs claimed. */
  claim(now: number): string[] {
    const claimed: string[] = [];
    const queues = this.#key('q', '');
    for (let i = 0; i < this.storage.length; i++) {
      const key = this.storage.key(i);
      if (!key?.startsWith(queues)) continue;
      const other = key.slice(queues.length);
      if (other === this.tab || Number(this.storage.getItem(this.#key('hb', other))) > now - STALE_MS) continue;
      // A claim holds while its tab is alive and the claim is recent; a closed tab's claim is void.
      const [holder, at] = (this.storage.getItem(this.#key('claim', other)) ?? '').split(' ');
      const holderAlive = Number(this.storage.getItem(this.#key('hb', holder ?? ''))) > now - STALE_MS;
      if (holder && holder !== this.tab && holderAlive && Number(at) > now - STALE_MS) continue;
      this.storage.setItem(this.#key('claim', other), `${this.tab} ${now}`);
      claimed.push(other);
    }
    return claimed;
  }

  /** The items of `other` if this tab's claim on them held; they are removed from where they were. */
  take(other: string): Item[] {
    const claim = this.#key('claim', other);
    if (!this.storage.getItem(claim)?.startsWith(`${this.tab} `)) return [];
    const items = parseItems(this.storage.getItem(this.#key('q', other)));
    this.storage.removeItem(this.#key('q', other));
    this.storage.removeItem(this.#key('hb', other));
    this.storage.removeItem(claim);
    return items;
  }

  #key(kind: 'q' | 'hb' | 'claim', tab: string): string {
    return `${this.prefix}${kind}:${tab}`;
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
