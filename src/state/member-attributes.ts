// Each member's published attributes (name and client URLs), replicated so
// that MemberList on any member names every member's client endpoints, as
// etcd publishes them through Raft when a member starts.
import { Packr } from "msgpackr";
import { assert } from "../util/assert.js";
import type { RowVisitor, TableWrite } from "./table-write.js";

export interface MemberAttributes {
  readonly memberId: number;
  readonly name: string;
  readonly clientUrls: readonly string[];
}

export const MEMBER_ATTRIBUTES_TABLE = "member-attr";
const packr = new Packr({ useRecords: false, moreTypes: false });

function rowKey(memberId: number): Uint8Array {
  const key = Buffer.alloc(6);
  key.writeUIntBE(memberId, 0, 6);
  return key;
}

function rowValue(attributes: MemberAttributes): Uint8Array {
  return packr.pack({ name: attributes.name, clientUrls: [...attributes.clientUrls] });
}

export class MemberAttributesTable {
  private readonly members = new Map<number, MemberAttributes>();

  get(memberId: number): MemberAttributes | undefined {
    return this.members.get(memberId);
  }

  /** Records a member's attributes; republishing the same ones writes nothing. */
  publish(attributes: MemberAttributes): TableWrite[] {
    assert(attributes.memberId > 0, "attributes name a member");
    const current = this.members.get(attributes.memberId);
    if (
      current !== undefined &&
      current.name === attributes.name &&
      current.clientUrls.join("\n") === attributes.clientUrls.join("\n")
    ) {
      return [];
    }
    this.members.set(attributes.memberId, attributes);
    return [
      {
        table: MEMBER_ATTRIBUTES_TABLE,
        key: rowKey(attributes.memberId),
        value: rowValue(attributes),
      },
    ];
  }

  /** Every row exactly as persisted (see state-digest.ts). */
  visitRows(visit: RowVisitor): void {
    for (const attributes of this.members.values()) {
      visit(MEMBER_ATTRIBUTES_TABLE, rowKey(attributes.memberId), rowValue(attributes));
    }
  }

  loadRow(key: Uint8Array, value: Uint8Array): void {
    assert(key.byteLength === 6, "member attribute keys are 6 bytes");
    const stored = packr.unpack(value) as { name: string; clientUrls: string[] };
    const memberId = Buffer.from(key).readUIntBE(0, 6);
    this.members.set(memberId, { memberId, name: stored.name, clientUrls: stored.clientUrls });
  }
}
