/**
 * VerifierRefusal: the error a load gives for a program the kernel's verifier would refuse —
 * one line (the kernel's message, its errno, pc and C line), with the explanation as detail.
 */
import { XdplabError } from '../errors.js';
import { errnoName } from '../uapi/errno.js';
import { formatExplanation } from './explain.js';
import type { VerifierResult } from './verify.js';

export class VerifierRefusal extends XdplabError {
  constructor(readonly result: VerifierResult, source?: string) {
    const where = result.line ? ` (${result.line}: ${result.source ?? ''})`.replace(/: \)$/, ')') : '';
    super('VERIFIER', `program ${result.program}: the kernel's verifier would refuse it (${errnoName(result.errno)}): `
      + `${result.error} at pc ${result.pc}${where}`);
    const hints = [`xdplab verify ${source ?? 'OBJ'} ${result.program} --log-level 1 shows the kernel's log; --no-verify runs it anyway.`];
    this.explanation = [result.explanation ? formatExplanation(result.explanation) : undefined, ...hints].filter(Boolean).join('\n');
  }
}
