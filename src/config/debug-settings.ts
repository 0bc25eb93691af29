/** The events debugger's settings (see http/debug-events.ts), listed in SETTINGS (settings.ts). */
import type { Setting } from './settings.js';
import { flag, fraction, integer } from './setting-parsers.js';

export const DEBUG_SETTINGS: readonly Setting[] = [
  {
    variable: 'CLICKSTREAM_DEBUG_EVENTS',
    defaultValue: '1',
    help: 'Keep the events debugger (GET /api/v1/clickstream/internal/debug/events): every rejected request of the clickstream API and a sample of accepted ones, without keys. Written after the answer, dropped rather than slowing requests. 1/true or 0/false.',
    usedFor: ['service'],
    parse: flag,
    assign: (c, v) => (c.debugEvents = v === true),
  },
  {
    variable: 'CLICKSTREAM_DEBUG_SAMPLE_RATE',
    defaultValue: '0.01',
    help: 'Fraction of accepted requests the events debugger keeps too: 0.01 is 1 in 100, 0 none, 1 all.',
    usedFor: ['service'],
    parse: fraction,
    assign: (c, v) => (c.debugSampleRate = Number(v)),
  },
  {
    variable: 'CLICKSTREAM_DEBUG_EVENTS_MAX_ROWS',
    defaultValue: '10000',
    help: 'Most records the events debugger keeps (the newest); older ones are removed as new ones are written.',
    usedFor: ['service'],
    parse: integer(1, 10_000_000),
    assign: (c, v) => (c.debugEventsMaxRows = Number(v)),
  },
  {
    variable: 'CLICKSTREAM_DEBUG_EVENTS_MAX_AGE_SECONDS',
    defaultValue: '86400',
    help: 'Records of the events debugger older than this are removed as new ones are written.',
    usedFor: ['service'],
    parse: integer(1, 365 * 86400),
    assign: (c, v) => (c.debugEventsMaxAgeSeconds = Number(v)),
  },
  {
    variable: 'CLICKSTREAM_DEBUG_BODY_BYTES',
    defaultValue: '2048',
    help: 'Bytes of a request body the events debugger keeps (its start); 0 keeps none.',
    usedFor: ['service'],
    parse: integer(0, 1024 * 1024),
    assign: (c, v) => (c.debugBodyBytes = Number(v)),
  },
];
