// The fault kinds jepsen-lite knows, grouped into the families --nemesis
// names, and how long each one is held. "snapshot" schedules nothing: it
// starts the members with a low snapshot threshold so snapshots and snapshot
// catch-up happen all through the run.
export const FAULT_KINDS = [
  "partition-one",
  "partition-majority",
  "partition-majorities-ring",
  "partition-bridge",
  "partition-one-way",
  "partition-isolate-leader",
  "kill",
  "kill-leader",
  "kill-all",
  "pause",
  "pause-leader",
  "slow",
  "lossy",
  "member",
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export const NEMESIS_FAMILIES = [
  "partition",
  "kill",
  "pause",
  "slow",
  "member",
  "snapshot",
] as const;
export type NemesisFamily = (typeof NEMESIS_FAMILIES)[number];

export function isNemesisFamily(name: string): name is NemesisFamily {
  return (NEMESIS_FAMILIES as readonly string[]).includes(name);
}

/** What --nemesis lists: a whole family, or one fault kind (e.g. to aim at one bug). */
export type NemesisName = NemesisFamily | FaultKind;

export function isFaultKind(name: string): name is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(name);
}

export function isNemesisName(name: string): name is NemesisName {
  return isNemesisFamily(name) || isFaultKind(name);
}

/**
 * Every kind the names schedule on a cluster of `nodes` members, without
 * repeats. A name that is both (kill, pause, slow, member) means the family.
 */
export function kindsOfNames(names: readonly NemesisName[], nodes: number): FaultKind[] {
  const kinds = names.flatMap((name) => (isNemesisFamily(name) ? kindsOf(name, nodes) : [name]));
  return [...new Set(kinds)];
}

/** Which families the names touch (a kind counts for its family). */
export function familiesOfNames(names: readonly NemesisName[]): NemesisFamily[] {
  return NEMESIS_FAMILIES.filter((family) =>
    names.some((name) => name === family || (isFaultKind(name) && familyOf(name) === family)),
  );
}

/** The family that schedules `kind` (read off kindsOf, so the two cannot disagree). */
export function familyOf(kind: FaultKind): NemesisFamily {
  const family = NEMESIS_FAMILIES.find((f) => kindsOf(f, 5).includes(kind));
  if (family === undefined) throw new Error(`no family schedules ${kind}`);
  return family;
}

/** The kinds a family schedules on a cluster of `nodes` members. */
export function kindsOf(family: NemesisFamily, nodes: number): FaultKind[] {
  switch (family) {
    case "partition":
      return [
        "partition-one",
        "partition-majority",
        ...(nodes >= 5 ? (["partition-majorities-ring"] as const) : []),
        "partition-bridge",
        "partition-one-way",
        "partition-isolate-leader",
      ];
    case "kill":
      return ["kill", "kill-leader", "kill-all"];
    case "pause":
      return ["pause", "pause-leader"];
    case "slow":
      return ["slow", "lossy"];
    case "member":
      return ["member"];
    case "snapshot":
      return [];
    default: {
      const unknown: never = family;
      throw new Error(`unknown nemesis family ${String(unknown)}`);
    }
  }
}

/** [min, max] ms a fault is held before its heal (kill: the restart delay). */
export function holdRangeMs(kind: FaultKind): readonly [number, number] {
  switch (kind) {
    case "kill":
    case "kill-leader":
    case "kill-all":
      return [0, 3_000];
    case "pause":
    case "pause-leader":
      return [1_000, 10_000];
    case "member":
      return [1_000, 4_000];
    case "partition-one":
    case "partition-majority":
    case "partition-majorities-ring":
    case "partition-bridge":
    case "partition-one-way":
    case "partition-isolate-leader":
    case "slow":
    case "lossy":
      return [3_000, 8_000];
    default: {
      const unknown: never = kind;
      throw new Error(`unknown fault ${String(unknown)}`);
    }
  }
}

/** Extra `cairn serve` flags the nemeses need. */
export function serveArgsFor(names: readonly NemesisName[]): string[] {
  return names.includes("snapshot")
    ? ["--snapshot-count", "50", "--snapshot-catchup-entries", "20"]
    : [];
}
