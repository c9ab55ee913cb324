/**
 * An ECharts chart, loaded on first use (dynamic import: the first page does not carry the
 * charting library). The canvas is described for screen readers by `label`.
 */
import { useEffect, useRef, useState } from 'react';
import type { EChartsCoreOption } from 'echarts/core';
import { Loading } from './States';

type EChartsModule = typeof import('./echarts');
let loader: Promise<EChartsModule> | null = null;
const loadECharts = () => (loader ??= import('./echarts'));

export function Chart({ option, label, height = 240 }: { option: EChartsCoreOption; label: string; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<ReturnType<EChartsModule['init']> | null>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let disposed = false;
    let observer: ResizeObserver | undefined;
    void loadECharts().then((m) => {
      if (disposed || !el.current) return;
      chart.current = m.init(el.current);
      setReady(true);
      observer = new ResizeObserver(() => chart.current?.resize());
      observer.observe(el.current);
    });
    return () => {
      disposed = true;
      observer?.disconnect();
      chart.current?.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    // No drawing animation for people who ask their system for reduced motion.
    const still = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;
    if (ready) chart.current?.setOption(still ? { ...option, animation: false } : option, { notMerge: true });
  }, [ready, option]);

  return (
    <div style={{ position: 'relative', height }}>
      {!ready && <Loading rows={4} />}
      <div ref={el} role="img" aria-label={label} style={{ position: 'absolute', inset: 0 }} />
    </div>
  );
}
