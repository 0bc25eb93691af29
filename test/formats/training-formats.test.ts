import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FORMAT_FILES,
  TRAINING_FORMATS,
  createJudgmentWriter,
  createPairWriter,
  isPairFormat,
} from '../../src/formats/training-formats.js';
import { MemoryOutput, makeJudgmentRow, makePairRow } from './format-support.js';

describe('training formats', () => {
  it('lists the four formats, each with a media type and an extension', () => {
    assert.deepEqual([...TRAINING_FORMATS], ['sentence-transformers', 'jsonl', 'judgments', 'parquet']);
    assert.deepEqual(
      TRAINING_FORMATS.map((format) => [format, FORMAT_FILES[format].mediaType, FORMAT_FILES[format].extension]),
      [
        ['sentence-transformers', 'application/x-ndjson', '.jsonl'],
        ['jsonl', 'application/x-ndjson', '.jsonl'],
        ['judgments', 'application/x-ndjson', '.jsonl'],
        ['parquet', 'application/vnd.apache.parquet', '.parquet'],
      ],
    );
  });

  it('tells pair formats from the judgments format', () => {
    assert.deepEqual(TRAINING_FORMATS.filter(isPairFormat), ['sentence-transformers', 'jsonl', 'parquet']);
  });

  it('types each writer by its rows', () => {
    // Compile-time checks (typecheck fails if a line below stops being an error); never run.
    const check = (): void => {
      // @ts-expect-error judgments is not a pair format
      createPairWriter('judgments', new MemoryOutput());
      // @ts-expect-error a pair writer takes pair rows
      void createPairWriter('jsonl', new MemoryOutput()).write(makeJudgmentRow());
      // @ts-expect-error a judgment writer takes judgment rows
      void createJudgmentWriter(new MemoryOutput()).write(makePairRow());
    };
    assert.equal(typeof check, 'function');
  });
});
