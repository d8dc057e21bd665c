import type { FaultInjector } from './SchedulerContracts';
import type { FaultPlan, WorkerStartRequest } from './protocol';

/**
 * The fault injector the worker uses when loaded with faultInjection: each start request's
 * FaultPlan — a step in failSteps throws once, a step in stallSteps busy-waits stallMs first.
 */
export class PlannedFaults implements FaultInjector {
  private readonly pending = new Map<number, Set<number>>();

  beforeStep(req: WorkerStartRequest, step: number): void {
    const plan: FaultPlan | undefined = req.faults;
    if (!plan) return;
    let left = this.pending.get(req.seq);
    if (!left) this.pending.set(req.seq, (left = new Set(plan.failSteps ?? [])));
    if (left.delete(step)) throw new Error(`injected transient failure at step ${step}`);
    if (plan.stallSteps?.includes(step)) {
      const until = performance.now() + (plan.stallMs ?? 0);
      while (performance.now() < until) {
        // a step that takes too long, on purpose
      }
    }
  }

  forget(seq: number): void {
    this.pending.delete(seq);
  }
}
