/** The verifier: the kernel's load-time verdict on a program, offline, with its log. */
export { verifyProgram, verifyCollection, sourceLine, type Caps, type VerifyOptions, type VerifierResult, type VerifierStats } from './verify.js';
