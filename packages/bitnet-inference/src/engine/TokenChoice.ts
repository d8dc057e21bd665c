/**
 * How the scheduler picks a sequence's next token from a row of logits: which rows only their argmax
 * is read from (a screened output may then stand in for the output matrix), the grammar mask it may
 * hand to the forward pass with such a row, and the choice itself (mask, sample, let the grammar
 * accept). Functions of one sequence's state; the scheduler keeps the bookkeeping around them.
 */
import { type LogitMask, settleMaskedArgmax } from '../forward/MaskedArgmax';
import type { TokenConstraint } from './SchedulerContracts';
import type { DelegatedMask, Sequence } from './SchedulerState';

/**
 * Whether only the largest logit of this sequence's next step is read: its sampler takes the argmax
 * of the logits as given (after the grammar's mask, see delegateMask), no logprobs are reported from them.
 */
export function argmaxOnly<C>(s: Sequence<C>): boolean {
  return s.sampler.argmaxOnly === true && s.req.logprobs === undefined;
}

/**
 * For an argmax-only sequence with a grammar: its mask, for the forward pass to apply to the row it
 * computes (a screened output applies it to the approximate logits, so that only allowed tokens
 * become candidates). The row then comes back masked and chooseToken does not mask it again; if the
 * forward pass never called it (a fake, a row it did not return, or a lazy mask that did not need to
 * run), chooseToken settles the row itself. With the constraint's `allows`, the mask is lazy (see
 * settleMaskedArgmax). Its time and its checks' count as mask time; a throw is kept, and chooseToken
 * reports it.
 */
export function delegateMask<C>(s: Sequence<C>, now: () => number): DelegatedMask | undefined {
  const constraint = s.constraint;
  if (!constraint || !argmaxOnly(s)) return undefined;
  const timed = <T>(f: () => T, failed: T): T => {
    const t0 = now();
    try {
      return f();
    } catch (e) {
      delegated.error ??= e as Error;
      return failed;
    } finally {
      s.maskMs += now() - t0;
    }
  };
  const delegated: DelegatedMask = {
    applied: false,
    mask: (logits) => {
      delegated.applied = true;
      timed(() => void constraint.mask(logits), undefined);
    },
  };
  if (constraint.allows) delegated.mask.allows = (id) => timed(() => constraint.allows!(id), false);
  return delegated;
}

/** A constraint's mask as settleMaskedArgmax takes it: lazy when the constraint has `allows`. */
function lazyMask(constraint: TokenConstraint): LogitMask {
  const mask: LogitMask = (logits) => void constraint.mask(logits);
  if (constraint.allows) mask.allows = (id) => constraint.allows!(id);
  return mask;
}

/** The token chosen and whether the grammar is complete with it, or the grammar's error. */
export type TokenChoice = { id: number; complete: boolean } | { error: Error };

/**
 * Masks `logits` with the sequence's grammar (unless `delegated` says the forward pass did), samples,
 * and lets the grammar accept the token. The logits are adjusted in place, as the sampler leaves them.
 * An argmax-only sequence whose constraint has `allows` is settled lazily (settleMaskedArgmax with
 * `argmax`): its row may come back with the chosen token's logit alone.
 */
export function chooseToken<C>(s: Sequence<C>, logits: Float32Array, now: () => number, argmax: (logits: Float32Array) => number, delegated?: DelegatedMask): TokenChoice {
  if (delegated?.error) return { error: delegated.error };
  if (s.constraint && !delegated?.applied) {
    try {
      const t0 = now();
      if (s.constraint.allows && argmaxOnly(s)) settleMaskedArgmax(logits, lazyMask(s.constraint), argmax);
      else s.constraint.mask(logits);
      s.maskMs += now() - t0;
    } catch (e) {
      return { error: e as Error };
    }
  }
  const id = s.sampler.sample(logits);
  if (!s.constraint) return { id, complete: false };
  // every token the grammar allows was banned after masking (a logit bias of −100): nothing is left to choose
  if (!(logits[id] > -Infinity)) return { error: new Error('grammar: no token is left to sample: logit_bias bans every token the grammar allows here') };
  try {
    return { id, complete: s.constraint.accept(id) };
  } catch (e) {
    return { error: e as Error };
  }
}
