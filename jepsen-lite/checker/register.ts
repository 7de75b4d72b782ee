// The single-register model (one per key) and the translation of paired
// history ops into its inputs.
//
// Public API:
//   type RegisterOp = { kind: "read"; value } | { kind: "write"; value }
//                   | { kind: "cas"; expected; next; succeeded: boolean | undefined }
//   const registerModel: Model<string, RegisterOp>
//   function toRegisterOp(op: PairedOp): RegisterOp | undefined
//   function canonicalValue(value: unknown): string
//   function describeRegisterOp(op: RegisterOp): string
//
// Values are compared by canonical JSON (object keys sorted), so the model
// state is a string and equality is string equality. An absent key and a
// null value are the same state, "null".
//
// History conventions (see CHECKERS.md): read's ok value is the value read
// (null/absent when missing); write's invoke value is the value; cas's invoke
// value is [expected, new] and its ok value is false when the comparison
// failed, anything else meaning it succeeded.

import { assertNever } from "../../src/util/assert.js";
import type { PairedOp } from "../history/pair.js";
import type { Model } from "./wgl.js";

export type RegisterOp =
  | { readonly kind: "read"; readonly value: string }
  | { readonly kind: "write"; readonly value: string }
  | {
      readonly kind: "cas";
      readonly expected: string;
      readonly next: string;
      /** undefined when the outcome is unknown (info/pending). */
      readonly succeeded: boolean | undefined;
    };

export const ABSENT = "null";

export const registerModel: Model<string, RegisterOp> = {
  init: ABSENT,
  step(state, op) {
    switch (op.kind) {
      case "read":
        return op.value === state ? state : undefined;
      case "write":
        return op.value;
      case "cas":
        if (op.succeeded === undefined) return state === op.expected ? op.next : state;
        if (op.succeeded) return state === op.expected ? op.next : undefined;
        return state === op.expected ? undefined : state;
      default:
        return assertNever(op, "register op");
    }
  },
  stateKey: (state) => state,
};

/**
 * The model input for a paired op, or undefined when the op cannot affect
 * the register: definite failures, and reads whose result is unknown.
 * Throws for an `f` the register does not know: a workload/checker mismatch.
 */
export function toRegisterOp(op: PairedOp): RegisterOp | undefined {
  if (op.outcome === "fail") return undefined;
  const known = op.outcome === "ok";
  switch (op.f) {
    case "read":
      return known ? { kind: "read", value: canonicalValue(op.output) } : undefined;
    case "write":
      return { kind: "write", value: canonicalValue(op.input) };
    case "cas": {
      if (!Array.isArray(op.input) || op.input.length !== 2) {
        throw new Error(`cas #${op.invokeIndex}: input must be [expected, new]`);
      }
      const [expected, next] = op.input as [unknown, unknown];
      return {
        kind: "cas",
        expected: canonicalValue(expected),
        next: canonicalValue(next),
        succeeded: known ? op.output !== false : undefined,
      };
    }
    default:
      throw new Error(`register checker: unknown f "${op.f}" at record ${op.invokeIndex}`);
  }
}

export function canonicalValue(value: unknown): string {
  return JSON.stringify(sortKeys(value ?? null));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      sorted[k] = sortKeys((value as Record<string, unknown>)[k]);
    }
    return sorted;
  }
  return value;
}

export function describeRegisterOp(op: RegisterOp): string {
  switch (op.kind) {
    case "read":
      return `read → ${op.value}`;
    case "write":
      return `write(${op.value})`;
    case "cas": {
      const outcome = op.succeeded === undefined ? "?" : String(op.succeeded);
      return `cas(${op.expected} → ${op.next}) → ${outcome}`;
    }
    default:
      return assertNever(op, "register op");
  }
}
