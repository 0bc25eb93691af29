import pino, { type Logger } from 'pino';
import type { LogLevel } from './config/config.js';

/**
 * The process logger: JSON lines, pretty only on a terminal. Keys and bodies are never logged; the
 * redaction list guards the headers that carry keys should a request object ever be logged.
 */
export function createLogger(level: LogLevel, destination: NodeJS.WritableStream = process.stdout): Logger {
  const options = {
    level,
    redact: {
      // err.rawPacket: Node's parser error for a malformed request carries its raw bytes, keys included.
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'headers.authorization',
        'headers["x-api-key"]',
        'err.rawPacket',
      ],
      censor: '[redacted]',
    },
  };
  if (destination === process.stdout && process.stdout.isTTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } } });
  }
  return pino(options, destination);
}
