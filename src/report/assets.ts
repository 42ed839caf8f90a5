/**
 * uPlot (npm `uplot`, a dependency) as the report inlines it: its minified browser build and
 * its stylesheet, read from node_modules where Node resolves the package — from src/ under
 * vitest and from dist/ after a build alike — so a report opens with no network.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { XdplabError } from '../errors.js';

export interface UplotAssets {
  js: string;
  css: string;
}

let cached: UplotAssets | undefined;

export function uplotAssets(): UplotAssets {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    cached = {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  } catch (err) {
    throw new XdplabError('INTERNAL', `report: cannot read uPlot (npm uplot, a dependency of xdplab): ${(err as Error).message}`, { cause: err });
  }
  return cached;
}
