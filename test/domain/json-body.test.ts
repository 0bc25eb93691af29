import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClickstreamError } from '../../src/domain/errors.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import { parseJsonBody } from '../../src/http/json-body.js';

/** The error parseJsonBody throws for `text`, checked to be a ClickstreamError. */
function rejection(text: string, limits = DEFAULT_LIMITS): ClickstreamError {
  try {
    parseJsonBody(text, limits);
  } catch (error) {
    assert.ok(error instanceof ClickstreamError, `unexpected error ${String(error)}`);
    return error;
  }
  assert.fail(`accepted ${JSON.stringify(text.slice(0, 80))}`);
}

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

describe('parseJsonBody', () => {
  it('parses valid JSON', () => {
    assert.deepEqual(parseJsonBody('{"a": [1, {"b": null}], "c": "é"}', DEFAULT_LIMITS), {
      a: [1, { b: null }],
      c: 'é',
    });
  });

  it('locates a missing quote as in the seed example by line and column', () => {
    const lines = ['{', '    "session_id": "c327c30bd3db459093e5f5d254bdd144,', '    "search_query": "q"', '}'];
    const error = rejection(lines.join('\n'));
    assert.equal(error.code, 'invalid_json');
    assert.match(error.message, /^the body is not valid JSON: /);
    const column = (lines[1] ?? '').length + 1;
    assert.ok(error.message.includes(`line 2, column ${column}`), error.message);
  });

  it('locates a missing comma by line and column', () => {
    const error = rejection('{\n  "rank": 0.3\n  "item_info": {}\n}');
    assert.equal(error.code, 'invalid_json');
    assert.ok(error.message.includes('line 3, column 3'), error.message);
  });

  it('locates a trailing comma by line and column', () => {
    const error = rejection('{\n  "created_at": 1703376873,\n}');
    assert.equal(error.code, 'invalid_json');
    assert.ok(error.message.includes('line 3, column 1'), error.message);
  });

  it('locates an unexpected token (no position from V8) with the tolerant parser', () => {
    const error = rejection('\n\n  {"a": tru}');
    assert.equal(error.code, 'invalid_json');
    assert.match(error.message, /line 3, column \d+ \(offset \d+\)/);
  });

  it('does not echo the body in the message', () => {
    const error = rejection(`{"secret": "hunter2-${'x'.repeat(500)}" x}`);
    assert.equal(error.code, 'invalid_json');
    assert.doesNotMatch(error.message, /hunter2/);
    assert.ok(error.message.length < 400, error.message);
  });

  it('rejects an empty or blank body as invalid_json', () => {
    for (const text of ['', '   \n\t']) {
      const error = rejection(text);
      assert.equal(error.code, 'invalid_json');
      assert.match(error.message, /empty/);
    }
  });

  it('rejects a __proto__ key, at the top or nested', () => {
    for (const text of ['{"__proto__": {"polluted": true}}', '{"meta": {"a": 1, "__proto__": {"polluted": true}}}']) {
      const error = rejection(text);
      assert.match(error.message, /prototype/);
      assert.equal(error.code, 'validation_failed');
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    }
  });

  it('rejects a constructor.prototype key', () => {
    const error = rejection('{"constructor": {"prototype": {"polluted": true}}}');
    assert.match(error.message, /prototype/);
  });

  it('accepts nesting up to CLICKSTREAM_MAX_JSON_DEPTH', () => {
    assert.doesNotThrow(() => parseJsonBody(nested(32), DEFAULT_LIMITS));
    assert.doesNotThrow(() => parseJsonBody(`{"a":${nested(31)}}`, DEFAULT_LIMITS));
  });

  it('rejects nesting over the limit naming CLICKSTREAM_MAX_JSON_DEPTH and where', () => {
    const error = rejection(`{"a":\n${nested(32)}}`);
    assert.equal(error.code, 'validation_failed');
    assert.ok(error.message.includes('CLICKSTREAM_MAX_JSON_DEPTH'), error.message);
    assert.ok(error.message.includes('32'), error.message);
    // The 33rd level opens at line 2, column 32.
    assert.ok(error.message.includes('line 2, column 32'), error.message);
  });

  it('checks nesting before parsing, so even invalid deep JSON is reported as too deep', () => {
    const error = rejection('['.repeat(100_000));
    assert.equal(error.code, 'validation_failed');
    assert.match(error.message, /CLICKSTREAM_MAX_JSON_DEPTH/);
  });

  it('follows a configured depth', () => {
    const limits = { ...DEFAULT_LIMITS, maxJsonDepth: 2 };
    assert.doesNotThrow(() => parseJsonBody('{"a":[1]}', limits));
    assert.match(rejection('{"a":[[1]]}', limits).message, /deeper than 2 levels/);
  });

  it('ignores brackets inside strings when counting depth', () => {
    const limits = { ...DEFAULT_LIMITS, maxJsonDepth: 2 };
    assert.deepEqual(parseJsonBody('{"a":"[[[[[\\"[[["}', limits), { a: '[[[[["[[[' });
  });
});
