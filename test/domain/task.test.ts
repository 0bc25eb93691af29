import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  afterLease,
  cancel,
  failedAttempt,
  leaseProblem,
  isSameTaskRequest,
  keptDetail,
  MAX_DETAIL_LENGTH,
  restart,
  TASK_STATUSES,
  type TaskRequest,
  type TaskState,
  type TaskStatus,
} from '../../src/domain/task.js';

const state = (status: TaskStatus, overrides: Partial<TaskState> = {}): TaskState => ({
  status,
  attempts: 2,
  worker_id: status === 'processing' ? 'worker-1' : null,
  lease_expires_at: status === 'processing' ? 1000 : null,
  detail: status === 'failed' ? 'out of memory' : null,
  ...overrides,
});

const request = (overrides: Partial<TaskRequest> = {}): TaskRequest => ({
  embedding_model_id: 'model-1',
  fine_tuning_method: null,
  batch_id: 'batch-1',
  method: 'pbm',
  params: { format: 'sentence-transformers', test_fraction: 0.1 },
  metadata: { team: 'search' },
  deploy_as_blue: null,
  wait_on_conflict: null,
  ...overrides,
});

describe('task transitions', () => {
  it('restarts every task but a processing one, with no attempt made', () => {
    for (const status of TASK_STATUSES) {
      const outcome = restart(state(status));
      if (status === 'processing') assert.deepEqual(outcome, { ok: false, code: 'task_processing' });
      else
        assert.deepEqual(outcome, {
          ok: true,
          state: { status: 'pending', attempts: 0, worker_id: null, lease_expires_at: null, detail: null },
        });
    }
  });

  it('cancels pending, processing and canceled tasks, and refuses finished ones', () => {
    for (const status of TASK_STATUSES) {
      const outcome = cancel(state(status));
      if (status === 'done' || status === 'failed' || status === 'refused') {
        assert.deepEqual(outcome, { ok: false, code: 'task_finished' }, status);
      } else {
        assert.ok(outcome.ok, status);
        assert.equal(outcome.state.status, 'canceled');
        assert.equal(outcome.state.worker_id, null, 'a canceled task has no lease holder');
      }
    }
  });

  it('puts a task whose lease ran out back to pending, or fails it after its last attempt', () => {
    const held = state('processing', { attempts: 2, lease_expires_at: 1000 });
    assert.equal(afterLease(held, 999, 3), held, 'the lease still holds');
    assert.deepEqual(afterLease(held, 1000, 3), {
      ...held,
      status: 'pending',
      worker_id: null,
      lease_expires_at: null,
    });
    const last = afterLease({ ...held, attempts: 3 }, 1000, 3);
    assert.equal(last.status, 'failed');
    assert.match(last.detail ?? '', /lease of worker "worker-1" expired on attempt 3 of 3/);
    assert.equal(afterLease(state('pending'), 5000, 3).status, 'pending');
  });
});

describe('leases', () => {
  const task = (status: TaskStatus, overrides: Partial<TaskState> = {}) => ({ id: 't1', ...state(status, overrides) });

  it('lets only the holder act, and only before its lease ends', () => {
    assert.equal(leaseProblem(task('processing'), 'worker-1', 999), null);
    assert.match(leaseProblem(task('processing'), 'worker-1', 1000) ?? '', /ended at 1000 \(now 1000\)/);
    assert.match(leaseProblem(task('processing'), 'worker-2', 999) ?? '', /held by another worker, not "worker-2"/);
    assert.match(leaseProblem(task('canceled'), 'worker-1', 999) ?? '', /was canceled/);
    for (const status of ['pending', 'done', 'failed', 'refused'] as const) {
      assert.match(leaseProblem(task(status), 'worker-1', 999) ?? '', new RegExp(`is ${status}`));
    }
  });

  it('gives a task back for a retry while attempts are left, and fails it otherwise', () => {
    const back = failedAttempt(state('processing', { attempts: 1 }), 'preempted', true, 3);
    assert.deepEqual(back, {
      status: 'pending',
      attempts: 1,
      worker_id: null,
      lease_expires_at: null,
      detail: 'preempted',
    });
    const last = failedAttempt(state('processing', { attempts: 3 }), 'preempted', true, 3);
    assert.equal(last.status, 'failed');
    assert.equal(last.detail, 'attempt 3 of 3 was the last, no retry is left: preempted');
    const given = failedAttempt(state('processing', { attempts: 1 }), 'x'.repeat(3000), false, 3);
    assert.equal(given.status, 'failed');
    assert.equal(given.detail?.length, MAX_DETAIL_LENGTH);
    assert.equal(given.worker_id, null);
  });
});

describe('task requests and details', () => {
  it('tells a retry from a different request, objects compared by content', () => {
    assert.ok(
      isSameTaskRequest(request(), request({ params: { test_fraction: 0.1, format: 'sentence-transformers' } })),
    );
    assert.ok(!isSameTaskRequest(request(), request({ method: 'clicks' })));
    assert.ok(!isSameTaskRequest(request(), request({ params: { format: 'jsonl', test_fraction: 0.1 } })));
    assert.ok(!isSameTaskRequest(request(), request({ batch_id: null })));
    assert.ok(!isSameTaskRequest(request(), request({ metadata: null })));
  });

  it('keeps a detail of up to 1,500 characters and cuts a longer one between characters', () => {
    assert.equal(keptDetail(null), null);
    const exact = 'x'.repeat(MAX_DETAIL_LENGTH);
    assert.equal(keptDetail(exact), exact);
    const long = `${'é'.repeat(MAX_DETAIL_LENGTH - 2)}👩‍👩‍👧xyz`;
    const kept = keptDetail(long) ?? '';
    const characters = Array.from(new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(kept));
    assert.equal(characters.length, MAX_DETAIL_LENGTH);
    assert.ok(kept.endsWith('👩‍👩‍👧…'), 'the family emoji is kept whole, then the ellipsis');
  });
});
