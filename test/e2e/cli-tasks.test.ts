/**
 * `clickstream tasks list|show|create|cancel|restart` as processes against a real service with an admin
 * key: tasks created on a batch released over HTTP, read back as a table and as JSON, canceled and
 * restarted, idempotent by key; the server's refusals (exit 1 with its code) and the usage errors (exit 2).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import type { CommandIO, CommandSpec } from '../../src/cli/command.js';
import { parseCommand, UsageError, type ParsedCommand } from '../../src/cli/flags.js';
import {
  runTasksCancel,
  runTasksCreate,
  runTasksList,
  runTasksRestart,
  runTasksShow,
  tasksCancelCommand,
  tasksCreateCommand,
  tasksListCommand,
  tasksRestartCommand,
  tasksShowCommand,
} from '../../src/cli/tasks-command.js';
import type { Task } from '../../src/schemas/tasks.js';
import { id, makeSession, scratchDir } from '../support/factories.js';
import { runCliProcess, startService, type CliResult, type ServiceProcess } from '../support/service-process.js';

const ADMIN = `admin-${id('key')}`;
const COMMANDS = ['list', 'show', 'create', 'cancel', 'restart'] as const;
const FLAGS: Readonly<Record<(typeof COMMANDS)[number], readonly string[]>> = {
  list: ['--status', '--batch-id', '--model', '--offset', '--limit', '--json', '--url'],
  show: ['--id', '--url'],
  create: ['--model', '--batch-id', '--method', '--params', '--metadata', '--idempotency-key', '--id', '--url'],
  cancel: ['--id', '--url'],
  restart: ['--id', '--url'],
};

type Run = (parsed: ParsedCommand, io: CommandIO) => Promise<void>;

/** For the commands run in this process: they must refuse before they write or open anything. */
const silentIO: CommandIO = {
  out: new PassThrough(),
  err: new PassThrough(),
  withStore: () => Promise.reject(new Error('a tasks command opened the store')),
};

function explain(result: CliResult): string {
  return `exit ${result.code} (signal ${result.signal})\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

function taskOf(result: CliResult): Task {
  assert.equal(result.code, 0, explain(result));
  return JSON.parse(result.stdout) as Task;
}

// Concurrent: each CLI process spends most of its second starting up, so the tests overlap their waits.
describe('clickstream tasks against a running service', { timeout: 60_000, concurrency: true }, () => {
  const scratch = scratchDir();
  let service: ServiceProcess;
  let batchId: string;

  /** Runs `clickstream tasks <args>` on the service, with the admin key unless the environment says otherwise. */
  const tasks = (args: readonly string[], env: Readonly<Record<string, string>> = {}) =>
    runCliProcess(scratch.dir, ['tasks', ...args], {
      CLICKSTREAM_URL: service.baseUrl,
      CLICKSTREAM_ADMIN_KEY: ADMIN,
      ...env,
    });

  async function post(path: string, body: unknown): Promise<unknown> {
    const response = await fetch(`${service.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    assert.equal(response.status, 200, `POST ${path}: ${text}`);
    return JSON.parse(text);
  }

  before(async () => {
    service = await startService(scratch.dir, { CLICKSTREAM_ADMIN_KEY: ADMIN });
    for (let i = 0; i < 3; i++) await post('/api/v1/clickstream/session', makeSession());
    const released = (await post('/api/v1/clickstream/internal/batch/release', { release_id: id('release') })) as {
      batch_id: string;
    };
    batchId = released.batch_id;
  });
  after(async () => {
    await service.kill();
    scratch.cleanup();
  });

  it('creates a task, returns it again for a repeated key, lists, shows, cancels and restarts it', async () => {
    const model = id('model');
    const create = [
      'create',
      '--model',
      model,
      '--batch-id',
      batchId,
      '--method',
      'clicks',
      '--params',
      '{"format":"jsonl","max_position":5}',
      '--metadata',
      '{"owner":"search-team"}',
      '--idempotency-key',
      id('key'),
    ];
    const created = taskOf(await tasks(create));
    assert.equal(created.status, 'pending');
    assert.equal(created.embedding_model_id, model);
    assert.equal(created.batch_id, batchId);
    assert.equal(created.method, 'clicks');
    assert.equal(created.params.format, 'jsonl');
    assert.deepEqual(created.metadata, { owner: 'search-team' });

    const [again, lines, shown] = await Promise.all([
      tasks(create),
      tasks(['list', '--json', '--batch-id', batchId, '--limit', '1000', '--offset', '0']),
      tasks(['show', '--id', created.id]),
    ]);
    assert.equal(taskOf(again).id, created.id, 'a repeated --idempotency-key returns the first task');
    assert.equal(lines.code, 0, explain(lines));
    const listed = lines.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Task);
    assert.deepEqual(
      listed.filter((t) => t.id === created.id),
      [created],
      lines.stdout,
    );
    assert.deepEqual(taskOf(shown), created);

    const canceled = taskOf(await tasks(['cancel', '--id', created.id]));
    assert.equal(canceled.status, 'canceled');
    const table = await tasks(['list', '--model', model, '--status', 'canceled']);
    assert.equal(table.code, 0, explain(table));
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^id\s+status\s+model\s+batch\s+method\s+attempts\s+updated_at\s+worker$/);
    assert.deepEqual(rest, [], table.stdout);
    assert.deepEqual(row?.split(/\s+/), [
      created.id,
      'canceled',
      model,
      batchId,
      'clicks',
      '0',
      new Date(canceled.updated_at * 1000).toISOString().replace('.000Z', 'Z'),
      '-',
    ]);
    const restarted = taskOf(await tasks(['restart', '--id', created.id]));
    assert.equal(restarted.status, 'pending');
    assert.equal(restarted.attempts, 0);
  });

  it("exits 1 with the server's code for a wrong key and an unknown task", async () => {
    const [wrongKey, unknown] = await Promise.all([
      tasks(['list'], { CLICKSTREAM_ADMIN_KEY: `wrong-${id('key')}` }),
      tasks(['show', '--id', id('unknown')]),
    ]);
    assert.equal(wrongKey.code, 1, explain(wrongKey));
    assert.match(wrongKey.stderr, /^clickstream tasks list: unauthorized: /);
    assert.equal(unknown.code, 1, explain(unknown));
    assert.match(unknown.stderr, /^clickstream tasks show: task_not_found: /);
  });

  it('exits 2 naming the flag for bad --params, and naming the five commands for `tasks` alone', async () => {
    const [badParams, alone] = await Promise.all([
      tasks(['create', '--model', id('model'), '--params', '[1]']),
      tasks([]),
    ]);
    assert.equal(badParams.code, 2, explain(badParams));
    assert.match(badParams.stderr, /^clickstream tasks create: --params must be a JSON object/);
    assert.equal(alone.code, 2, explain(alone));
    for (const name of COMMANDS) assert.ok(alone.stderr.includes(`tasks ${name}`), alone.stderr);
  });

  it('refuses every other bad or missing flag before any request, naming the flag (in this process)', async () => {
    const cases: readonly [CommandSpec, Run, readonly string[], RegExp][] = [
      [
        tasksCreateCommand,
        runTasksCreate,
        ['--model', 'm', '--metadata', 'not json'],
        /--metadata must be a JSON object/,
      ],
      [tasksCreateCommand, runTasksCreate, ['--model', 'm', '--params', 'null'], /--params must be a JSON object/],
      [tasksCreateCommand, runTasksCreate, ['--model', 'm', '--method', 'magic'], /--method must be one of clicks/],
      [tasksCreateCommand, runTasksCreate, ['--batch-id', 'b'], /--model is required/],
      [tasksCreateCommand, runTasksCreate, ['--model', ''], /--model is required/],
      [tasksShowCommand, runTasksShow, [], /--id is required/],
      [tasksCancelCommand, runTasksCancel, [], /--id is required/],
      [tasksRestartCommand, runTasksRestart, [], /--id is required/],
      [tasksListCommand, runTasksList, ['--limit', 'ten'], /--limit must be a whole number/],
      [tasksListCommand, runTasksList, ['--limit', '1001'], /--limit must be a whole number from 1 to 1000/],
      [tasksListCommand, runTasksList, ['--limit', '0'], /--limit must be a whole number/],
      [tasksListCommand, runTasksList, ['--offset=-1'], /--offset must be a whole number 0 or more/],
      [tasksListCommand, runTasksList, ['--offset', '1e3'], /--offset must be a whole number/],
      [tasksListCommand, runTasksList, ['--status', 'sleeping'], /--status must be one of pending/],
      [tasksListCommand, runTasksList, ['--url', 'ftp://example.com'], /--url/],
    ];
    // Nothing listens on port 9: a flag that were not refused first would fail on the connection instead.
    for (const [spec, run, args, message] of cases) {
      const parsed = parseCommand(spec, ['--url', 'http://127.0.0.1:9', ...args], {});
      await assert.rejects(run(parsed, silentIO), (error: unknown) => {
        assert.ok(error instanceof UsageError, `${spec.name} ${args.join(' ')}: ${String(error)}`);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  it('prints the help of each command with its flags, exit 0', async () => {
    const results = await Promise.all(COMMANDS.map((name) => tasks([name, '--help'])));
    results.forEach((result, i) => {
      const name = COMMANDS[i] ?? 'list';
      assert.equal(result.code, 0, explain(result));
      assert.match(result.stdout, new RegExp(`^clickstream tasks ${name}: `));
      for (const flag of FLAGS[name]) assert.ok(result.stdout.includes(flag), `${name} --help lists ${flag}`);
      assert.ok(result.stdout.includes('CLICKSTREAM_ADMIN_KEY'), `${name} --help says where the key comes from`);
    });
  });
});
