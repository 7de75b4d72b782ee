// What the nemesis and the final phase need from the system under test: its
// members as child processes on loopback, start/kill/signal by name, and a
// status (role, leader, applied index). ProcessCluster (cairn) fits as is;
// etcd-target.ts adapts a real etcd 3.4 cluster.
import type { ChildProcess } from "node:child_process";

export interface TargetMember {
  readonly name: string;
  readonly client: string;
  readonly peer: string;
  readonly dataDir: string;
  readonly logFile: string;
  process: ChildProcess | null;
  joining?: boolean;
}

export interface TargetStatus {
  readonly role: string;
  readonly leaderName: string;
  readonly appliedIndex: number;
  /** The member's Raft term (a re-elected leader has a new one). */
  readonly term: number;
}

export interface Target {
  readonly members: TargetMember[];
  /** Holds the members' data dirs and logs (copied into the store on failure). */
  readonly dir: string;
  member(name: string): TargetMember;
  startMember(name: string): void;
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  signal(name: string, signal: NodeJS.Signals): boolean;
  status(name: string): Promise<TargetStatus | null>;
  waitForLeader(timeoutMs?: number, among?: readonly string[]): Promise<string>;
  stop(keepData?: boolean): Promise<void>;
}
