import type { TaskService } from '../services/tasks.js';
import type { App } from './app-types.js';

/**
 * Hands back tasks whose lease expired every `everySeconds` while the app serves (claims do it too), so
 * that a batch stops reading fine_tuning and a task gets another worker even when no worker claims. No
 * scheduler process: each replica sweeps, and each hand-back is an atomic change that looks again, so
 * replicas never undo each other. A failed sweep is logged and tried again at the next tick.
 */
export function registerLeaseSweep(app: App, tasks: TaskService, everySeconds: number): void {
  if (everySeconds === 0) return;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  app.addHook('onReady', (done) => {
    timer = setInterval(() => {
      if (running) return;
      running = true;
      tasks
        .sweep()
        .then((changed) => {
          if (changed > 0) app.log.info({ tasks: changed }, 'expired task leases handed back');
        })
        .catch((error: unknown) => {
          app.log.warn({ err: error }, 'task lease sweep failed');
        })
        .finally(() => {
          running = false;
        });
    }, everySeconds * 1000);
    timer.unref();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    clearInterval(timer);
    done();
  });
}
