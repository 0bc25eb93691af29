/**
 * The click models on cases small enough to compute by hand: PBM's EM step and its fixed point, the
 * event weights and repeats of a session's signal, skip-above pairs, COEC, identifiability, the split.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { biasWarnings } from '../../src/learning/bias-report.js';
import { ClickCounts } from '../../src/learning/click-counts.js';
import { DEFAULT_EVENT_WEIGHTS, parseEventWeights } from '../../src/learning/event-weights.js';
import { signalOf, type ObservedSession } from '../../src/learning/observed-session.js';
import { fitPbm, ipwWeight } from '../../src/learning/pbm.js';
import { clicksRating, coecRating, positionCtr, skipAboveRating } from '../../src/learning/ratings.js';
import { clickRows, skipAboveRows } from '../../src/learning/session-pairs.js';
import { splitOf } from '../../src/learning/split.js';

/** A session of `query` showing `objects` in order, with interactions given as [object, event type]. */
function session(query: string, objects: readonly string[], events: readonly [string, string][] = []): ObservedSession {
  return {
    sessionId: `${query}:${objects.join(',')}:${events.map((e) => e.join('=')).join(',')}`,
    query,
    results: objects.map((objectId) => ({ objectId, document: `doc ${objectId}` })),
    interactions: events.map(([objectId, eventType]) => ({
      objectId,
      eventType,
      position: objects.includes(objectId) ? objects.indexOf(objectId) : null,
    })),
  };
}

/** Counts from `n` sessions of one order, `clicked` of them clicking the object at `position`. */
function addSessions(counts: ClickCounts, objects: readonly string[], n: number, clicks: Record<string, number>): void {
  for (let i = 0; i < n; i++) {
    const events = Object.entries(clicks)
      .filter(([, c]) => i < c)
      .map(([objectId]): [string, string] => [objectId, 'click']);
    counts.add(signalOf(session('q', objects, events), DEFAULT_EVENT_WEIGHTS, 10));
  }
}

describe('PBM by EM', () => {
  it('takes one EM step as computed by hand', () => {
    // A at position 0 in 4 sessions (2 clicked), A at position 1 in 4 (1 clicked); B fills the other slot.
    const counts = new ClickCounts();
    addSessions(counts, ['A', 'B'], 4, { A: 2 });
    addSessions(counts, ['B', 'A'], 4, { A: 1 });
    const fit = fitPbm(counts, { tolerance: 0, maxIterations: 1 });
    // From theta = a = 0.5: a non-click is examined (or attractive) with 0.25 / 0.75 = 1/3.
    // Position 0: A 2 + 2/3, B (4 non-clicks) 4/3 -> theta0 = 4/8; position 1: A 1 + 1, B 4/3 -> theta1 = (10/3)/8.
    const theta0 = (2 + 2 / 3 + 4 / 3) / 8;
    const theta1 = (1 + 1 + 4 / 3) / 8;
    assert.equal(fit.iterations, 1);
    assert.ok(Math.abs((fit.propensities[1] ?? 0) - theta1 / theta0) < 1e-12);
    const [a] = [...fit.attractiveness.entries()].filter(([pair]) => pair.objectId === 'A').map(([, v]) => v);
    // A: (2 + 2/3) + (1 + 1) over 8 impressions, scaled by theta0 so that position 0 is examined for sure.
    assert.ok(Math.abs((a ?? 0) - ((2 + 2 / 3 + 2) / 8) * theta0) < 1e-12);
  });

  it('converges to the propensities and attractiveness that produced exact counts', () => {
    // theta = [1, 0.5]; a(A) = 0.8, a(B) = 0.2; both shown at both positions, 1000 sessions each order.
    const counts = new ClickCounts();
    addSessions(counts, ['A', 'B'], 1000, { A: 800, B: 100 });
    addSessions(counts, ['B', 'A'], 1000, { B: 200, A: 400 });
    const fit = fitPbm(counts, { tolerance: 1e-10, maxIterations: 100_000 });
    assert.ok(fit.converged);
    assert.equal(fit.propensities[0], 1);
    assert.ok(Math.abs((fit.propensities[1] ?? 0) - 0.5) < 1e-3, String(fit.propensities[1]));
    const rating = new Map([...fit.attractiveness].map(([pair, value]) => [pair.objectId, value]));
    assert.ok(Math.abs((rating.get('A') ?? 0) - 0.8) < 1e-3);
    assert.ok(Math.abs((rating.get('B') ?? 0) - 0.2) < 1e-3);
    assert.equal(ipwWeight(fit.propensities, 1), 1 / (fit.propensities[1] ?? 1));
    assert.equal(ipwWeight(fit.propensities, 7), 0, 'a position never shown weighs nothing');
  });

  it('says the curve is not identifiable when every query was shown in one order, with the share', () => {
    const counts = new ClickCounts();
    addSessions(counts, ['A', 'B', 'C'], 50, { A: 30, C: 5 });
    const [warning] = biasWarnings(counts, fitPbm(counts));
    assert.ok(warning);
    assert.equal(warning.code, 'not_identifiable');
    assert.equal(warning.multi_position_share, 0);
    addSessions(counts, ['B', 'A', 'C'], 50, { A: 20 });
    // A and B now seen at two positions of three pairs: 2/3, identifiable.
    assert.deepEqual(
      biasWarnings(counts, fitPbm(counts)).map((w) => w.code),
      [],
    );
  });

  it('does not call a runaway fit converged, and says it is degenerate', () => {
    // Only position 1 is ever clicked, though the same objects alternate between positions 0 and 1.
    const counts = new ClickCounts();
    for (let i = 0; i < 40; i++) {
      const order = i % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
      const events: [string, string][] = i % 4 < 2 ? [[order[1] ?? '', 'click']] : [];
      counts.add(signalOf(session('q', order, events), DEFAULT_EVENT_WEIGHTS, 10));
    }
    const fit = fitPbm(counts);
    const codes = biasWarnings(counts, fit).map((w) => w.code);
    assert.ok(codes.includes('degenerate'), codes.join());
    assert.ok(!fit.converged || (fit.propensities[1] ?? 0) < 10, 'converged, yet the curve ran away');
  });
});

describe("a split: the test part rated with the train part's position model", () => {
  it('ignores positions the train part never reached, instead of inventing a propensity or an expectation', () => {
    // The test part shows T at positions 0 and 4; the train part's model covers positions 0 and 1 only.
    const test = new ClickCounts();
    for (let i = 0; i < 20; i++) {
      const order = i % 2 === 0 ? ['T', 'U', 'V', 'W', 'X'] : ['X', 'U', 'V', 'W', 'T'];
      const clicked: [string, string][] = i % 4 === 0 ? [['T', 'click']] : i % 4 === 1 ? [['T', 'click']] : [];
      test.add(signalOf(session('q', order, clicked), DEFAULT_EVENT_WEIGHTS, 10));
    }
    const fit = fitPbm(test, { tolerance: 1e-9, maxIterations: 10_000, propensities: [1, 0.5] });
    const rating = new Map([...fit.attractiveness].map(([pair, value]) => [pair.objectId, value]));
    // At position 0, T was clicked in 5 of its 10 impressions, and position 0 is examined for sure.
    assert.ok(Math.abs((rating.get('T') ?? 0) - 0.5) < 1e-6, String(rating.get('T')));
    assert.equal(rating.get('W'), 0, 'W was only shown where the model says nothing');
    const coec = coecRating([0.25, 0.1]);
    const t = test.sortedPairs().find((pair) => pair.objectId === 'T');
    assert.ok(t);
    // Expected at position 0: 10 x 0.25; its clicks there: 5 (those at position 4 are not compared with 0).
    assert.equal(coec(t), 5 / 2.5);
  });
});

describe("a session's signal", () => {
  it('weights events by type, counts repeats once at their highest weight, ignores unweighted types', () => {
    const weights = parseEventWeights('view=0,wishlist=1.5');
    assert.deepEqual(weights, { click: 1, add_to_cart: 2, purchase: 3, wishlist: 1.5 });
    const signal = signalOf(
      session(
        'q',
        ['A', 'B', 'C', 'D'],
        [
          ['A', 'click'],
          ['A', 'purchase'],
          ['A', 'click'],
          ['B', 'view'],
          ['C', 'wishlist'],
          ['Z', 'click'],
          ['Y', 'hover'],
        ],
      ),
      weights,
      10,
    );
    assert.deepEqual(signal.weights, [3, 0, 1.5, 0]);
    assert.equal(signal.notShown, 1, 'Z was clicked but not shown; Y is of an ignored type');
    assert.deepEqual(signalOf(session('q', ['A', 'B', 'C'], [['C', 'click']]), weights, 2).weights, [0, 0]);
  });

  it('weighs event types named like built-in object properties as any type without a weight', () => {
    const weights = parseEventWeights('__proto__=2');
    assert.equal(Object.getPrototypeOf(weights), Object.prototype, 'the weights object itself is untouched');
    const signal = signalOf(
      session(
        'q',
        ['A', 'B', 'C'],
        [
          ['B', 'click'],
          ['B', 'toString'],
          ['C', 'constructor'],
          ['A', '__proto__'],
        ],
      ),
      weights,
      10,
    );
    assert.deepEqual(signal.weights, [2, 1, 0]);
  });

  it('refuses malformed event weights, naming the part', () => {
    for (const spec of ['click', 'click=-1', 'click=x', '=2', 'click=1001']) {
      assert.throws(
        () => parseEventWeights(spec),
        new RegExp(`"${spec.split(',')[0] ?? ''}" is not <event_type>=<weight>`),
      );
    }
  });

  it('gives click rows per interacted result and skip-above pairs over the unclicked results above', () => {
    const signal = signalOf(
      session(
        'q',
        ['A', 'B', 'C', 'D'],
        [
          ['B', 'click'],
          ['D', 'purchase'],
        ],
      ),
      DEFAULT_EVENT_WEIGHTS,
      10,
    );
    assert.deepEqual(
      clickRows(signal, null).map((r) => [r.positive, r.position, r.weight]),
      [
        ['doc B', 1, 1],
        ['doc D', 3, 3],
      ],
    );
    assert.deepEqual(
      skipAboveRows(signal, 'train').map((r) => [r.positive, r.negative, r.negativePosition, r.split]),
      [
        ['doc B', 'doc A', 0, 'train'],
        ['doc D', 'doc A', 0, 'train'],
        ['doc D', 'doc C', 2, 'train'],
      ],
    );
  });
});

describe('ratings', () => {
  it('rates by raw CTR, by clicks over expected clicks (COEC), and by won skip-above pairs', () => {
    const counts = new ClickCounts();
    addSessions(counts, ['A', 'B'], 10, { A: 6, B: 1 });
    addSessions(counts, ['B', 'A'], 10, { B: 4, A: 2 });
    const byObject = (rating: (p: never) => number) =>
      Object.fromEntries(counts.sortedPairs().map((pair) => [pair.objectId, rating(pair as never)]));
    assert.deepEqual(byObject(clicksRating), { A: 8 / 20, B: 5 / 20 });
    // CTR at position 0: (6 + 4) / 20 = 0.5; at 1: (1 + 2) / 20 = 0.15. Each object: 10 impressions at each.
    const ctr = positionCtr(counts.positions);
    assert.deepEqual(ctr, [0.5, 0.15]);
    const coec = byObject(coecRating(ctr));
    assert.ok(Math.abs((coec.A ?? 0) - 8 / 6.5) < 1e-12 && Math.abs((coec.B ?? 0) - 5 / 6.5) < 1e-12);
    // Skip-above: a click at position 1 beats the unclicked result at 0.
    // A at 0 unclicked while B at 1 clicked: in the first order, session 0 (both clicked: no pair).
    const skip = byObject(skipAboveRating);
    assert.ok((skip.A ?? 0) > 0 && (skip.A ?? 0) < 1, String(skip.A));
  });
});

it('splits by a hash: the same key always in the same part, about the fraction in the test part', () => {
  const keys = Array.from({ length: 4000 }, (_, i) => `query ${i}`);
  const test = keys.filter((key) => splitOf(key, 0.2) === 'test').length;
  assert.ok(test > 700 && test < 900, String(test));
  for (const key of keys.slice(0, 50)) assert.equal(splitOf(key, 0.2), splitOf(key, 0.2));
});
