// Partition shapes as sets of directed cuts ("a->b": a's messages to b are
// lost), after Jepsen's grudges. Pure: the runner resolves "leader" and
// feeds a seeded Rng.
import type { Rng } from "../runner/rng.js";
import type { FaultKind } from "./faults.js";

export interface Cut {
  readonly src: string;
  readonly dst: string;
}

export interface PartitionShape {
  readonly cuts: Cut[];
  /** Human-readable: the components, or the one-way links. */
  readonly description: string;
}

function bothWays(a: readonly string[], b: readonly string[]): Cut[] {
  const cuts: Cut[] = [];
  for (const x of a) {
    for (const y of b) {
      cuts.push({ src: x, dst: y }, { src: y, dst: x });
    }
  }
  return cuts;
}

function components(groups: readonly (readonly string[])[]): string {
  return groups.map((g) => `[${g.join(",")}]`).join(" | ");
}

export function partitionShape(
  kind: FaultKind,
  nodes: readonly string[],
  leader: string | null,
  rng: Rng,
): PartitionShape {
  const shuffled = rng.shuffle(nodes);
  switch (kind) {
    case "partition-one":
    case "partition-isolate-leader": {
      const lone =
        kind === "partition-isolate-leader" && leader !== null ? leader : (shuffled[0] as string);
      const rest = nodes.filter((n) => n !== lone);
      return { cuts: bothWays([lone], rest), description: components([[lone], rest]) };
    }
    case "partition-majority": {
      const small = shuffled.slice(0, Math.floor(nodes.length / 2));
      const large = shuffled.slice(Math.floor(nodes.length / 2));
      return { cuts: bothWays(small, large), description: components([small, large]) };
    }
    case "partition-majorities-ring": {
      // Node i sees its ring neighbours within `reach`: a majority each, never the same one.
      const majority = Math.floor(nodes.length / 2) + 1;
      const reach = Math.max(1, Math.ceil((majority - 1) / 2));
      const cuts: Cut[] = [];
      const n = shuffled.length;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const distance = Math.min(Math.abs(i - j), n - Math.abs(i - j));
          if (i !== j && distance > reach) {
            cuts.push({ src: shuffled[i] as string, dst: shuffled[j] as string });
          }
        }
      }
      return { cuts, description: `ring ${shuffled.join("-")} (each sees ±${reach})` };
    }
    case "partition-bridge": {
      const half = Math.floor((nodes.length - 1) / 2);
      const left = shuffled.slice(0, half);
      const bridge = shuffled[half] as string;
      const right = shuffled.slice(half + 1);
      return {
        cuts: bothWays(left, right),
        description: `${components([left, right])} bridged by ${bridge}`,
      };
    }
    case "partition-one-way": {
      const lone = shuffled[0] as string;
      const rest = nodes.filter((n) => n !== lone);
      if (rng.next() < 0.5) {
        return {
          cuts: rest.map((r) => ({ src: lone, dst: r })),
          description: `${lone} cannot send (hears all)`,
        };
      }
      return {
        cuts: rest.map((r) => ({ src: r, dst: lone })),
        description: `${lone} cannot hear (sends to all)`,
      };
    }
    default:
      throw new Error(`${kind} is not a partition`);
  }
}

/**
 * Members that cannot exchange messages both ways with a majority (counting
 * themselves): a leader among them can no longer hear a quorum, so
 * check-quorum must make it step down.
 */
export function withoutQuorum(nodes: readonly string[], cuts: readonly Cut[]): string[] {
  const cut = new Set(cuts.map((c) => `${c.src}->${c.dst}`));
  const quorum = Math.floor(nodes.length / 2) + 1;
  return nodes.filter((a) => {
    const reachable = nodes.filter(
      (b) => a === b || (!cut.has(`${a}->${b}`) && !cut.has(`${b}->${a}`)),
    );
    return reachable.length < quorum;
  });
}
