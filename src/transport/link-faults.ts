// Test-only fault injection on this node's peer links: per peer and direction,
// drop everything, delay, or lose a percentage of Raft messages. The transport
// consults it on every send and receive; with no rules it costs a map lookup.

import type { NodeId } from "../raft/types.js";
import { FaultRulesError } from "./errors.js";

/** "out" = from this node to the peer; "in" = from the peer to this node. */
export type LinkDirection = "out" | "in" | "both";

export interface LinkRule {
  /** Nothing crosses the link: Raft messages, pings and acks alike. */
  readonly drop: boolean;
  /** Raft messages are held this long before being sent/delivered. */
  readonly delayMs: number;
  /** Each Raft message is independently lost with this probability (0..100). */
  readonly lossPct: number;
}

/** The JSON shape of describe() and applyRules(): only links with a non-default rule. */
export interface LinkFaultsDescription {
  readonly links: readonly LinkRuleDescription[];
}

export interface LinkRuleDescription extends LinkRule {
  readonly peer: NodeId;
  readonly direction: "out" | "in";
}

export const NO_FAULT: LinkRule = Object.freeze({ drop: false, delayMs: 0, lossPct: 0 });
/** A delay longer than an election timeout many times over is a typo, not a test. */
export const FAULT_DELAY_MS_MAX = 60_000;
/** Bounds the rule table an operator can install through applyRules. */
export const FAULT_RULES_MAX = 256;

interface LinkRules {
  out: LinkRule;
  in: LinkRule;
}

function isDefault(rule: LinkRule): boolean {
  return !rule.drop && rule.delayMs === 0 && rule.lossPct === 0;
}

function checkPeer(peer: unknown, path: string): NodeId {
  if (typeof peer !== "number" || !Number.isSafeInteger(peer) || peer <= 0) {
    throw new FaultRulesError(
      path,
      `${path} must be a positive integer node id, got ${String(peer)}`,
    );
  }
  return peer;
}

function checkDelay(ms: unknown, path: string): number {
  if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0 || ms > FAULT_DELAY_MS_MAX) {
    throw new FaultRulesError(
      path,
      `${path} must be an integer number of ms in 0..${FAULT_DELAY_MS_MAX}, got ${String(ms)}`,
    );
  }
  return ms;
}

function checkLoss(pct: unknown, path: string): number {
  if (typeof pct !== "number" || !Number.isFinite(pct) || pct < 0 || pct > 100) {
    throw new FaultRulesError(path, `${path} must be a number in 0..100, got ${String(pct)}`);
  }
  return pct;
}

function checkDirection(direction: unknown, path: string): LinkDirection {
  if (direction !== "out" && direction !== "in" && direction !== "both") {
    throw new FaultRulesError(
      path,
      `${path} must be "out", "in" or "both", got ${String(direction)}`,
    );
  }
  return direction;
}

export class LinkFaults {
  private readonly rules = new Map<NodeId, LinkRules>();
  /** Raft messages discarded by a rule, keyed "peer/out" or "peer/in"; survives heal(). */
  private readonly dropped = new Map<string, number>();
  private readonly random: () => number;

  /** `random` returns [0, 1); injectable so loss is reproducible in unit tests. */
  constructor(options: { readonly random?: () => number } = {}) {
    this.random = options.random ?? Math.random;
  }

  outbound(peer: NodeId): LinkRule {
    return this.rules.get(peer)?.out ?? NO_FAULT;
  }

  inbound(peer: NodeId): LinkRule {
    return this.rules.get(peer)?.in ?? NO_FAULT;
  }

  /** One independent loss draw for one message under `rule`. */
  shouldLose(rule: LinkRule): boolean {
    return rule.lossPct > 0 && this.random() * 100 < rule.lossPct;
  }

  /** The transport reports each message a rule discarded (cut or loss). */
  countDropped(peer: NodeId, direction: "out" | "in", messageCount: number): void {
    const key = `${peer}/${direction}`;
    this.dropped.set(key, (this.dropped.get(key) ?? 0) + messageCount);
  }

  /** How many Raft messages rules have discarded on this link so far. */
  droppedMessages(peer: NodeId, direction: "out" | "in"): number {
    return this.dropped.get(`${peer}/${direction}`) ?? 0;
  }

  cut(peer: NodeId, direction: LinkDirection): void {
    this.update(peer, direction, { drop: true });
  }

  setDelay(peer: NodeId, delayMs: number, direction: LinkDirection = "both"): void {
    this.update(peer, direction, { delayMs: checkDelay(delayMs, "delayMs") });
  }

  setLoss(peer: NodeId, lossPct: number, direction: LinkDirection = "both"): void {
    this.update(peer, direction, { lossPct: checkLoss(lossPct, "lossPct") });
  }

  /** Removes every rule, or only those on links to `peer`. */
  heal(peer?: NodeId): void {
    if (peer === undefined) this.rules.clear();
    else this.rules.delete(peer);
  }

  describe(): LinkFaultsDescription {
    const links: LinkRuleDescription[] = [];
    const peers = [...this.rules.keys()].sort((a, b) => a - b);
    for (const peer of peers) {
      const rules = this.rules.get(peer);
      if (!rules) continue;
      if (!isDefault(rules.out)) links.push({ peer, direction: "out", ...rules.out });
      if (!isDefault(rules.in)) links.push({ peer, direction: "in", ...rules.in });
    }
    return { links };
  }

  /**
   * Replaces all rules with a JSON description (an object or its JSON text):
   * `{"links":[{"peer":2,"direction":"both","drop":true},{"peer":3,"delayMs":50}]}`.
   * `direction` defaults to "both"; omitted rule fields default to no fault.
   * Validates everything before changing anything; throws FaultRulesError.
   */
  applyRules(input: unknown): void {
    const parsed = parseRules(input);
    this.rules.clear();
    for (const rule of parsed) {
      const { peer, direction, ...fields } = rule;
      this.update(peer, direction, fields);
    }
  }

  private update(peer: NodeId, direction: LinkDirection, change: Partial<LinkRule>): void {
    checkPeer(peer, "peer");
    checkDirection(direction, "direction");
    const current = this.rules.get(peer) ?? { out: NO_FAULT, in: NO_FAULT };
    const next: LinkRules = {
      out: direction === "in" ? current.out : { ...current.out, ...change },
      in: direction === "out" ? current.in : { ...current.in, ...change },
    };
    if (isDefault(next.out) && isDefault(next.in)) this.rules.delete(peer);
    else this.rules.set(peer, next);
  }
}

interface ParsedRule extends Partial<LinkRule> {
  readonly peer: NodeId;
  readonly direction: LinkDirection;
}

const RULE_KEYS: ReadonlySet<string> = new Set(["peer", "direction", "drop", "delayMs", "lossPct"]);

function parseRules(input: unknown): ParsedRule[] {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new FaultRulesError("$", "fault rules are not valid JSON", { cause: error });
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FaultRulesError("$", 'fault rules must be an object like {"links": [...]}');
  }
  const extra = Object.keys(value).filter((key) => key !== "links");
  if (extra.length > 0) throw new FaultRulesError("$", `unknown field ${extra[0]}; only "links"`);
  const links = (value as { links?: unknown }).links;
  if (!Array.isArray(links)) throw new FaultRulesError("links", "links must be an array");
  if (links.length > FAULT_RULES_MAX) {
    throw new FaultRulesError(
      "links",
      `at most ${FAULT_RULES_MAX} link rules, got ${links.length}`,
    );
  }
  return links.map((link, i) => parseRule(link, `links[${i}]`));
}

function parseRule(link: unknown, path: string): ParsedRule {
  if (typeof link !== "object" || link === null || Array.isArray(link)) {
    throw new FaultRulesError(path, `${path} must be an object`);
  }
  const record = link as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!RULE_KEYS.has(key))
      throw new FaultRulesError(`${path}.${key}`, `${path}: unknown field ${key}`);
  }
  const rule: { -readonly [K in keyof ParsedRule]: ParsedRule[K] } = {
    peer: checkPeer(record.peer, `${path}.peer`),
    direction: checkDirection(record.direction ?? "both", `${path}.direction`),
  };
  if (record.drop !== undefined) {
    if (typeof record.drop !== "boolean") {
      throw new FaultRulesError(`${path}.drop`, `${path}.drop must be true or false`);
    }
    rule.drop = record.drop;
  }
  if (record.delayMs !== undefined) rule.delayMs = checkDelay(record.delayMs, `${path}.delayMs`);
  if (record.lossPct !== undefined) rule.lossPct = checkLoss(record.lossPct, `${path}.lossPct`);
  return rule;
}
