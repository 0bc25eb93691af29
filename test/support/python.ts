/**
 * A Python interpreter with the packages a test needs, for checks made with another ecosystem's tools (a
 * Parquet file read by pyarrow, a training run of sentence-transformers). One virtual environment under
 * node_modules/.cache (git-ignored, and gone with a fresh `npm ci`) is made once and reused; packages it
 * lacks are installed with pip from whatever index this machine's pip is set up for. A missing interpreter
 * or a failed install throws: a test that needs Python fails with the reason, it never skips.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { REPO_ROOT } from './service-process.js';

const run = promisify(execFile);

const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'clickstream-python');
const VENV_DIR = join(CACHE_DIR, 'venv');
const VENV_PYTHON = join(VENV_DIR, 'bin', 'python');
/** Test files run in parallel processes: one at a time makes or changes the environment. */
const LOCK_DIR = join(CACHE_DIR, 'lock');
/** A lock older than this was left by a killed process (an install takes well under it). */
const STALE_LOCK_MS = 10 * 60_000;
const INSTALL_TIMEOUT_MS = 8 * 60_000;
/** pip's output can be long; the error keeps its end, where the reason is. */
const ERROR_TAIL_CHARS = 4_000;

/**
 * The path of a Python interpreter in which every one of `packages` (distribution names as pip knows
 * them, e.g. `pyarrow`, `sentence-transformers`; no version specifiers) is installed.
 */
export async function pythonWithPackages(packages: readonly string[]): Promise<string> {
  await mkdir(CACHE_DIR, { recursive: true });
  await acquireLock();
  try {
    if (!(await runs(VENV_PYTHON))) await createVenv();
    const missing = await missingPackages(packages);
    if (missing.length > 0) await install(missing);
    return VENV_PYTHON;
  } finally {
    await rm(LOCK_DIR, { recursive: true, force: true });
  }
}

async function acquireLock(): Promise<void> {
  const deadline = Date.now() + STALE_LOCK_MS + INSTALL_TIMEOUT_MS;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      return;
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error;
    }
    const age = await lockAge();
    if (age !== null && age > STALE_LOCK_MS) await rm(LOCK_DIR, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_DIR}; remove it if no test runs`);
    else await sleep(250);
  }
}

async function lockAge(): Promise<number | null> {
  try {
    return Date.now() - (await stat(LOCK_DIR)).mtimeMs;
  } catch (error) {
    if (isCode(error, 'ENOENT')) return null;
    throw error;
  }
}

async function runs(python: string): Promise<boolean> {
  try {
    await run(python, ['-c', 'import sys']);
    return true;
  } catch {
    return false;
  }
}

async function createVenv(): Promise<void> {
  // A half-made environment (an interrupted run) is replaced, not repaired.
  await rm(VENV_DIR, { recursive: true, force: true });
  try {
    await run('python3', ['-m', 'venv', VENV_DIR]);
  } catch (error) {
    throw new Error(`could not create a Python virtual environment with python3 -m venv: ${failureText(error)}`);
  }
}

// Asks the environment's own metadata, which pip writes for every distribution it installs.
const MISSING_SCRIPT = `
import importlib.metadata, json, sys
missing = []
for name in sys.argv[1:]:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        missing.append(name)
print(json.dumps(missing))
`;

async function missingPackages(packages: readonly string[]): Promise<string[]> {
  const { stdout } = await run(VENV_PYTHON, ['-c', MISSING_SCRIPT, ...packages]);
  const missing: unknown = JSON.parse(stdout);
  if (!Array.isArray(missing) || !missing.every((name) => typeof name === 'string')) {
    throw new Error(`unexpected answer from the package check: ${stdout}`);
  }
  return missing;
}

/**
 * A machine whose pip knows a local index besides PyPI, and cannot reach PyPI, would wait minutes on
 * retries of PyPI for every package (measured: 9 min instead of about 70 s for torch and
 * sentence-transformers): one short try is enough to fall back on the index that answers.
 */
const PIP_FLAGS = ['--disable-pip-version-check', '--retries', '1', '--timeout', '15'];

async function install(packages: readonly string[]): Promise<void> {
  try {
    await run(VENV_PYTHON, ['-m', 'pip', 'install', ...PIP_FLAGS, ...packages], {
      timeout: INSTALL_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    throw new Error(
      `pip could not install ${packages.join(', ')} into ${VENV_DIR} (is a package index reachable?): ${failureText(error)}`,
    );
  }
}

function failureText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const stderr = 'stderr' in error && typeof error.stderr === 'string' ? error.stderr.trim() : '';
  const text = stderr === '' ? error.message : stderr;
  return text.length > ERROR_TAIL_CHARS ? `...${text.slice(-ERROR_TAIL_CHARS)}` : text;
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
