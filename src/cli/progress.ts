/**
 * Progress of a long command on standard error, when it is a terminal: sessions read, their rate, and the
 * time left; rewritten in place at most twice a second. Elsewhere (a pipe, a log file) it stays silent.
 */
export interface ProgressReporter {
  readonly update: (read: number, total: number) => void;
  done(): void;
}

const EVERY_MS = 500;

export function progressReporter(err: NodeJS.WritableStream, command: string): ProgressReporter {
  if (!(err as { isTTY?: boolean }).isTTY) return { update: () => undefined, done: () => undefined };
  const started = Date.now();
  let shown = 0;
  let written = false;
  return {
    update: (read, total) => {
      const now = Date.now();
      if (now - shown < EVERY_MS) return;
      shown = now;
      const rate = read / Math.max(0.001, (now - started) / 1000);
      const left = total > read ? `, about ${Math.ceil((total - read) / rate)} s left` : '';
      err.write(`\r\u001b[Kclickstream ${command}: ${read} of ${total} sessions read (${Math.round(rate)}/s${left})`);
      written = true;
    },
    done: () => {
      if (written) err.write('\r\u001b[K');
    },
  };
}
