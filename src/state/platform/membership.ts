// Membership groups: members with an address, a weight, metadata and a lease
// that keeps them in (a revoked lease removes the member). Placement is weighted
// rendezvous hashing over the committed member ids (rendezvous.ts); every change
// is summarized with its revision and the fraction of a fixed key sample whose
// primary owner moved, so watchers know how much to rebalance.
import { assert } from "../../util/assert.js";
import type { RowVisitor, TableWrite } from "../table-write.js";
import { asNumber, asString, decodeRow, encodeRow, readText, textKey } from "./codec.js";
import { MOVE_SAMPLE_KEYS, OwnerTable, type RendezvousMember } from "./rendezvous.js";
import { checkMap, checkRules, intIn, matches, type Rule, range } from "./rules.js";

/** member: group \0 member id (UTF-8) → msgpack GroupMember. */
export const MEMBER_TABLE = "member";
export const MEMBERS_PER_GROUP_MAX = 256;
export const WEIGHT = { min: 1, max: 1000 } as const;
export const REPLICAS_MAX = 16;

const GROUP = /^[A-Za-z0-9._-]{1,64}$/;
const MEMBER_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ADDRESS = /^[\x21-\x7e]{1,256}$/;
const METADATA_KEY = /^[A-Za-z0-9._/-]{1,64}$/;
const METADATA_VALUE = /^[^\0]{0,256}$/;

export interface GroupMember {
  readonly group: string;
  readonly memberId: string;
  readonly address: string;
  readonly weight: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly leaseId: number;
  readonly joinedAtMs: number;
  readonly joinRevision: number;
  readonly modRevision: number;
}

/** What a Membership watch sees for every change of a group. */
export interface MembershipChange {
  readonly group: string;
  readonly revision: number;
  readonly type: "join" | "update" | "leave";
  readonly memberId: string;
  readonly membersBefore: number;
  readonly membersAfter: number;
  /** Fraction of MOVE_SAMPLE_KEYS whose primary owner changed, 0..1. */
  readonly movedFraction: number;
}

interface JoinFields {
  readonly group: string;
  readonly memberId: string;
  readonly address: string;
  readonly weight: number;
  readonly metadata: Readonly<Record<string, string>>;
}

const JOIN_RULES: readonly Rule<JoinFields>[] = [
  {
    path: "group",
    allowed: "1..64 characters of [A-Za-z0-9._-]",
    value: (j) => j.group,
    ok: matches(GROUP),
  },
  {
    path: "member_id",
    allowed: "1..128 characters of [A-Za-z0-9._:-]",
    value: (j) => j.memberId,
    ok: matches(MEMBER_ID),
  },
  {
    path: "address",
    allowed: "1..256 printable ASCII characters without spaces",
    value: (j) => j.address,
    ok: matches(ADDRESS),
  },
  {
    path: "weight",
    allowed: range(WEIGHT.min, WEIGHT.max),
    value: (j) => j.weight,
    ok: intIn(WEIGHT.min, WEIGHT.max),
  },
];

export function validateJoin(fields: JoinFields): string | null {
  return (
    checkRules(fields, "member.", JOIN_RULES) ??
    checkMap(fields.metadata, "member.metadata", {
      entriesMax: 16,
      key: { allowed: "1..64 characters of [A-Za-z0-9._/-]", pattern: METADATA_KEY },
      value: { allowed: "0..256 characters without NUL", pattern: METADATA_VALUE },
    })
  );
}

export function validateMemberRef(group: string, memberId: string): string | null {
  return checkRules(
    { group, memberId, address: "-", weight: 1, metadata: {} },
    "member.",
    JOIN_RULES,
  );
}

export function validateLocate(group: string, key: string, replicas: number): string | null {
  if (!GROUP.test(group))
    return `member.group must be 1..64 characters of [A-Za-z0-9._-], got ${JSON.stringify(group)}`;
  if (typeof key !== "string" || key.length > 4096)
    return "locate.key must be at most 4096 characters";
  return intIn(1, REPLICAS_MAX)(replicas)
    ? null
    : `locate.replicas must be ${range(1, REPLICAS_MAX)}, got ${replicas}`;
}

const rowKey = (group: string, memberId: string): Uint8Array => textKey(`${group}\0${memberId}`);

export class MembershipTable {
  /** group → member id → member. */
  private readonly groups = new Map<string, Map<string, GroupMember>>();
  /** lease → "group\0member" of the members it keeps in. */
  private readonly byLease = new Map<number, Set<string>>();
  /** Derived from the members (never persisted): see sampleOwners. */
  private readonly samples = new Map<string, OwnerTable>();

  get(group: string, memberId: string): GroupMember | undefined {
    return this.groups.get(group)?.get(memberId);
  }

  /** A group's members by id. */
  members(group: string): GroupMember[] {
    const members = this.groups.get(group);
    if (members === undefined) return [];
    return [...members.keys()].sort().map((id) => members.get(id) as GroupMember);
  }

  groupNames(): string[] {
    return [...this.groups.keys()].sort();
  }

  /** [group, member id] pairs kept in by the lease, sorted. */
  membersOfLease(leaseId: number): Array<[string, string]> {
    return [...(this.byLease.get(leaseId) ?? [])].sort().map((ref) => {
      const [group, memberId] = ref.split("\0") as [string, string];
      return [group, memberId];
    });
  }

  /** Adds or replaces a member; returns the row and the change summary. */
  put(member: GroupMember): { write: TableWrite; change: MembershipChange } {
    const { group, memberId } = member;
    const before = this.members(group).length;
    const owners = this.sampleOwners(group);
    const was = [...owners.owners];
    const previous = this.get(group, memberId);
    if (previous !== undefined) this.unlink(previous);
    let members = this.groups.get(group);
    if (members === undefined) {
      members = new Map();
      this.groups.set(group, members);
    }
    members.set(memberId, member);
    assert(members.size <= MEMBERS_PER_GROUP_MAX, `group ${group} over its bound`);
    this.link(member);
    if (previous !== undefined) {
      owners.remove(
        memberId,
        placement(this.members(group).filter((m) => m.memberId !== memberId)),
      );
    }
    owners.add({ id: memberId, weight: member.weight });
    const write = { table: MEMBER_TABLE, key: rowKey(group, memberId), value: encodeRow(member) };
    const type = previous === undefined ? "join" : "update";
    return {
      write,
      change: this.summarize(group, type, memberId, member.modRevision, before, was),
    };
  }

  remove(
    group: string,
    memberId: string,
    revision: number,
  ): { write: TableWrite; change: MembershipChange } {
    const before = this.members(group).length;
    const owners = this.sampleOwners(group);
    const was = [...owners.owners];
    const members = this.groups.get(group);
    const member = members?.get(memberId);
    assert(
      members !== undefined && member !== undefined,
      `remove of unknown member ${group}/${memberId}`,
    );
    members.delete(memberId);
    this.unlink(member);
    owners.remove(memberId, placement(this.members(group)));
    const change = this.summarize(group, "leave", memberId, revision, before, was);
    if (members.size === 0) {
      this.groups.delete(group);
      this.samples.delete(group);
    }
    return { write: { table: MEMBER_TABLE, key: rowKey(group, memberId), value: null }, change };
  }

  /** Every row exactly as persisted (see state-digest.ts). */
  visitRows(visit: RowVisitor): void {
    for (const members of this.groups.values()) {
      for (const member of members.values()) {
        visit(MEMBER_TABLE, rowKey(member.group, member.memberId), encodeRow(member));
      }
    }
  }

  loadRow(key: Uint8Array, value: Uint8Array): void {
    const ref = readText(key);
    const row = decodeRow(value, `member ${ref}`);
    const member = row as unknown as GroupMember;
    assert(
      `${asString(row.group, "member.group")}\0${asString(row.memberId, "member.id")}` === ref,
      "member key",
    );
    asNumber(row.weight, "member.weight");
    let members = this.groups.get(member.group);
    if (members === undefined) {
      members = new Map();
      this.groups.set(member.group, members);
    }
    members.set(member.memberId, member);
    this.link(member);
    this.samples.delete(member.group);
  }

  private summarize(
    group: string,
    type: MembershipChange["type"],
    memberId: string,
    revision: number,
    membersBefore: number,
    ownersBefore: readonly string[],
  ): MembershipChange {
    const now = this.sampleOwners(group).owners;
    let moved = 0;
    for (let i = 0; i < now.length; i++) if (now[i] !== ownersBefore[i]) moved++;
    return {
      group,
      revision,
      type,
      memberId,
      membersBefore,
      membersAfter: this.members(group).length,
      movedFraction: moved / MOVE_SAMPLE_KEYS.length,
    };
  }

  /**
   * Primary owners of MOVE_SAMPLE_KEYS for a group, built on first use from
   * the committed members and then kept current change by change, so a change
   * costs about 2 × 1024 hashes however large the group is.
   */
  private sampleOwners(group: string): OwnerTable {
    let owners = this.samples.get(group);
    if (owners === undefined) {
      owners = new OwnerTable(MOVE_SAMPLE_KEYS, placement(this.members(group)));
      this.samples.set(group, owners);
    }
    return owners;
  }

  private link(member: GroupMember): void {
    if (member.leaseId === 0) return;
    let refs = this.byLease.get(member.leaseId);
    if (refs === undefined) {
      refs = new Set();
      this.byLease.set(member.leaseId, refs);
    }
    refs.add(`${member.group}\0${member.memberId}`);
  }

  private unlink(member: GroupMember): void {
    if (member.leaseId === 0) return;
    const refs = this.byLease.get(member.leaseId);
    assert(refs?.delete(`${member.group}\0${member.memberId}`) === true, "member lease index");
    if (refs.size === 0) this.byLease.delete(member.leaseId);
  }
}

/** The rendezvous input: committed member ids and weights, never addresses. */
export function placement(members: readonly GroupMember[]): RendezvousMember[] {
  return members.map((member) => ({ id: member.memberId, weight: member.weight }));
}
