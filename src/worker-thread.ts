import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the thread whose module is `name` (without extension) beside the module at `besideUrl` (the
 * caller's `import.meta.url`). Compiled, that is the .js file. Under tsx (the tests run the sources) it is
 * the .ts source, and the thread registers tsx itself first: Node 20 does not pass `--import` on to threads.
 */
export function startWorker(besideUrl: string, name: string, options: WorkerOptions): Worker {
  if (!besideUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, besideUrl), options);
  const source = new URL(`./${name}.ts`, besideUrl).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
