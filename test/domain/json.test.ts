import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findExcessiveNesting, sameJson, serializedBytes } from '../../src/domain/json.js';

describe('findExcessiveNesting', () => {
  it('accepts nesting up to the limit', () => {
    assert.equal(findExcessiveNesting('[[[]]]', 3), null);
    assert.equal(findExcessiveNesting('{"a":{"b":[1,{"c":2}]}}', 4), null);
    assert.equal(findExcessiveNesting('"just a string"', 1), null);
    assert.equal(findExcessiveNesting('', 1), null);
  });

  it('reports the depth and the offset where the limit was first exceeded', () => {
    assert.deepEqual(findExcessiveNesting('[[[]]]', 2), { depth: 3, offset: 2 });
    assert.deepEqual(findExcessiveNesting('{"a": {"b": [1]}}', 2), { depth: 3, offset: 12 });
    assert.deepEqual(findExcessiveNesting(' { } [ ]', 0), { depth: 1, offset: 1 });
  });

  it('counts depth, not the number of brackets: siblings do not add up', () => {
    const siblings = `[${Array.from({ length: 50 }, () => '[1]').join(',')}]`;
    assert.equal(findExcessiveNesting(siblings, 2), null);
    assert.deepEqual(findExcessiveNesting(siblings, 1), { depth: 2, offset: 1 });
  });

  it('counts objects and arrays alike', () => {
    assert.deepEqual(findExcessiveNesting('{"a":[{"b":[]}]}', 3), { depth: 4, offset: 11 });
  });

  it('ignores brackets inside strings', () => {
    assert.equal(findExcessiveNesting('{"a":"[[[[{{{{"}', 1), null);
    assert.equal(findExcessiveNesting('{"[[[[":1}', 1), null);
  });

  it('ignores escaped quotes inside strings', () => {
    // The escaped quote does not end the string, so the brackets after it are still text.
    assert.equal(findExcessiveNesting('{"a":"x\\"[[[["}', 1), null);
    assert.deepEqual(findExcessiveNesting('{"a":"x\\"[[[[","b":[[]]}', 2), { depth: 3, offset: 20 });
  });

  it('ends a string at a quote after an escaped backslash', () => {
    const text = '{"a":"\\\\","b":[[1]]}';
    assert.deepEqual(findExcessiveNesting(text, 2), { depth: 3, offset: text.indexOf('[[') + 1 });
  });

  it('scans a hostile body without recursion', () => {
    const deep = '['.repeat(1_000_000);
    assert.deepEqual(findExcessiveNesting(deep, 32), { depth: 33, offset: 32 });
  });
});

describe('sameJson', () => {
  it('ignores object key order but not array order', () => {
    assert.ok(sameJson({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }));
    assert.ok(!sameJson([1, 2], [2, 1]));
    assert.ok(!sameJson({ a: 1 }, { a: '1' }));
    assert.ok(!sameJson({ a: 1 }, { a: 1, b: null }));
    assert.ok(sameJson(null, null));
  });
  it('treats -0 as 0, as JSON does', () => {
    assert.ok(sameJson({ rank: -0 }, { rank: 0 }));
    assert.ok(sameJson(-0, 0));
  });
});

describe('serializedBytes', () => {
  it('counts UTF-8 bytes of compact JSON', () => {
    assert.equal(serializedBytes({ a: 1 }), 7);
    assert.equal(serializedBytes('é'), 4);
  });
});
