/** Kernels.argmax: the plain loop (its semantics are the contract's, NaN and ties included); also the Sampler's argmax without kernels. */
export function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
