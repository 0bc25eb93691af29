import { useState } from 'preact/hooks';
import { download, INTERNAL } from '../api';
import type { Batch } from '../api-types';
import { Failure, Note, Section } from '../components/bits';
import { bytes } from '../format';

/** The training-data methods and formats of `GET /internal/batch/training-data` (training-queries.ts). */
export const METHODS = [
  { id: 'clicks', label: 'clicks: a clicked result is a positive' },
  { id: 'skip-above', label: 'skip-above: a clicked result beats the unclicked ones above it' },
  { id: 'pbm', label: 'pbm: position-based model, debiased by its propensities' },
  { id: 'coec', label: 'coec: clicks over expected clicks at the positions shown' },
] as const;

export const FORMATS = [
  { id: 'jsonl', label: 'JSONL with provenance', extension: '.jsonl' },
  { id: 'sentence-transformers', label: 'sentence-transformers JSONL', extension: '.jsonl' },
  { id: 'judgments', label: 'relevance judgments JSONL', extension: '.jsonl' },
  { id: 'parquet', label: 'Parquet', extension: '.parquet' },
] as const;

type Saved = { readonly name: string; readonly bytes: number } | { readonly error: unknown } | null;

/** Training-data downloads, fetched with the key and saved from a Blob (the key stays out of every URL). */
export function Downloads({ batch }: { batch: Batch }) {
  const [method, setMethod] = useState<string>('clicks');
  const [format, setFormat] = useState<string>('jsonl');
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<Saved>(null);
  const released = batch.status !== 'collecting';

  const save = async () => {
    setBusy(true);
    setSaved(null);
    const extension = FORMATS.find((f) => f.id === format)?.extension ?? '';
    try {
      setSaved(
        await download(
          `${INTERNAL}/batch/training-data`,
          { batch_id: batch.batch_id, method, format },
          `${batch.batch_id}-${method}${extension}`,
        ),
      );
    } catch (error) {
      setSaved({ error });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Training data">
      {released ? null : (
        <Note>Training data is computed from released batches only: release this batch to download it.</Note>
      )}
      <form
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <label>
          method{' '}
          <select
            value={method}
            data-testid="download-method"
            onChange={(event) => {
              setMethod(event.currentTarget.value);
            }}
          >
            {METHODS.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          format{' '}
          <select
            value={format}
            data-testid="download-format"
            onChange={(event) => {
              setFormat(event.currentTarget.value);
            }}
          >
            {FORMATS.map((f) => (
              <option key={f.id} value={f.id}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary" disabled={!released || busy} data-testid="download-button">
          {busy ? 'Preparing…' : 'Download'}
        </button>
      </form>
      {saved && 'name' in saved ? (
        <p class="muted" data-testid="download-result">
          Saved {saved.name} ({bytes(saved.bytes)}).
        </p>
      ) : null}
      {saved && 'error' in saved ? <Failure error={saved.error} /> : null}
    </Section>
  );
}
