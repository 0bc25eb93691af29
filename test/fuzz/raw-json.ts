/**
 * Raw JSON: a tree that serializes to any bytes, valid JSON or not (broken escapes, invalid UTF-8, nesting
 * far past the depth limit, duplicate and prototype keys), with the parts only known at send time
 * (timestamps relative to server time, ids of registered sessions). Also the edits that break one thing of
 * a valid tree (mutations). The generators build these trees; the request builder serializes them.
 */

export type TimestampForm =
  'plain' | 'milliseconds' | 'microseconds' | 'fraction' | 'dot-zero' | 'exponent' | 'string' | 'negative';

/**
 * Ids known only when a request is sent, picked by index: any registered session, one of the last few
 * registered (so that requests meet: retries, conflicts, events on fresh sessions), or a known batch.
 */
export type RefPool = 'session' | 'recent' | 'batch';

export type Raw =
  /** Verbatim text: numbers, literals, garbage. */
  | { readonly t: 'lit'; readonly text: string }
  /** A string written by JSON.stringify (lone surrogates and control characters escaped). */
  | { readonly t: 'str'; readonly value: string }
  /** A string whose inside is written verbatim: broken escapes, raw control characters. */
  | { readonly t: 'rawStr'; readonly inner: string }
  /** Verbatim bytes (invalid UTF-8). */
  | { readonly t: 'bytes'; readonly bytes: Uint8Array }
  /** Parts written one after the other. */
  | { readonly t: 'seq'; readonly parts: readonly Raw[] }
  /** A timestamp relative to server time when the request is sent. */
  | { readonly t: 'ts'; readonly offset: number; readonly form: TimestampForm }
  /** An id known when the request is sent: a registered session, a known batch. */
  | { readonly t: 'ref'; readonly pool: RefPool; readonly index: number }
  /** `open` × times, middle, `close` × closeTimes: deep nesting without deep trees. */
  | {
      readonly t: 'nest';
      readonly open: string;
      readonly middle: string;
      readonly close: string;
      readonly times: number;
      readonly closeTimes: number;
    }
  | { readonly t: 'arr'; readonly items: readonly Raw[] }
  | { readonly t: 'obj'; readonly entries: readonly (readonly [Raw, Raw])[] };

export const lit = (text: string): Raw => ({ t: 'lit', text });
export const str = (value: string): Raw => ({ t: 'str', value });
export const rawStr = (inner: string): Raw => ({ t: 'rawStr', inner });
export const arr = (items: readonly Raw[]): Raw => ({ t: 'arr', items });
export const obj = (entries: readonly (readonly [string, Raw])[]): Raw => ({
  t: 'obj',
  entries: entries.map(([key, value]) => [str(key), value] as const),
});
export const NULL = lit('null');

/** A JSON value as a raw tree (keys in their own order, `__proto__` included as an own key). */
export function fromJson(value: unknown): Raw {
  if (value === null || value === undefined) return NULL;
  if (typeof value === 'string') return str(value);
  if (typeof value === 'number' || typeof value === 'boolean') return lit(JSON.stringify(value));
  if (Array.isArray(value)) return arr(value.map(fromJson));
  return obj(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fromJson(v)] as const));
}

/** What a raw tree needs from the moment it is sent. */
export interface SendContext {
  readonly now: number;
  readonly ref: (pool: RefPool, index: number) => string;
  readonly space: string;
}

function timestampText(offset: number, form: TimestampForm, now: number): string {
  const at = now + offset;
  switch (form) {
    case 'plain':
      return String(at);
    case 'milliseconds':
      return String(at * 1000 + (offset & 0x3ff));
    case 'microseconds':
      return String(at * 1_000_000);
    case 'fraction':
      return `${at}.5`;
    case 'dot-zero':
      return `${at}.0`;
    case 'exponent':
      return `${at / 1e9}e9`;
    case 'string':
      return JSON.stringify(String(at));
    case 'negative':
      return String(-at);
  }
}

export function serialize(raw: Raw, ctx: SendContext, out: Buffer[]): void {
  const text = (s: string) => out.push(Buffer.from(s, 'utf8'));
  switch (raw.t) {
    case 'lit':
      text(raw.text);
      return;
    case 'str':
      text(JSON.stringify(raw.value));
      return;
    case 'rawStr':
      text(`"${raw.inner}"`);
      return;
    case 'bytes':
      out.push(Buffer.from(raw.bytes));
      return;
    case 'seq':
      for (const part of raw.parts) serialize(part, ctx, out);
      return;
    case 'ts':
      text(timestampText(raw.offset, raw.form, ctx.now));
      return;
    case 'ref':
      text(JSON.stringify(ctx.ref(raw.pool, raw.index)));
      return;
    case 'nest':
      text(raw.open.repeat(raw.times) + raw.middle + raw.close.repeat(raw.closeTimes));
      return;
    case 'arr':
      text('[');
      raw.items.forEach((item, i) => {
        if (i > 0) text(`,${ctx.space}`);
        serialize(item, ctx, out);
      });
      text(']');
      return;
    case 'obj':
      text('{');
      raw.entries.forEach(([key, value], i) => {
        if (i > 0) text(`,${ctx.space}`);
        serialize(key, ctx, out);
        text(`:${ctx.space}`);
        serialize(value, ctx, out);
      });
      text('}');
      return;
  }
}

// ----- mutations of raw trees: break one thing of a valid body -----

export type Mutation =
  | { readonly op: 'replace'; readonly at: number; readonly value: Raw }
  | { readonly op: 'wrap'; readonly at: number; readonly inArray: boolean }
  | { readonly op: 'delete'; readonly at: number; readonly entry: number }
  | { readonly op: 'duplicate'; readonly at: number; readonly entry: number }
  | { readonly op: 'dupKey'; readonly at: number; readonly entry: number; readonly value: Raw; readonly first: boolean }
  | { readonly op: 'addField'; readonly at: number; readonly entry: number; readonly key: Raw; readonly value: Raw }
  | { readonly op: 'renameKey'; readonly at: number; readonly entry: number; readonly key: Raw };

const isContainer = (raw: Raw): boolean => raw.t === 'arr' || raw.t === 'obj';

function countNodes(raw: Raw, containersOnly: boolean): number {
  const own = !containersOnly || isContainer(raw) ? 1 : 0;
  if (raw.t === 'arr') return own + raw.items.reduce((n, item) => n + countNodes(item, containersOnly), 0);
  if (raw.t === 'obj') return own + raw.entries.reduce((n, [, value]) => n + countNodes(value, containersOnly), 0);
  return own;
}

/** The tree with its `target`-th node (pre-order; values only, or containers only) replaced by `edit(node)`. */
function editNode(root: Raw, target: number, containersOnly: boolean, edit: (node: Raw) => Raw): Raw {
  let counter = 0;
  const walk = (node: Raw): Raw => {
    if (!containersOnly || isContainer(node)) {
      if (counter === target) {
        counter++;
        return edit(node);
      }
      counter++;
    }
    if (node.t === 'arr') return { t: 'arr', items: node.items.map(walk) };
    if (node.t === 'obj') return { t: 'obj', entries: node.entries.map(([key, value]) => [key, walk(value)] as const) };
    return node;
  };
  return walk(root);
}

function splice<T>(items: readonly T[], index: number, remove: number, ...insert: T[]): T[] {
  const copy = [...items];
  copy.splice(index, remove, ...insert);
  return copy;
}

export function applyMutation(root: Raw, mutation: Mutation): Raw {
  if (mutation.op === 'replace' || mutation.op === 'wrap') {
    const at = mutation.at % countNodes(root, false);
    return editNode(root, at, false, (node) => {
      if (mutation.op === 'replace') return mutation.value;
      return mutation.inArray ? arr([node]) : obj([['value', node]]);
    });
  }
  const containers = countNodes(root, true);
  if (containers === 0) return root;
  return editNode(root, mutation.at % containers, true, (node) => {
    if (node.t === 'arr') {
      const size = node.items.length;
      const index = size === 0 ? 0 : mutation.entry % size;
      const item = node.items[index];
      switch (mutation.op) {
        case 'delete':
          return { t: 'arr', items: splice(node.items, index, 1) };
        case 'duplicate':
          return item ? { t: 'arr', items: splice(node.items, index, 0, item) } : node;
        case 'dupKey':
        case 'addField':
          return { t: 'arr', items: splice(node.items, index, 0, mutation.value) };
        case 'renameKey':
          return { t: 'arr', items: splice(node.items, index, 1, mutation.key) };
      }
    }
    if (node.t !== 'obj') return node;
    const size = node.entries.length;
    const index = size === 0 ? 0 : mutation.entry % size;
    const entry = node.entries[index];
    switch (mutation.op) {
      case 'delete':
        return { t: 'obj', entries: splice(node.entries, index, 1) };
      case 'duplicate':
        return entry ? { t: 'obj', entries: splice(node.entries, index + 1, 0, entry) } : node;
      case 'dupKey': {
        if (!entry) return node;
        const twin = [entry[0], mutation.value] as const;
        return { t: 'obj', entries: splice(node.entries, mutation.first ? index : index + 1, 0, twin) };
      }
      case 'addField':
        return { t: 'obj', entries: splice(node.entries, index, 0, [mutation.key, mutation.value] as const) };
      case 'renameKey':
        return entry ? { t: 'obj', entries: splice(node.entries, index, 1, [mutation.key, entry[1]] as const) } : node;
    }
  });
}
