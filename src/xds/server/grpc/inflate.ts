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
    const chunks: Buffer[] = [];
    let total = 0;
    let failed = false;
    const fail = (err: InflateError): void => {
      if (failed) return;
      failed = true;
      charge.release();
      z.destroy();
      reject(err);
    };
    z.on('data', (chunk: Buffer) => {
      if (failed) return;
      total += chunk.length;
      if (total > maxBytes) {
        fail(new InflateError({ kind: 'too-large', limit: maxBytes },
          `a ${encoding} message decompresses to more than the limit of ${maxBytes} bytes`));
        return;
      }
      const refused = charge.set(total);
      if (refused) {
        fail(new InflateError({ kind: 'budget', scope: refused },
          `inflating a ${encoding} message would pass the ${refused}'s budget for buffered request bytes`));
        return;
      }
      chunks.push(chunk);
    });
    z.on('error', (err: Error) => fail(new InflateError({ kind: 'corrupt', reason: err.message },
      `cannot decompress a ${encoding} message: ${err.message}`)));
    z.on('end', () => {
      if (failed) return;
      resolve({ message: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total), release: () => charge.release() });
    });
    z.end(body);
  });
}
