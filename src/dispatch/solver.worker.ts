import { assignBatch } from './batch-solve.ts';
import type { BatchTask } from './batch-task.ts';

/** A pool thread's entry: one zone's batch in, as numbers; its matrix built and solved here, off the main loop. */
export default function assign(task: BatchTask) {
  return assignBatch(task);
}
