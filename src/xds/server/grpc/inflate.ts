// Compressed request messages are inflated as a stream, off the event loop's critical path,
// with the size limit applied while inflating: a synchronous inflate stalled every other
// stream for hundreds of milliseconds per message, and a small "bomb" could be told to expand
// to any size before the result was looked at.
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { BudgetCharge, type BudgetScope, type ByteBudget } from './byte-budget.js';

export type InflateFailure =
  | { readonly kind: 'too-large'; readonly limit: number }
  | { readonly kind: 'budget'; readonly scope: BudgetScope }
  | { readonly kind: 'corrupt'; readonly reason: string };

export class InflateError extends Error {
  constructor(readonly failure: InflateFailure, message: string) {
    super(message);
  }
}

/**
 * Inflates `body` (gzip or deflate) to at most `maxBytes`. The output is charged to `budget`
 * while it is being collected; the returned release() gives it back once the caller is done
 * with the message. Rejects with InflateError as soon as a limit is passed, and stops inflating.
 */
export function inflateLimited(body: Buffer, encoding: 'gzip' | 'deflate', maxBytes: number, budget: ByteBudget):
  Promise<{ message: Buffer; release: () => void }> {
  const charge = new BudgetCharge(budget);
  return new Promise((resolve, reject) => {
    const z: Gunzip | Inflate = encoding === 'gzip' ? createGunzip() : createInflate();
    // The output is copied into one buffer of its own, grown by doubling up to the limit: zlib's
    // small output chunks, once freed, would stay with the process (see MessageReader).
    let out: Buffer | undefined;
    let total = 0;
    let failed = false;
    const fail = (err: InflateError): void => {
      if (failed) return;
      failed = true;
      charge.abandon();
      out = undefined;
      z.destroy();
      reject(err);
    };
    z.on('data', (chunk: Buffer) => {
      if (failed) return;
      const size = total + chunk.length;
      if (size > maxBytes) {
        fail(new InflateError({ kind: 'too-large', limit: maxBytes },
          `a ${encoding} message decompresses to more than the limit of ${maxBytes} bytes`));
        return;
      }
      if (!out || out.length < size) {
        const capacity = Math.min(maxBytes, Math.max(size, 2 * (out?.length ?? 0), 64 * 1024));
        const refused = charge.set(capacity);
        if (refused) {
          fail(new InflateError({ kind: 'budget', scope: refused },
            `inflating a ${encoding} message would pass the ${refused}'s budget for buffered request bytes`));
          return;
        }
        const next = Buffer.allocUnsafeSlow(capacity);
        out?.copy(next, 0, 0, total);
        out = next;
      }
      chunk.copy(out, total);
      total = size;
    });
    z.on('error', (err: Error) => fail(new InflateError({ kind: 'corrupt', reason: err.message },
      `cannot decompress a ${encoding} message: ${err.message}`)));
    z.on('end', () => {
      if (failed) return;
      resolve({ message: out ? out.subarray(0, total) : Buffer.alloc(0), release: () => charge.release() });
    });
    z.end(body);
  });
}
