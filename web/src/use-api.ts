import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
}

/**
 * Runs `load` when `deps` change (and on reload), keeping the last answer while the next one loads. An
 * answer that arrives after a newer call started is dropped, so that paging fast never shows an old page.
 */
export function useApi<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const call = ++latest.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => {
        if (call === latest.current) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (call === latest.current) setState({ data: undefined, error, loading: false });
      },
    );
    // `load` is a new closure on every render; `deps` say when it changed.
  }, [...deps, round]);
  const reload = useCallback(() => {
    setRound((n) => n + 1);
  }, []);
  return { ...state, reload };
}
