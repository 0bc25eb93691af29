/** Module hooks (run on Node's hooks thread) that record every resolved import; see record-imports.ts. */
import { appendFileSync } from 'node:fs';
import type { InitializeHook, ResolveHook } from 'node:module';

let file: string | undefined;

export const initialize: InitializeHook<{ file?: string }> = (data) => {
  file = data.file;
};

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const resolved = await nextResolve(specifier, context);
  if (file !== undefined) appendFileSync(file, `${specifier}\t${resolved.url}\n`);
  return resolved;
};
