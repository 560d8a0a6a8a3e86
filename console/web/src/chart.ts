// Time-series charts with uPlot: line or bar, resized with their container, and an optional
// click on a point (the nearest x under the cursor).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: (number | null)[];
}
export interface ChartOptions {
  kind?: "line" | "bar";
  height?: number;
  onPick?: (index: number, series: number) => void; // series: the one nearest the click (0-based)
  yLabel?: string;
  testid?: string;
  minSpanS?: number; // the x axis spans at least this long (a live chart's first points)
}

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9ca3af", "#475569", "#ea580c"];
export const color = (i: number) => COLORS[i % COLORS.length];

export class TimeChart {
  readonly el: HTMLElement;
  private plot: uPlot | null = null;
  private observer: ResizeObserver;
  private x: number[] = [];
  private series: Series[] = [];

  constructor(private options: ChartOptions = {}) {
    this.el = document.createElement("div");
    this.el.className = "chart";
    if (options.testid) this.el.dataset.testid = options.testid;
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.el);
  }

  // x: seconds since the epoch.
  set(x: number[], series: Series[]): void {
    const sameShape = this.plot && this.series.length === series.length && series.every((s, i) => s.label === this.series[i].label);
    this.x = x;
    this.series = series;
    this.el.dataset.points = String(x.length);
    const data = [x, ...series.map((s) => s.values)] as uPlot.AlignedData;
    if (sameShape && this.plot) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    const width = Math.max(this.el.clientWidth, 280);
    const bars = this.options.kind === "bar";
    const opts: uPlot.Options = {
      width,
      height: this.options.height ?? 260,
      cursor: { drag: { x: false, y: false }, points: { size: 8 } },
      legend: { show: series.length > 1 || Boolean(this.options.yLabel) },
      scales: { x: { time: true, range: this.xRange() }, y: { range: (_u, min, max) => [Math.min(0, min), max <= 0 ? 1 : max * 1.1] } },
      axes: [{ stroke: "#4b5563", grid: { stroke: "#e5e7eb" } }, { stroke: "#4b5563", grid: { stroke: "#e5e7eb" }, size: 60, label: this.options.yLabel }],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: color(i),
          width: 2,
          fill: bars ? color(i) + "99" : series.length === 1 ? color(i) + "22" : undefined,
          paths: bars ? uPlot.paths.bars!({ size: [0.8, 60] }) : undefined,
          points: { show: !bars && x.length < 60 },
          spanGaps: false,
        })),
      ],
    };
    this.plot = new uPlot(opts, data, this.el);
    if (this.options.onPick) {
      const over = this.plot.over;
      over.style.cursor = "pointer";
      over.addEventListener("click", () => {
        const plot = this.plot;
        const idx = plot?.cursor.idx;
        if (!plot || idx === null || idx === undefined) return;
        // The series whose point at idx is vertically closest to the pointer.
        let nearest = 0, best = Infinity;
        this.series.forEach((s, i) => {
          const v = s.values[idx];
          if (v === null || v === undefined) return;
          const d = Math.abs(plot.valToPos(v, "y") - (plot.cursor.top ?? 0));
          if (d < best) [nearest, best] = [i, d];
        });
        this.options.onPick!(idx, nearest);
      });
    }
  }

  private xRange(): uPlot.Scale.Range | undefined {
    const span = this.options.minSpanS;
    if (!span) return undefined;
    return (_u, min, max) => (max - min < span ? [max - span, max] : [min, max]);
  }

  xs(): number[] {
    return this.x;
  }

  private resize(): void {
    if (!this.plot) return;
    const width = Math.max(this.el.clientWidth, 280);
    if (Math.abs(width - this.plot.width) > 2) this.plot.setSize({ width, height: this.plot.height });
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}
