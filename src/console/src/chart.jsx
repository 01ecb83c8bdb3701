// A uPlot time series chart that redraws when its data changes.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

// series: [{label, stroke}], data: [xs (unix seconds), ys1, ys2, ...]
export function TimeChart({ title, series, data, height = 220 }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const width = Math.max(320, box.current.clientWidth || 640);
    plot.current = new uPlot(
      {
        title,
        width,
        height,
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
        axes: [{}, { label: "per second" }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, points: { show: false } }))],
      },
      data,
      box.current,
    );
    const resize = () => plot.current?.setSize({ width: Math.max(320, box.current.clientWidth), height });
    addEventListener("resize", resize);
    return () => {
      removeEventListener("resize", resize);
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  // What each series adds up to, for readers that cannot see the lines (and for the tests).
  const sums = data.slice(1).map((ys) => ys.reduce((a, b) => a + b, 0));
  const described = `${title}, over the window: ${series.map((s, i) => `${s.label} ${sums[i]}`).join(", ")}`;
  return <div class="chart" ref={box} role="img" aria-label={described} data-sums={sums.join(",")} />;
}
