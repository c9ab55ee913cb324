/** Loads data for a component: loading, error and value, cancelled on unmount or when deps change. */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface AsyncState<T> {
  loading: boolean;
  error: Error | null;
  value: T | undefined;
  reload(): void;
}

export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ loading: boolean; error: Error | null; value: T | undefined }>({ loading: true, error: null, value: undefined });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const ac = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    loadRef.current(ac.signal).then(
      (value) => !ac.signal.aborted && setState({ loading: false, error: null, value }),
      (error: Error) => !ac.signal.aborted && error.name !== 'AbortError' && setState((s) => ({ loading: false, error, value: s.value })),
    );
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
