import assert from 'node:assert/strict';
import { ClickstreamError, type FieldError } from '../../src/domain/errors.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import type { IngestRules } from '../../src/domain/session.js';

/** The default ingest rules: default limits and the default time window. */
export const DEFAULT_RULES: IngestRules = {
  limits: DEFAULT_LIMITS,
  window: { pastSeconds: 86400, futureSeconds: 300 },
};

/** The field errors of a validation that must fail with `validation_failed`. */
export function fieldErrorsOf(validate: () => unknown): readonly FieldError[] {
  try {
    validate();
  } catch (error) {
    assert.ok(error instanceof ClickstreamError, `unexpected error ${String(error)}`);
    assert.equal(error.code, 'validation_failed');
    return error.errors;
  }
  assert.fail('the input was accepted');
}

/** The message of the one field error of a failing validation, checked to be at `path`. */
export function onlyFieldError(validate: () => unknown, path: string): string {
  const problems = fieldErrorsOf(validate);
  assert.deepEqual(
    problems.map((p) => p.path),
    [path],
    JSON.stringify(problems),
  );
  return problems[0]?.message ?? '';
}
