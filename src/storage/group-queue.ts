/**
 * Group commit's queue: writes that arrive during one turn of the event loop (the requests a busy server
 * parsed meanwhile) are handed together to one `runGroup` call, which commits them in one transaction and
 * settles each entry after that commit. A quiet server forms groups of one; a busy one, large groups.
 * Groups are not serialised: a new turn starts a new group while earlier ones are still committing.
 */
export interface GroupEntry<I, R> {
  readonly input: I;
  resolve(result: R): void;
  reject(reason: unknown): void;
}

export class GroupQueue<I, R> {
  private pending: GroupEntry<I, R>[] = [];
  private scheduled = false;

  constructor(
    private readonly runGroup: (group: readonly GroupEntry<I, R>[]) => Promise<void> | void,
    private readonly maxGroup: number,
  ) {}

  push(input: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          void this.flush();
        });
      }
    });
  }

  /** Runs everything queued now, in groups of at most `maxGroup`. */
  async flush(): Promise<void> {
    this.scheduled = false;
    const groups: Promise<void>[] = [];
    while (this.pending.length > 0) {
      const group = this.pending.splice(0, this.maxGroup);
      groups.push(
        Promise.resolve()
          .then(() => this.runGroup(group))
          .catch((error: unknown) => {
            // runGroup settles its entries; this only catches a bug in it, so that no request hangs.
            rejectGroup(group, error);
          }),
      );
    }
    await Promise.all(groups);
  }
}

/** How one write of a group ended, for {@link settleGroup}. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Settles each entry of a group by the outcome at its position; an entry without one is a bug, rejected. */
export function settleGroup<I, R>(group: readonly GroupEntry<I, R>[], outcomes: readonly Outcome<R>[]): void {
  group.forEach((entry, index) => {
    const outcome = outcomes[index];
    if (outcome?.ok) entry.resolve(outcome.value);
    else entry.reject(outcome ? outcome.error : new Error('write outcome missing'));
  });
}

/** Rejects every entry of a group with one failure (of the store, or of the group's only write). */
export function rejectGroup<I, R>(group: readonly GroupEntry<I, R>[], error: unknown): void {
  for (const entry of group) entry.reject(error);
}
