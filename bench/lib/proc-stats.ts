/**
 * What /proc says about processes and the machine (Linux only): CPU time of a process, busy CPU of the
 * machine, resident set size. The benchmark uses them to report the service's peak RSS and where the CPU
 * went during a measurement (service, load generator, database, anything else on the machine).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = ((): number => {
  const run = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(run.stdout.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
})();

/** User + system CPU seconds a live process has used so far; null once it is gone. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** CPU seconds of all CPUs so far: busy (everything but idle and iowait) and total. */
export function machineCpuSeconds(): { readonly busy: number; readonly total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, t) => sum + t, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

/** A memory figure of /proc/<pid>/status in bytes (VmRSS: now; VmHWM: peak so far); null once it is gone. */
export function processMemoryBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}

/** CPU used by a set of processes and by the machine between start() and stop(), in cores (1 = one CPU busy). */
export interface CpuWindow {
  readonly stop: () => { readonly seconds: number; readonly machine: number; readonly byName: Map<string, number> };
}

export function cpuWindow(pids: ReadonlyMap<string, readonly number[]>): CpuWindow {
  const startedAt = performance.now();
  const machineStart = machineCpuSeconds();
  const sum = (list: readonly number[]): number => list.reduce((s, pid) => s + (processCpuSeconds(pid) ?? 0), 0);
  const starts = new Map([...pids].map(([name, list]) => [name, sum(list)]));
  return {
    stop: () => {
      const seconds = (performance.now() - startedAt) / 1000;
      const machineEnd = machineCpuSeconds();
      const byName = new Map(
        [...pids].map(([name, list]) => [name, (sum(list) - (starts.get(name) ?? 0)) / seconds] as const),
      );
      return { seconds, machine: (machineEnd.busy - machineStart.busy) / seconds, byName };
    },
  };
}

/**
 * Waits (up to `maxSeconds`) until work on the machine other than the processes `ours` uses less than
 * `cores`, so that runs are not measured while, say, a test suite runs next to them. Returns what was left,
 * in cores, and says so when the wait ran out.
 */
export async function waitForQuietMachine(ours: readonly number[], maxSeconds: number, cores: number): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const window = cpuWindow(new Map([['ours', ours]]));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const measured = window.stop();
    const other = measured.machine - (measured.byName.get('ours') ?? 0);
    if (other < cores) return other;
    if (Date.now() >= deadline) {
      console.log(`   (machine still busy with other work after ${maxSeconds} s: ${other.toFixed(2)} cores)`);
      return other;
    }
  }
}
