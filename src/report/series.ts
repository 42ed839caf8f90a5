/**
 * Growable typed arrays for what a report keeps per program run, and the bins it plots: a
 * report of a million packets keeps a few numbers a run, in typed arrays, not objects.
 */

/** A Float64Array that grows by doubling. */
export class GrowableF64 {
  private data = new Float64Array(256);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  get(i: number): number {
    return this.data[i];
  }

  /** The values pushed, as a view (valid until the next push). */
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/** Bins of equal width from `start`: `counts[i]` holds values in [start + i·width, start + (i+1)·width). */
export interface Bins {
  start: number;
  width: number;
  counts: number;
}

/**
 * Bins over [min, max] of at most `most` bins, each at least `minWidth` wide; a range of one
 * value is one bin. Integer data (`integer`) gets integer widths, so a bin holds whole values.
 */
export function binsOver(min: number, max: number, most: number, integer = false, minWidth = 0): Bins {
  if (!(max > min)) return { start: min, width: Math.max(minWidth, integer ? 1 : 1e-9), counts: 1 };
  let width = Math.max((max - min) / most, minWidth);
  if (integer) width = Math.max(1, Math.ceil((max - min + 1) / most));
  const counts = Math.min(most, Math.floor((max - min) / width) + 1);
  return { start: min, width, counts };
}

/** The bin of `value` (values past the last bin go into it). */
export const binOf = (bins: Bins, value: number): number =>
  Math.max(0, Math.min(bins.counts - 1, Math.floor((value - bins.start) / bins.width)));

/** The value below which `share` (0..1) of `values` lie (sorted copy; 0 for none). */
export function quantile(values: Float64Array, share: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(share * (sorted.length - 1)))];
}
