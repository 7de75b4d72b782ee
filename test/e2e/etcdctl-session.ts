// What each etcdctl e2e case runs against: a cluster's members (cairn or the
// real etcd, same shape) and an etcdctl session that sends every call to the
// next member in turn, so followers serve as many commands as the leader.
import type { CtlOptions, CtlProcess, CtlResult, Etcdctl } from "./etcdctl-process.js";

export interface TargetMember {
  readonly name: string;
  /** host:port of the client gRPC listener. */
  readonly client: string;
  /** host:port of the peer listener. */
  readonly peer: string;
}

export interface Target {
  /** "cairn" or "etcd"; shown in failure messages. */
  readonly label: string;
  readonly members: readonly TargetMember[];
}

export class CtlSession {
  private turn = 0;

  constructor(
    readonly ctl: Etcdctl,
    readonly target: Target,
  ) {}

  get endpoints(): string[] {
    return this.target.members.map((m) => m.client);
  }

  /** The i-th member's endpoint (modulo the cluster size). */
  endpoint(index: number): string {
    const members = this.target.members;
    const member = members[((index % members.length) + members.length) % members.length];
    if (member === undefined) throw new Error(`${this.target.label}: no members`);
    return member.client;
  }

  /** The next endpoint in rotation. */
  next(): string {
    return this.endpoint(this.turn++);
  }

  ok(args: readonly string[], options?: CtlOptions): Promise<string> {
    return this.ctl.ok(this.next(), args, options);
  }

  fails(args: readonly string[], options?: CtlOptions): Promise<string> {
    return this.ctl.fails(this.next(), args, options);
  }

  run(args: readonly string[], options?: CtlOptions): Promise<CtlResult> {
    return this.ctl.run(this.next(), args, options);
  }

  spawn(index: number, args: readonly string[], options?: CtlOptions): CtlProcess {
    return this.ctl.spawn(this.endpoint(index), args, options);
  }

  /** The store revision now, from a linearizable `get -w json` header. */
  async revision(): Promise<number> {
    const json = JSON.parse(await this.ok(["get", "~revision-probe", "-w", "json"])) as {
      header: { revision: number };
    };
    return json.header.revision;
  }
}

/** Retries `check` until it stops throwing or `timeoutMs` passes (then rethrows the last error). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
