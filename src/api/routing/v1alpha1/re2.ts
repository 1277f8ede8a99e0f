// Regular expressions users write are compiled by Envoy and gRPC with RE2, so they are checked
// with an RE2 implementation (re2js, a pure-JavaScript port of RE2/J) rather than with
// JavaScript's engine: `(?i)`, `[[:alpha:]]` and `\pL` are accepted, lookaround and
// backreferences are refused, and the error is RE2's own text.
//
// Envoy also refuses a regex whose compiled program is too large: the runtime key
// `re2.max_program_size.error_level` defaults to 100. pilotfish applies the same limit to an
// estimate of RE2's program size (re2-program-size.ts explains how close it is), so `a{1000}`
// is refused here with the reason instead of being NACKed by every proxy.
import { RE2JS } from 're2js';
import { estimateProgramSize } from './re2-program-size.js';

/** Envoy's default `re2.max_program_size.error_level`. */
export const MAX_RE2_PROGRAM_SIZE = 100;

function syntaxError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/^error parsing regexp: /, '');
}

function compile(pattern: string): RE2JS | string {
  try {
    return RE2JS.compile(pattern);
  } catch (e) {
    return syntaxError(e);
  }
}

/** RE2's message when `pattern` is not valid RE2 syntax, else undefined. */
export function re2SyntaxProblem(pattern: string): string | undefined {
  const re = compile(pattern);
  return typeof re === 'string' ? re : undefined;
}

/**
 * Why Envoy would refuse `pattern` (invalid RE2 syntax, or a program larger than
 * MAX_RE2_PROGRAM_SIZE), or undefined when it would compile it.
 */
export function re2Problem(pattern: string): string | undefined {
  const re = compile(pattern);
  if (typeof re === 'string') return re;
  const size = estimateProgramSize(re, pattern, MAX_RE2_PROGRAM_SIZE);
  if (size > MAX_RE2_PROGRAM_SIZE) {
    return `the compiled program is too large for Envoy (estimated RE2 program size at least ${size}; the limit is ${MAX_RE2_PROGRAM_SIZE}); `
      + 'use fewer or smaller repetitions and character classes';
  }
  return undefined;
}
