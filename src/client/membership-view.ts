// A local mirror of one membership group: a List, then the group's watch,
// keeping whichever member set carries the newest revision. locate() runs the
// server's own placement function (state/platform/rendezvous.ts, pure and
// import-free) over the mirrored ids and weights, so at the same revision it
// gives the server's answer without a round trip.
import { locate as rendezvousLocate } from "../state/platform/rendezvous.js";
import type { MembershipApi, MembershipUpdate } from "./membership.js";
import {
  KeyHashPicker,
  LeastLatencyPicker,
  type Picker,
  type PickerMember,
  RoundRobinPicker,
  WeightedPicker,
} from "./pickers.js";
import type { Member } from "./types.js";
import type { Watch, WatchOptions } from "./watch-stream.js";

export type PickerKind = "round-robin" | "weighted" | "least-latency" | "key-hash";

/** The revision an update describes: its newest change, else the response header. */
function updateRevision(update: MembershipUpdate): number {
  let revision = 0;
  for (const change of update.changes) revision = Math.max(revision, change.revision);
  return revision > 0 ? revision : update.revision;
}

/** Rendezvous input: the server treats weight 0 as 1, and so must we. */
function placement(members: readonly Member[]): { id: string; weight: number }[] {
  return members.map((member) => ({ id: member.memberId, weight: member.weight || 1 }));
}

export class MembershipView {
  private current: readonly Member[] = [];
  private currentRevision = 0;
  private readonly listeners = new Set<(members: readonly Member[], revision: number) => void>();
  private readonly pickers = new Set<Picker<Member>>();
  private closed = false;

  private constructor(
    readonly group: string,
    private readonly watch: Watch<MembershipUpdate>,
  ) {}

  /**
   * Watch first, then List: an update that lands between the two is then
   * never lost, and the revision check keeps whichever set is newer.
   */
  static async open(
    api: MembershipApi,
    group: string,
    options: WatchOptions = {},
  ): Promise<MembershipView> {
    const view = new MembershipView(group, api.watch(group, options));
    try {
      const listed = await api.list(group, options.signal ? { signal: options.signal } : {});
      view.apply({ revision: listed.revision, changes: [], members: listed.members });
    } catch (error) {
      view.close();
      throw error;
    }
    view.follow();
    return view;
  }

  get members(): readonly Member[] {
    return this.current;
  }

  /** The revision the mirrored member set is as of. */
  get revision(): number {
    return this.currentRevision;
  }

  /** The owners of `key`, best first, computed locally (at most `replicas`). */
  locate(key: string, replicas = 1): Member[] {
    if (this.current.length === 0) return [];
    const ids = rendezvousLocate(placement(this.current), key, replicas);
    const byId = new Map(this.current.map((member) => [member.memberId, member]));
    return ids.map((id) => byId.get(id) as Member);
  }

  /** Called with the new member set after every change. */
  onChange(listener: (members: readonly Member[], revision: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A picker over this group's members that follows its changes. */
  picker(kind: "least-latency"): LeastLatencyPicker<Member>;
  picker(kind: "key-hash"): KeyHashPicker<Member>;
  picker(kind: PickerKind): Picker<Member>;
  picker(kind: PickerKind): Picker<Member> {
    const members = this.pickerMembers();
    const picker = createPicker(kind, members);
    this.pickers.add(picker);
    return picker;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch.close();
    this.listeners.clear();
    this.pickers.clear();
  }

  /** Applies an update if it is at least as new as what the view holds. */
  apply(update: MembershipUpdate): boolean {
    const revision = updateRevision(update);
    if (revision < this.currentRevision) return false;
    this.current = [...update.members].sort((a, b) =>
      a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0,
    );
    this.currentRevision = revision;
    const members = this.pickerMembers();
    for (const picker of this.pickers) picker.update(members);
    for (const listener of this.listeners) listener(this.current, revision);
    return true;
  }

  private pickerMembers(): PickerMember<Member>[] {
    return this.current.map((member) => ({
      id: member.memberId,
      weight: member.weight || 1,
      value: member,
    }));
  }

  private follow(): void {
    void (async () => {
      try {
        for await (const update of this.watch) this.apply(update);
      } catch {
        // The watch gave up after its bounded reconnects: the view stops
        // following and keeps its last state, which `revision` dates.
      }
    })();
  }
}

export function createPicker<T>(kind: PickerKind, members: readonly PickerMember<T>[]): Picker<T> {
  switch (kind) {
    case "round-robin":
      return new RoundRobinPicker(members);
    case "weighted":
      return new WeightedPicker(members);
    case "least-latency":
      return new LeastLatencyPicker(members);
    case "key-hash":
      return new KeyHashPicker(members);
    default: {
      const unreachable: never = kind;
      throw new RangeError(`unknown picker ${String(unreachable)}`);
    }
  }
}
