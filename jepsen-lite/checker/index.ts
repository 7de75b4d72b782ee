// The checkers: each a pure function from what a workload observed to a
// result with `valid: true | false | "unknown"`, and their combination.

export {
  type CheckerResult,
  combineResults,
  combineValidity,
  encodeResults,
  type Results,
  type Validity,
} from "./combine.js";
export { checkLease, type LeaseObservation, type LeaseResult, type LeaseTrack } from "./lease.js";
export { leaseTracksFromHistory } from "./lease-history.js";
export {
  type Counterexample,
  checkLinearizable,
  checkLinearizableOps,
  type LinearizableOptions,
  type LinearizableResult,
} from "./linearizable.js";
export {
  checkLock,
  type LockHold,
  type LockLog,
  type LockResult,
  type ResourceWrite,
} from "./lock.js";
export {
  checkPlatform,
  type FinalResource,
  type OpLogEntry,
  type PlatformInput,
  type PlatformResult,
  type PlatformUpdate,
} from "./platform.js";
export {
  type AckedWrite,
  checkWatch,
  type WatchEvent,
  type WatcherLog,
  type WatchFilter,
  type WatchResult,
  type WatchSession,
} from "./watch.js";
