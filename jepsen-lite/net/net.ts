// The one network-fault interface the nemeses use, by member name, with three
// backends: "portable" (a TCP proxy per directed peer link, no root),
// "inproc" (the members' own /test/faults link rules) and "root" (a network
// namespace per member with nftables drops and tc netem, in root.ts); "none"
// for etcd without --net root.
import { memberId } from "../../src/server/ids.js";
import { LinkProxy, type LinkShape } from "./link-proxy.js";

export type NetBackend = "portable" | "inproc" | "root" | "none";

export interface Net {
  readonly backend: NetBackend;
  /** Nothing from src reaches dst; dst → src is untouched. */
  cut(src: string, dst: string): Promise<void>;
  shape(src: string, dst: string, shape: LinkShape): Promise<void>;
  /** Every cut and shape is lifted. */
  heal(): Promise<void>;
  /** The member restarted: re-install whatever state lives in it (inproc). */
  restarted(name: string): Promise<void>;
  /** Extra `cairn serve` flags for this member (portable: its dial overrides). */
  serveArgs(name: string): readonly string[];
  close(): Promise<void>;
}

export interface NetMember {
  readonly name: string;
  /** The peer address the membership lists for it. */
  readonly peer: string;
}

function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** One LinkProxy per ordered pair; member src dials dst through proxy(src, dst). */
export class PortableNet implements Net {
  readonly backend = "portable";
  private readonly proxies = new Map<string, LinkProxy>();

  private constructor(private readonly members: readonly NetMember[]) {}

  /** `members` must include every member that may ever run (spares too). */
  static async start(members: readonly NetMember[], random?: () => number): Promise<PortableNet> {
    const net = new PortableNet(members);
    for (const src of members) {
      for (const dst of members) {
        if (src.name === dst.name) continue;
        const { host, port } = splitHostPort(dst.peer);
        const proxy = new LinkProxy({
          name: `${src.name}->${dst.name}`,
          targetHost: host,
          targetPort: port,
          ...(random === undefined ? {} : { random }),
        });
        await proxy.start();
        net.proxies.set(`${src.name}->${dst.name}`, proxy);
      }
    }
    return net;
  }

  link(src: string, dst: string): LinkProxy {
    const proxy = this.proxies.get(`${src}->${dst}`);
    if (proxy === undefined) throw new Error(`no link ${src}->${dst}`);
    return proxy;
  }

  async cut(src: string, dst: string): Promise<void> {
    this.link(src, dst).cut();
  }

  async shape(src: string, dst: string, shape: LinkShape): Promise<void> {
    this.link(src, dst).setShape(shape);
  }

  async heal(): Promise<void> {
    for (const proxy of this.proxies.values()) proxy.heal();
  }

  async restarted(): Promise<void> {}

  serveArgs(name: string): readonly string[] {
    const overrides = this.members
      .filter((m) => m.name !== name)
      .map((m) => `${m.peer}=${this.link(name, m.name).address}`);
    return ["--unsafe-test-mode", "--unsafe-peer-dial", overrides.join(",")];
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
  }
}

/** For targets whose peer links cannot be faulted (etcd): every fault is refused. */
export class NoNet implements Net {
  readonly backend = "none";

  async cut(): Promise<void> {
    throw new Error("network faults are not supported on this target");
  }

  async shape(): Promise<void> {
    throw new Error("network faults are not supported on this target");
  }

  async heal(): Promise<void> {}

  async restarted(): Promise<void> {}

  serveArgs(): readonly string[] {
    return [];
  }

  async close(): Promise<void> {}
}

interface InprocRule {
  peer: number;
  direction: "out";
  drop?: boolean;
  delayMs?: number;
  lossPct?: number;
}

/**
 * Rules live inside each member (POST /test/faults on its metrics port), so a
 * restart forgets them: restarted() re-installs. Only the src side is told
 * (direction "out"); jitter is not supported by the members' rules.
 */
export class InprocNet implements Net {
  readonly backend = "inproc";
  private readonly rules = new Map<string, Map<string, InprocRule>>();

  constructor(
    private readonly post: (name: string, rules: unknown) => Promise<void>,
    /** Current member id by name (members re-added by MemberAdd get new ids). */
    private readonly idOf: (name: string) => Promise<number> = async (name) =>
      memberId(name, "cairn-cluster"),
  ) {}

  async cut(src: string, dst: string): Promise<void> {
    this.rulesOf(src).set(dst, { peer: await this.idOf(dst), direction: "out", drop: true });
    await this.install(src);
  }

  async shape(src: string, dst: string, shape: LinkShape): Promise<void> {
    this.rulesOf(src).set(dst, {
      peer: await this.idOf(dst),
      direction: "out",
      delayMs: Math.round(shape.delayMs),
      lossPct: shape.lossPct,
    });
    await this.install(src);
  }

  async heal(): Promise<void> {
    const names = [...this.rules.keys()];
    this.rules.clear();
    await Promise.all(names.map((n) => this.install(n).catch(() => undefined)));
  }

  async restarted(name: string): Promise<void> {
    if (this.rules.has(name)) await this.install(name);
  }

  serveArgs(): readonly string[] {
    return ["--unsafe-test-mode"];
  }

  async close(): Promise<void> {}

  private rulesOf(name: string): Map<string, InprocRule> {
    let rules = this.rules.get(name);
    if (rules === undefined) {
      rules = new Map();
      this.rules.set(name, rules);
    }
    return rules;
  }

  private async install(name: string): Promise<void> {
    await this.post(name, { links: [...(this.rules.get(name)?.values() ?? [])] });
  }
}
