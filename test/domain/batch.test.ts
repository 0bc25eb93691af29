import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchStatus, newBatchId, withStatus, type BatchRecord } from '../../src/domain/batch.js';

const NOW = 1_703_400_000;

function batch(overrides: Partial<BatchRecord> = {}): BatchRecord {
  return {
    batch_id: newBatchId(NOW - 1000),
    release_id: null,
    created_at: NOW - 1000,
    released_at: null,
    sealed_at: null,
    session_count: 3,
    ...overrides,
  };
}

describe('batchStatus', () => {
  it('is collecting until released', () => {
    assert.equal(batchStatus(batch(), NOW), 'collecting');
    assert.equal(batchStatus(batch(), NOW + 10 * 86400), 'collecting');
  });

  it('is released from released_at until just before sealed_at', () => {
    const released = batch({ release_id: 'r', released_at: NOW, sealed_at: NOW + 600 });
    assert.equal(batchStatus(released, NOW), 'released');
    assert.equal(batchStatus(released, NOW + 599), 'released');
  });

  it('is sealed from sealed_at on, the boundary included', () => {
    const released = batch({ release_id: 'r', released_at: NOW, sealed_at: NOW + 600 });
    assert.equal(batchStatus(released, NOW + 600), 'sealed');
    assert.equal(batchStatus(released, NOW + 601), 'sealed');
  });

  it('is sealed at once with no grace period', () => {
    assert.equal(batchStatus(batch({ release_id: 'r', released_at: NOW, sealed_at: NOW }), NOW), 'sealed');
  });

  it('is added by withStatus without changing the record', () => {
    const record = batch({ release_id: 'r', released_at: NOW, sealed_at: NOW + 600 });
    assert.deepEqual(withStatus(record, NOW + 600), { ...record, status: 'sealed' });
    assert.equal('status' in record, false);
  });
});

describe('newBatchId', () => {
  it('is 24 lowercase hex digits starting with the hex seconds', () => {
    const batchId = newBatchId(1703376873);
    assert.match(batchId, /^[0-9a-f]{24}$/);
    assert.equal(batchId.slice(0, 8), '658777e9');
    assert.equal(batchId.slice(0, 8), (1703376873).toString(16));
  });

  it('pads small times to 8 hex digits', () => {
    const batchId = newBatchId(255);
    assert.match(batchId, /^000000ff[0-9a-f]{16}$/);
  });

  it('differs between calls in the same second', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newBatchId(NOW)));
    assert.equal(ids.size, 100);
  });

  it('sorts by creation time', () => {
    const earlier = newBatchId(NOW);
    const later = newBatchId(NOW + 1);
    assert.ok(earlier.slice(0, 8) < later.slice(0, 8));
  });
});
