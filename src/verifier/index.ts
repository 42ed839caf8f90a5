/** The verifier: the kernel's load-time verdict on a program, offline, with its log and an explanation. */
export { verifyProgram, verifyCollection, type Caps, type VerifyOptions, type VerifierResult, type VerifierStats } from './verify.js';
export { explain, formatExplanation, failingPath, type Explanation, type SliceStep } from './explain.js';
export { sourceLine } from './source-line.js';
export { VerifierRefusal } from './refusal.js';
