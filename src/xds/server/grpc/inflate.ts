// Compressed request messages are inflated as a stream, off the event loop's critical path,
// with the size limit applied while inflating: a synchronous inflate stalled every other
// stream for hundreds of milliseconds per message, and a small "bomb" could be told to expand
// to any size before the result was looked at.
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import type { BlockPool } from './block-pool.js';
import { BudgetCharge, type BudgetScope, type ByteBudget } from './byte-budget.js';

type InflateFailure =
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
export function inflateLimited(body: Buffer, encoding: 'gzip' | 'deflate', maxBytes: number, budget: ByteBudget,
  blocks: BlockPool): Promise<{ message: Buffer; release: () => void }> {
  const charge = new BudgetCharge(budget);
  return new Promise((resolve, reject) => {
    const z: Gunzip | Inflate = encoding === 'gzip' ? createGunzip() : createInflate();
    // The output is copied into blocks of the server's pool, each charged as it is taken, and
    // given back when the message is done with or refused (see BlockPool).
    const taken: Buffer[] = [];
    let total = 0;
    let failed = false;
    const giveBack = (): void => {
      blocks.give(taken.splice(0));
      charge.release();
    };
    const fail = (err: InflateError): void => {
      if (failed) return;
      failed = true;
      // The blocks go back to the pool, not to the collector: nothing here for the reclaimer.
      blocks.give(taken.splice(0));
      charge.release();
      z.destroy();
      reject(err);
    };
    z.on('data', (chunk: Buffer) => {
      if (failed) return;
      if (total + chunk.length > maxBytes) {
        fail(new InflateError({ kind: 'too-large', limit: maxBytes },
          `a ${encoding} message decompresses to more than the limit of ${maxBytes} bytes`));
        return;
      }
      let from = 0;
      while (from < chunk.length) {
        const size = blocks.blockBytes;
        if (total === taken.length * size) {
          const refused = charge.set((taken.length + 1) * size);
          if (refused) {
            fail(new InflateError({ kind: 'budget', scope: refused },
              `inflating a ${encoding} message would pass the ${refused}'s budget for buffered request bytes`));
            return;
          }
          taken.push(blocks.take());
        }
        const at = total % size;
        const n = Math.min(size - at, chunk.length - from);
        chunk.copy(taken[taken.length - 1], at, from, from + n);
        from += n;
        total += n;
      }
    });
    z.on('error', (err: Error) => fail(new InflateError({ kind: 'corrupt', reason: err.message },
      `cannot decompress a ${encoding} message: ${err.message}`)));
    z.on('end', () => {
      if (failed) return;
      if (taken.length <= 1) {
        // Within one block (every real request): a view of it, valid until released.
        resolve({ message: taken.length === 0 ? Buffer.alloc(0) : taken[0].subarray(0, total), release: giveBack });
        return;
      }
      const message = Buffer.concat(taken, total);
      giveBack();
      resolve({ message, release: () => undefined });
    });
    z.end(body);
  });
}
