// Types for the part of the vendored uPlot 1.6.32 ESM build (uPlot.esm.js) that the admin page uses; written
// for MUG's type check (tsconfig.json), not shipped by uPlot (whose own uPlot.d.ts is a CommonJS `export =`).

export type AlignedData = (number | null)[][];

export interface Series {
  label?: string;
  stroke?: string;
  width?: number;
  points?: { show?: boolean; size?: number };
  paths?: unknown;
  scale?: string;
}

export interface Options {
  width: number;
  height: number;
  title?: string;
  series: Series[];
  scales?: { [key: string]: { time?: boolean; auto?: boolean } };
  axes?: { label?: string; scale?: string; side?: number }[];
  legend?: { show?: boolean };
  cursor?: { show?: boolean };
}

export default class uPlot {
  constructor(opts: Options, data: AlignedData, target: HTMLElement);
  setData(data: AlignedData): void;
  destroy(): void;
}
