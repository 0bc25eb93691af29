/**
 * One log line per answered request: at `info` for refusals (4xx) and `warn` for failures (5xx), so that
 * an operator sees rejected traffic at the default level, and at `debug` for the rest. A line names the
 * method, the route (or, for a path no route serves, the path without its query string, which may hold a
 * key), the status, the problem code and the time taken; never a body, a header or a query string.
 */
import { levels } from 'pino';
import type { ErrorCode } from '../domain/errors.js';
import type { Problem } from '../schemas/records.js';
import type { App } from './app-types.js';
import { pathOf } from './problem.js';

declare module 'fastify' {
  interface FastifyReply {
    /** The code of the problem this reply answers, set by the error handler; null for a success. */
    problemCode: ErrorCode | null;
    /** The problem this reply answers (its body, as sent), for the events debugger; null for a success. */
    problem: Problem | null;
  }
}

export function registerRequestLog(app: App): void {
  app.decorateReply('problemCode', null);
  app.decorateReply('problem', null);
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'warn' : status >= 400 ? 'info' : 'debug';
    // The level is checked first: a busy server answers thousands of successes a second, none of them logged.
    // pino's own level numbers; a logger's level is one of their names, or "silent" (none of them).
    if ((levels.values[request.log.level] ?? Infinity) <= (levels.values[level] ?? 0)) {
      request.log[level](
        {
          method: request.method,
          route: request.routeOptions.url ?? pathOf(request.url),
          status,
          ...(reply.problemCode !== null ? { code: reply.problemCode } : {}),
          ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        status >= 400 ? 'request refused' : 'request completed',
      );
    }
    done();
  });
}
