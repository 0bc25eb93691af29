/**
 * The README's "A tour with curl", run as a reader pastes it: its ```sh blocks, in order, in one shell
 * (`bash -e -o pipefail`, so the first failing command fails the tour) against the real service on a
 * fresh scratch store, then the answers and the exported file are checked. The only change made to the
 * README's commands is the address: the tour's `BASE=http://127.0.0.1:5000` line is replaced by the test
 * service's URL. Between blocks the test prints a marker line (on stdout and stderr), to tell which block
 * printed what. The CLI (`npx clickstream`, this repository's built `dist/cli/main.js`: run `npm run build`
 * first) is given the service's store through CLICKSTREAM_DATABASE_URL and runs in a scratch directory
 * inside the repository, where npx resolves the repository's own bin, as it does for a reader in the
 * repository's directory.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BatchSessionsPage, ReleaseResponse } from '../../src/schemas/records.js';
import { scratchDir } from '../support/factories.js';
import { childEnv, REPO_ROOT, startService, type ServiceProcess } from '../support/service-process.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const TOUR_HEADING = '## A tour with curl';
/** The tour's first line; the test replaces it with the test service's address. */
const BASE_LINE = 'BASE=http://127.0.0.1:5000';
/** How long the whole tour may take: a few seconds normally; npx's first run links the package once. */
const TOUR_TIMEOUT_MS = 60_000;

/** The ```sh blocks between the tour's heading and the next `## ` heading, in order. */
function tourBlocks(readme: string): string[] {
  const start = readme.indexOf(`\n${TOUR_HEADING}\n`);
  assert.ok(start >= 0, `README.md has no "${TOUR_HEADING}" section`);
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next === -1 ? undefined : next);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
}

/** The JSON bodies (`-d '...'`) of a block's curl commands. */
function bodies(block: string): unknown[] {
  return [...block.matchAll(/-d '([^']*)'/g)].map((match) => JSON.parse(match[1] ?? '') as unknown);
}

/** A block's `# ...` comment lines (the answers the README shows), joined. */
function shownAnswer(block: string): string {
  return block
    .split('\n')
    .filter((line) => line.startsWith('#'))
    .map((line) => line.replace(/^#\s?/, '').trim())
    .join('');
}

function marker(index: number): string {
  return `@@readme-tour block ${index}@@`;
}

/** What each block printed on one stream: the text between its marker and the next, trimmed. */
function perBlock(output: string, count: number): string[] {
  return Array.from({ length: count }, (_unused, index) => {
    const from = output.indexOf(`${marker(index)}\n`);
    if (from === -1) return '';
    const start = from + marker(index).length + 1;
    const to = output.indexOf(marker(index + 1), start);
    return output.slice(start, to === -1 ? undefined : to).trim();
  });
}

/** The tour as one script: each block after its marker, the BASE line pointed at `baseUrl`. */
function tourScript(blocks: readonly string[], baseUrl: string): string {
  return blocks
    .map((block, index) => {
      const code = index === 0 ? block.replace(`${BASE_LINE}\n`, `BASE='${baseUrl}'\n`) : block;
      const line = `printf '\\n%s\\n' '${marker(index)}'`;
      return `${line}\n${line} >&2\n${code}`;
    })
    .join('\n');
}

interface ShellResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `script` in its own process group (so a timeout ends curl and node too) and returns its output. */
async function runShell(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<ShellResult> {
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (stdout += chunk));
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group has ended meanwhile.
    }
  }, TOUR_TIMEOUT_MS);
  try {
    return await new Promise<ShellResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        resolve({ code, signal, stdout, stderr });
      });
    });
  } finally {
    clearTimeout(timer);
  }
}

function explain(result: ShellResult): string {
  const hint = /clickstream: Permission denied/.test(result.stderr)
    ? '\n(npx links dist/cli/main.js, which a fresh build leaves without its executable bit: chmod +x dist/cli/main.js)'
    : '';
  return `exit ${result.code} (signal ${result.signal})${hint}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

function curlMissing(): boolean {
  const probe = spawnSync('curl', ['--version'], { stdio: 'ignore' });
  return probe.error !== undefined || probe.status !== 0;
}

describe('the README tour with curl, pasted as is', { timeout: 120_000 }, () => {
  const blocks = tourBlocks(README);
  const scratch = scratchDir();
  // Inside the repository (so that npx finds this package's bin), in a folder git and the linters ignore.
  const cacheDir = join(REPO_ROOT, 'node_modules', '.cache');
  let workDir: string | undefined;
  let service: ServiceProcess | undefined;

  before(async () => {
    mkdirSync(cacheDir, { recursive: true });
    workDir = mkdtempSync(join(cacheDir, 'readme-tour-'));
    service = await startService(scratch.dir);
  });
  after(async () => {
    await service?.kill();
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
    scratch.cleanup();
  });

  it('starts with the BASE line, names no other address, and fails on an error answer', () => {
    assert.ok(blocks.length >= 5, `the tour has ${blocks.length} sh blocks`);
    assert.ok(blocks[0]?.startsWith(`${BASE_LINE}\n`), `the tour's first command is \`${BASE_LINE}\``);
    const code = blocks.join('\n');
    assert.equal(code.split('127.0.0.1:5000').length - 1, 1, 'every command but the BASE line uses $BASE');
    for (const line of code.split('\n').filter((text) => /\bcurl\b/.test(text))) {
      assert.match(line, /--fail-with-body|\s-[a-zA-Z]*f[a-zA-Z]*\s/, `this curl does not fail on an error: ${line}`);
    }
  });

  it('runs every block in one shell, and the read-back and the export hold the session', async () => {
    assert.ok(!curlMissing(), 'curl is not installed: the README tour runs it (apt-get install curl; .ci/run does)');
    const cli = join(REPO_ROOT, 'dist', 'cli', 'main.js');
    assert.ok(existsSync(cli), `${cli} is missing: run \`npm run build\` first`);
    assert.ok(service && workDir !== undefined);

    const env = childEnv(scratch.dir);
    // This Node (and its npx) first, as for a reader whose shell finds the Node that ran `npm install`.
    env.PATH = [dirname(process.execPath), env.PATH].filter((part) => part !== undefined).join(delimiter);
    const result = await runShell(tourScript(blocks, service.baseUrl), workDir, env);
    assert.equal(result.code, 0, explain(result));

    const out = perBlock(result.stdout, blocks.length);
    const parse = (index: number): unknown => {
      try {
        return JSON.parse(out[index] ?? '') as unknown;
      } catch {
        assert.fail(`block ${index} did not print one JSON answer:\n${out[index]}\n${explain(result)}`);
      }
    };

    // The tour's own ids: the session of the first block, the events of the second.
    const [sessionBody] = bodies(blocks[0] ?? '') as { session_id: string }[];
    const [eventsBody] = bodies(blocks[1] ?? '') as { events: { event_id: string }[] }[];
    assert.ok(sessionBody && eventsBody);
    const sessionId = sessionBody.session_id;
    const eventIds = eventsBody.events.map((event) => event.event_id);
    assert.equal(eventIds.length, 2);

    // An answer the README shows in full (no "...") is the answer the service gives.
    blocks.forEach((block, index) => {
      const text = shownAnswer(block);
      if (text === '' || text.includes('...')) return;
      assert.deepEqual(parse(index), JSON.parse(text), `block ${index}'s shown answer`);
    });

    const releaseIndex = blocks.findIndex((block) => block.includes('/batch/release') && !block.includes('BATCH_ID='));
    const pageIndex = blocks.findIndex((block) => block.includes('/batch/sessions'));
    assert.ok(releaseIndex >= 0 && pageIndex >= 0, 'the tour releases the batch and reads it back');
    const release = parse(releaseIndex) as ReleaseResponse;
    assert.equal(release.session_count, 1);

    const page = parse(pageIndex) as BatchSessionsPage;
    assert.equal(page.batch_id, release.batch_id, 'the read-back is of the released batch');
    const session = page.sessions.find((s) => s.session_id === sessionId);
    assert.ok(session, `the read-back page holds session ${sessionId}:\n${out[pageIndex]}`);
    assert.deepEqual(
      session.events.map((event) => event.event_id),
      eventIds,
    );

    // The export may warn on stderr (the batch is released but not sealed); its output is what counts.
    const lines = readFileSync(join(workDir, 'batch.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    const exported = lines.map((line) => JSON.parse(line) as { session_id: string; events: { event_id: string }[] });
    const line = exported.find((s) => s.session_id === sessionId);
    assert.ok(line, `batch.jsonl holds session ${sessionId}:\n${lines.join('\n')}\n${explain(result)}`);
    assert.deepEqual(
      line.events.map((event) => event.event_id),
      eventIds,
    );
  });
});
