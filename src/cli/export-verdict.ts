import type { BatchLifecycle, BatchRecord } from '../domain/batch.js';
import { isoSeconds } from './time-format.js';

/** What `clickstream export` was told to accept of a batch that may still change (its flags). */
export interface ExportAllowance {
  /** `--allow-collecting`: export the collecting batch as it is now. */
  readonly collecting: boolean;
  /** `--allow-unsealed`: export a released batch before it is sealed, without a warning. */
  readonly unsealed: boolean;
}

/** Whether a batch is exported: refused, exported with a warning, or (null) exported. */
export type ExportVerdict = { readonly kind: 'refuse' | 'warn'; readonly message: string } | null;

/**
 * Only a sealed batch is final. The collecting batch still gets sessions and events, so it is refused
 * unless allowed; a released batch still accepts late events until it is sealed, so it is exported with
 * a warning saying until when.
 */
export function exportVerdict(batch: BatchRecord & { status: BatchLifecycle }, allow: ExportAllowance): ExportVerdict {
  switch (batch.status) {
    case 'collecting':
      return allow.collecting
        ? null
        : {
            kind: 'refuse',
            message: `batch ${batch.batch_id} is still collecting: sessions and events are still added to it; release it first (clickstream release), or pass --allow-collecting to export it as it is now`,
          };
    case 'released': {
      if (allow.unsealed) return null;
      const until = batch.sealed_at === null ? 'it is sealed' : isoSeconds(batch.sealed_at);
      return {
        kind: 'warn',
        message: `batch ${batch.batch_id} is not sealed yet: late events are accepted until ${until} (sealed_at), so an export after that may hold more; --allow-unsealed silences this warning`,
      };
    }
    case 'sealed':
      return null;
  }
}
