import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  values: Array<number | null>;
}

/** A small live line chart (uPlot): x is seconds since the epoch. */
export function Chart({
  title,
  times,
  series,
  testId,
  range,
}: {
  title: string;
  times: number[];
  series: Series[];
  testId: string;
  /** A fixed y range (e.g. 0-100 for a percentage); default: fit the data. */
  range?: [number, number];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('|');

  // biome-ignore lint/correctness/useExhaustiveDependencies: rebuilt only when the series change
  useEffect(() => {
    if (!box.current) return;
    const width = box.current.clientWidth || 400;
    plot.current = new uPlot(
      {
        width,
        height: 180,
        title,
        legend: { show: true },
        scales: { x: { time: true }, ...(range ? { y: { range } } : {}) },
        axes: [{}, { size: 50 }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: true }))],
      },
      [times, ...series.map((s) => s.values)] as uPlot.AlignedData,
      box.current,
    );
    const resize = () => plot.current?.setSize({ width: box.current?.clientWidth || width, height: 180 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [labels, title]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)] as uPlot.AlignedData);
  });

  return <div className="chart" ref={box} data-testid={testId} data-points={times.length} />;
}
