/**
 * Which load generator can measure the ceiling? Runs the events scenario of bench/run.ts (POST
 * /session/events, 2 events, unique event ids) against bench/lib/ceiling-server.ts with autocannon (in a process
 * of its own, bodies built per request by setupRequest, and once more with one fixed body as its best case)
 * and with wrk + bench/load.lua (1 and 2 threads), and reports for each the requests/s it got from the same
 * server and the CPU it used (cores, and microseconds per request). A generator that uses more CPU per
 * request than the server, or leaves the server short of a full core, measures itself, not the server.
 *
 * Usage: npm run bench:generators [-- --duration 10 --connections 64 --quiet-wait 60]
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { exited, ROOT, sleep, startBenchServer, stopProcess } from '../lib/child-processes.js';
import { cpuWindow, waitForQuietMachine } from '../lib/proc-stats.js';
import { runWrk, wrkVersion } from '../lib/wrk-runner.js';

const EVENTS_PATH = '/api/v1/clickstream/session/events';
let QUIET_WAIT_S = 60;

/** The body load.lua's events scenario sends for request `counter` (same shape, same sizes). */
function eventsBody(tag: string, counter: number, sessions: number): string {
  const id = `${tag}-1-${counter}`;
  return JSON.stringify({
    session_id: `s-${counter % sessions}`,
    events: [
      { event_id: `${id}a`, object_id: `obj-${counter % 20}`, event_type: 'click' },
      { event_id: `${id}b`, object_id: `obj-${(counter + 7) % 20}`, event_type: 'view' },
    ],
  });
}

/** The autocannon side, run as `generator-check.ts --autocannon-child URL SECONDS CONNECTIONS MODE`. */
async function autocannonChild(argv: readonly string[]): Promise<void> {
  const [url = '', seconds = '10', connections = '64', mode = 'setup'] = argv;
  let counter = 0;
  const common = {
    url,
    connections: Number(connections),
    duration: Number(seconds),
    pipelining: 1,
    timeout: 30,
    headers: { 'content-type': 'application/json' },
  };
  const result =
    mode === 'setup'
      ? await autocannon({
          ...common,
          requests: [
            {
              method: 'POST',
              path: EVENTS_PATH,
              setupRequest: (request) => ({ ...request, body: eventsBody('ac', ++counter, 10_000) }),
            },
          ],
        })
      : await autocannon({ ...common, url: `${url}${EVENTS_PATH}`, method: 'POST', body: eventsBody('ac', 1, 10_000) });
  console.log(
    `AUTOCANNON-JSON ${JSON.stringify({
      requests: result.requests.total,
      seconds: result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
    })}`,
  );
}

interface Row {
  readonly generator: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
  readonly serverCores: number;
  readonly generatorCores: number;
  readonly machineCores: number;
}

function field(value: unknown, key: string): number {
  const entries: [string, unknown][] = typeof value === 'object' && value !== null ? Object.entries(value) : [];
  const found = entries.find(([k]) => k === key)?.[1];
  return typeof found === 'number' ? found : Number.NaN;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '64' },
      'quiet-wait': { type: 'string', default: '60' },
    },
  });
  const seconds = Number(args.duration);
  QUIET_WAIT_S = Number(args['quiet-wait']);
  const connections = Number(args.connections);
  const version = wrkVersion();
  if (version === null) throw new Error('wrk is not installed: apt-get install wrk (Debian package)');

  const cleanups: (() => Promise<void>)[] = [];
  const register = (undo: () => Promise<void>): void => {
    cleanups.push(undo);
  };
  const ceiling = await startBenchServer('ceiling-server.ts', register);
  const serverPid = ceiling.child.pid ?? -1;
  const rows: Row[] = [];
  try {
    for (const mode of ['setup', 'fixed'] as const) {
      await waitForQuietMachine([serverPid], QUIET_WAIT_S, 0.25);
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--autocannon-child',
          ceiling.base,
          String(seconds),
          String(connections),
          mode,
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      register(() => stopProcess(child));
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      // autocannon needs about a second to start; then measure the steady part, as runWrk does.
      await sleep(1500);
      const window = cpuWindow(
        new Map([
          ['server', [serverPid]],
          ['generator', [child.pid ?? -1]],
        ]),
      );
      await sleep((seconds - 2) * 1000);
      const cpu = window.stop();
      await exited(child);
      const line = stdout.split('\n').find((l) => l.startsWith('AUTOCANNON-JSON '));
      if (line === undefined) throw new Error(`autocannon printed no result: ${stdout}`);
      const parsed: unknown = JSON.parse(line.slice('AUTOCANNON-JSON '.length));
      rows.push({
        generator:
          mode === 'setup'
            ? 'autocannon 9, own process, body built per request (setupRequest)'
            : 'autocannon 9, own process, one fixed body (its best case; not usable: ids must be unique)',
        rps: field(parsed, 'requests') / field(parsed, 'seconds'),
        p50: field(parsed, 'p50'),
        p99: field(parsed, 'p99'),
        failed: field(parsed, 'non2xx') + field(parsed, 'errors'),
        serverCores: cpu.byName.get('server') ?? Number.NaN,
        generatorCores: cpu.byName.get('generator') ?? Number.NaN,
        machineCores: cpu.machine,
      });
    }
    for (const threads of [1, 2]) {
      await waitForQuietMachine([serverPid], QUIET_WAIT_S, 0.25);
      const result = await runWrk({
        url: ceiling.base,
        threads,
        connections,
        seconds,
        script: { scenario: 'events', tag: `check${threads}`, sessions: 10_000, prefix: 's-' },
        watch: new Map([['server', [serverPid]]]),
        register,
      });
      rows.push({
        generator: `${version.split(' ').slice(0, 2).join(' ')}, ${threads} thread${threads > 1 ? 's' : ''}, bench/load.lua`,
        rps: result.requests / result.seconds,
        p50: result.latencyMs.p50,
        p99: result.latencyMs.p99,
        failed: result.non2xx + result.socketErrors + result.timeouts,
        serverCores: result.cpu.get('server') ?? Number.NaN,
        generatorCores: result.cpu.get('generator') ?? Number.NaN,
        machineCores: result.machineCpu,
      });
    }
  } finally {
    for (let undo = cleanups.pop(); undo; undo = cleanups.pop()) await undo();
  }
  const lines = [
    `Ceiling server (bench/lib/ceiling-server.ts), events bodies, ${connections} connections, ${seconds} s each;`,
    `${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}. CPU in cores over the steady part.`,
    '',
    '| generator | req/s | p50 ms | p99 ms | failed | server CPU | generator CPU | generator µs/request | machine busy |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.generator} | ${Math.round(r.rps)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.failed} | ` +
        `${r.serverCores.toFixed(2)} | ${r.generatorCores.toFixed(2)} | ${((r.generatorCores / r.rps) * 1e6).toFixed(0)} | ` +
        `${r.machineCores.toFixed(2)} |`,
    ),
  ];
  console.log(lines.join('\n'));
}

if (process.argv[2] === '--autocannon-child') await autocannonChild(process.argv.slice(3));
else await main();
