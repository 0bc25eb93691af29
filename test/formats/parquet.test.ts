import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createPairWriter, type PairWriterOptions } from '../../src/formats/training-formats.js';
import type { PairRow } from '../../src/learning/rows.js';
import { pythonWithPackages } from '../support/python.js';
import { MemoryOutput, PROVENANCE_KEYS, makeAggregatedRow, makePairRow, writeAll } from './format-support.js';

const run = promisify(execFile);

// Read by pyarrow, not by the writer's own library, so that a file only hyparquet understands fails.
const READ_SCRIPT = `
import json, sys
import pyarrow.parquet as pq
path = sys.argv[1]
table = pq.read_table(path)
meta = pq.ParquetFile(path).metadata
print(json.dumps({
    "columns": [[f.name, str(f.type), f.nullable] for f in table.schema],
    "rows": table.to_pylist(),
    "row_groups": meta.num_row_groups,
    "created_by": meta.created_by,
    "key_value_metadata": {k.decode(): v.decode() for k, v in (meta.metadata or {}).items()},
}, ensure_ascii=False))
`;

interface ReadBack {
  columns: [string, string, boolean][];
  rows: Record<string, unknown>[];
  row_groups: number;
  created_by: string;
  key_value_metadata: Record<string, string>;
}

const ROWS: readonly PairRow[] = [
  makePairRow({
    anchor: 'chaussures de course « rouges »',
    positive: 'Läufer rot 👟',
    negative: '青いサンダル',
    sessionId: 's-1',
    objectId: 'o-2',
    position: 2,
    negativeObjectId: 'o-0',
    negativePosition: 0,
    weight: 0.5,
  }),
  makeAggregatedRow({ anchor: 'q', positive: '', objectId: 'o-9', rating: 0.625 }),
  makePairRow({
    method: 'clicks',
    anchor: 'q',
    positive: 'd',
    negative: null,
    negativeObjectId: null,
    negativePosition: null,
    sessionId: 's-2',
    objectId: 'o-3',
    position: 0,
    weight: 2,
  }),
];

// The same rows as pyarrow should give them back, written out by hand.
const EXPECTED = [
  {
    anchor: 'chaussures de course « rouges »',
    positive: 'Läufer rot 👟',
    negative: '青いサンダル',
    query: 'chaussures de course « rouges »',
    object_id: 'o-2',
    position: 2,
    negative_object_id: 'o-0',
    negative_position: 0,
    session_id: 's-1',
    weight: 0.5,
    rating: null,
    method: 'skip-above',
  },
  {
    anchor: 'q',
    positive: '',
    negative: null,
    query: 'q',
    object_id: 'o-9',
    position: null,
    negative_object_id: null,
    negative_position: null,
    session_id: null,
    weight: null,
    rating: 0.625,
    method: 'pbm',
  },
  {
    anchor: 'q',
    positive: 'd',
    negative: null,
    query: 'q',
    object_id: 'o-3',
    position: 0,
    negative_object_id: null,
    negative_position: null,
    session_id: 's-2',
    weight: 2,
    rating: null,
    method: 'clicks',
  },
];

const EXPECTED_COLUMNS: [string, string, boolean][] = [
  ['anchor', 'string', false],
  ['positive', 'string', false],
  ['negative', 'string', true],
  ['query', 'string', false],
  ['object_id', 'string', false],
  ['position', 'int32', true],
  ['negative_object_id', 'string', true],
  ['negative_position', 'int32', true],
  ['session_id', 'string', true],
  ['weight', 'double', true],
  ['rating', 'double', true],
  ['method', 'string', false],
];

async function parquetBytes(rows: readonly PairRow[], options: PairWriterOptions = {}): Promise<Buffer> {
  const out = new MemoryOutput();
  await writeAll(createPairWriter('parquet', out, options), rows);
  return out.bytes();
}

describe('Parquet', () => {
  let python: string;
  let dir: string;
  let files = 0;

  const readBack = async (bytes: Buffer): Promise<ReadBack> => {
    const path = join(dir, `file-${files++}.parquet`);
    await writeFile(path, bytes);
    const { stdout } = await run(python, ['-c', READ_SCRIPT, path], {
      env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
    });
    return JSON.parse(stdout) as ReadBack;
  };

  before(async () => {
    python = await pythonWithPackages(['pyarrow']);
    dir = await mkdtemp(join(tmpdir(), 'clickstream-parquet-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is read back by pyarrow with the provenance columns, types, nulls and unicode', async () => {
    const table = await readBack(await parquetBytes(ROWS));
    assert.deepEqual(table.columns, EXPECTED_COLUMNS);
    assert.deepEqual(
      table.columns.map(([name]) => name),
      [...PROVENANCE_KEYS],
      'the same columns as the provenance JSONL',
    );
    assert.deepEqual(table.rows, EXPECTED);
    assert.equal(table.row_groups, 1);
  });

  it('adds a required split column last when the output holds a split', async () => {
    const rows = ROWS.map((row, i) => ({ ...row, split: i === 1 ? ('test' as const) : ('train' as const) }));
    const table = await readBack(await parquetBytes(rows, { split: true }));
    assert.deepEqual(table.columns, [...EXPECTED_COLUMNS, ['split', 'string', false]]);
    assert.deepEqual(
      table.rows,
      EXPECTED.map((row, i) => ({ ...row, split: i === 1 ? 'test' : 'train' })),
    );
  });

  it('writes row groups of the given size as rows arrive, in order', async () => {
    const rows = Array.from({ length: 7 }, (_, i) => makePairRow({ objectId: `o-${i}`, position: i }));
    const table = await readBack(await parquetBytes(rows, { rowGroupRows: 3 }));
    assert.equal(table.row_groups, 3);
    assert.deepEqual(
      table.rows.map((row) => row.object_id),
      rows.map((row) => row.objectId),
    );
  });

  it('writes a valid file with the columns and no row when given no rows', async () => {
    const table = await readBack(await parquetBytes([]));
    assert.deepEqual(table.columns, EXPECTED_COLUMNS);
    assert.deepEqual(table.rows, []);
  });

  it('names no time or version in its metadata', async () => {
    const table = await readBack(await parquetBytes(ROWS));
    assert.equal(table.created_by, 'clickstream-collector');
    assert.deepEqual(table.key_value_metadata, {});
  });

  it('gives identical bytes for the same rows', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => (i % 2 === 0 ? makePairRow() : makeAggregatedRow()));
    const first = await parquetBytes(rows, { rowGroupRows: 10 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await parquetBytes(rows, { rowGroupRows: 10 });
    assert.ok(first.length > 0);
    assert.ok(first.equals(second), 'two writes of the same rows differ');
    assert.equal(first.subarray(0, 4).toString('latin1'), 'PAR1');
    assert.equal(first.subarray(-4).toString('latin1'), 'PAR1');
  });

  it('refuses a bad row group size', () => {
    assert.throws(() => createPairWriter('parquet', new MemoryOutput(), { rowGroupRows: 0 }), /rowGroupRows/);
  });
});
