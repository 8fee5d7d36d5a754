// Loads data for a page and reloads it when its inputs change; a newer load
// aborts an older one, so a slow answer never overwrites a fresh one.
import { useLayoutEffect, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}

export function useFetch<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: true });
  // A layout effect starts the request right after the render, not after the next paint: one frame sooner.
  useLayoutEffect(() => {
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(abort.signal).then(
      (data) => {
        if (!abort.signal.aborted) setState({ data, error: null, loading: false });
      },
      (error: unknown) => {
        if (abort.signal.aborted) return;
        const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
        setState((s) => ({ data: s.data, error: message, loading: false }));
      },
    );
    return () => abort.abort();
  }, deps);
  return state;
}
