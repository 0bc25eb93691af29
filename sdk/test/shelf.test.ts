/** The localStorage queue's bookkeeping: what a tab leaves behind, claims, takeovers, and their markers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalShelf, STALE_MS } from '../src/shelf.js';
import type { Item } from '../src/types.js';
import { memoryStorage } from './memory-storage.js';

const item: Item = { k: 'i', sid: 's1', t: 0, n: 0 };
/** A time well past 0: a heartbeat of 0 marks a tab gone. */
const T = 1_000_000;
const keys = (storage: Storage) => Array.from({ length: storage.length }, (_, i) => storage.key(i) ?? '').sort();

describe('LocalShelf', () => {
  it('leaves nothing behind when a tab with an empty queue goes, across many page views', () => {
    const storage = memoryStorage();
    for (let view = 0; view < 50; view++) {
      const shelf = new LocalShelf(storage, 'p:', `tab${view}`);
      shelf.beat(T + view);
      shelf.claim(T + view);
      shelf.save([]);
      shelf.leave();
    }
    assert.deepEqual(keys(storage), []);
  });

  it('lets one tab take a closed tab’s items, marks them taken, and clears the leftovers', () => {
    const storage = memoryStorage();
    const closed = new LocalShelf(storage, 'p:', 'closed');
    closed.beat(T);
    closed.save([item]);
    closed.leave();
    const a = new LocalShelf(storage, 'p:', 'a');
    const b = new LocalShelf(storage, 'p:', 'b');
    a.beat(T + 100);
    b.beat(T + 100);
    assert.deepEqual(a.claim(T + 100), ['closed']);
    // b claims too while a's claim stands and a is alive: b gets nothing.
    assert.deepEqual(b.claim(T + 101), []);
    assert.deepEqual(b.take('closed', T + 250), []);
    assert.deepEqual(a.take('closed', T + 250), [item]);
    assert.deepEqual(keys(storage), ['p:hb:a', 'p:hb:b', 'p:taken:closed']);
    // The closed tab, had it only been frozen, would learn that its items are a's now; once.
    assert.equal(closed.taken(), true);
    assert.equal(closed.taken(), false);
  });

  it('does not take from a tab whose heartbeat came back meanwhile', () => {
    const storage = memoryStorage();
    const frozen = new LocalShelf(storage, 'p:', 'frozen');
    frozen.beat(T);
    frozen.save([item]);
    const a = new LocalShelf(storage, 'p:', 'a');
    assert.deepEqual(a.claim(T + STALE_MS + 1), ['frozen']);
    frozen.beat(T + STALE_MS + 50);
    assert.deepEqual(a.take('frozen', T + STALE_MS + 150), []);
    assert.equal(frozen.taken(), false);
  });
});
