import type { FieldError } from './errors.js';
import { serializedBytes } from './json.js';
import { LIMIT_VARIABLES, type Limits } from './limits.js';

// C0 and C1 control characters; ids are printed in logs, CSVs and file names downstream.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/u;

/** Collects every problem of a request, each under its JSON path, so one answer can list them all. */
export class Problems {
  readonly list: FieldError[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  /** An identifier: 1..maxIdLength characters, well-formed Unicode, no control characters. */
  checkId(path: string, value: string, limits: Limits): void {
    if (value.length === 0) this.add(path, 'must not be empty');
    else if (value.length > limits.maxIdLength) {
      this.add(
        path,
        `is ${value.length} characters; the limit is ${limits.maxIdLength} (${LIMIT_VARIABLES.maxIdLength})`,
      );
    } else if (CONTROL_CHARACTER.test(value)) this.add(path, 'must not contain control characters');
    else if (!value.isWellFormed()) this.add(path, 'must be well-formed Unicode (it holds a lone surrogate)');
  }

  /** A JSON value whose serialized size is bounded by the named limit. */
  checkSize(path: string, value: unknown, limit: 'maxMetaBytes' | 'maxSearchMetaBytes', limits: Limits): void {
    const bytes = serializedBytes(value);
    if (bytes > limits[limit]) {
      this.add(path, `is ${bytes} bytes serialized; the limit is ${limits[limit]} (${LIMIT_VARIABLES[limit]})`);
    }
  }

  /** A count of items bounded by the named limit. */
  checkCount(path: string, count: number, limit: 'maxResultsPerSession' | 'maxEventsPerRequest', limits: Limits): void {
    if (count > limits[limit]) {
      this.add(path, `has ${count} items; the limit is ${limits[limit]} (${LIMIT_VARIABLES[limit]})`);
    }
  }

  /** `meta` and its alias `item_info`: at most one of them, within the meta size limit. */
  pickMeta(
    path: string,
    item: { meta?: Record<string, unknown>; item_info?: Record<string, unknown> },
    limits: Limits,
  ): Record<string, unknown> | null {
    if (item.meta !== undefined && item.item_info !== undefined) {
      this.add(`${path}.item_info`, 'is an alias of meta; send one of them, not both');
      return null;
    }
    const meta = item.meta ?? item.item_info ?? null;
    if (meta !== null)
      this.checkSize(`${path}.${item.meta === undefined ? 'item_info' : 'meta'}`, meta, 'maxMetaBytes', limits);
    return meta;
  }
}
