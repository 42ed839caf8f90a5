#!/usr/bin/env node
// The xdplab command: the compiled CLI lives in dist/ (built by `npm run build`, run by `npm install`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
