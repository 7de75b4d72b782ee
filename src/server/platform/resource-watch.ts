// Resources.Watch: resource changes rebuilt from the op log, so replay (from
// since_sequence or start_revision) and live delivery are one path. Each successful resource
// record names the resource and the revision of its change; the version at
// that revision and the one just before come from the resource history the
// state machine keeps for List. A change is sent when either version matches
// the filter, so a watcher also sees a resource leave its filter.
import { cairn } from "../../gen/cairn.js";
import {
  type OpLogRecord,
  parseLabelSelector,
  type Resource,
  type ResourceFilter,
} from "../../state/index.js";
import { type LabelRequirement, matchesFilter } from "../../state/platform/resource-list.js";
import { assert } from "../../util/assert.js";
import { CairnError } from "../errors.js";
import { requireGrant } from "./auth.js";
import type { PlatformDeps } from "./deps.js";
import { invalid, orThrow } from "./platform-errors.js";
import type { StreamContext } from "./platform-stream.js";
import { filterFromProto, resourceToProto } from "./resource-codec.js";

const RESOURCE_TARGET = "resource/";
const { TYPE_CREATED, TYPE_UPDATED } = cairn.v1.ResourceEvent.Type;

type WatchResponse = cairn.v1.WatchResourcesResponse.$Properties;

/** What the stream needs of the resource table: versions as of a revision. */
interface ResourceHistory {
  readonly historyFloor: number;
  versionAt(id: string, revision: number): Resource | undefined;
}

interface Selection {
  readonly resourceId: string;
  readonly filter: ResourceFilter;
  readonly labels: readonly LabelRequirement[];
}

function selected(selection: Selection, resource: Resource | undefined): boolean {
  if (resource === undefined) return false;
  if (selection.resourceId !== "" && resource.id !== selection.resourceId) return false;
  return matchesFilter(resource, selection.filter, selection.labels);
}

/** The change a record describes, or null when it is not a successful resource change. */
export function resourceEvent(
  history: ResourceHistory,
  record: OpLogRecord,
  selection: Selection,
): cairn.v1.ResourceEvent.$Properties | null {
  if (!record.target.startsWith(RESOURCE_TARGET) || record.outcome !== "ok") return null;
  const id = record.target.slice(RESOURCE_TARGET.length);
  if (selection.resourceId !== "" && id !== selection.resourceId) return null;
  const created = record.action === "resource.create";
  const oldest = created ? record.revision : record.revision - 1;
  if (oldest < history.historyFloor) {
    throw new CairnError(
      "FAILED_PRECONDITION",
      `op-log sequence ${record.sequence} (revision ${record.revision}) can no longer be replayed: ` +
        `resource history is kept from revision ${history.historyFloor}; list the resources and watch from sequence 0`,
    );
  }
  const resource = history.versionAt(id, record.revision);
  assert(
    resource?.modRevision === record.revision,
    `resource ${id} has no version at ${record.revision}`,
  );
  const prev = created ? undefined : history.versionAt(id, record.revision - 1);
  assert(created || prev !== undefined, `resource ${id} has no version before ${record.revision}`);
  if (!selected(selection, resource) && !selected(selection, prev)) return null;
  return {
    type: created ? TYPE_CREATED : TYPE_UPDATED,
    revision: record.revision,
    sequence: record.sequence,
    resource: resourceToProto(resource),
    ...(prev === undefined ? {} : { prev: resourceToProto(prev) }),
  };
}

/** The first op-log sequence to replay: from since_sequence, from start_revision, or from now. */
function startAt(deps: PlatformDeps, sinceSequence: number, startRevision: number): number {
  if (sinceSequence !== 0 && startRevision !== 0) {
    throw invalid(
      `give since_sequence or start_revision, not both (got since_sequence ${sinceSequence} and start_revision ${startRevision})`,
    );
  }
  return startRevision === 0
    ? deps.feed.startSequence(sinceSequence)
    : deps.feed.startSequenceAtRevision(startRevision);
}

export async function watchResources(
  deps: PlatformDeps,
  request: cairn.v1.WatchResourcesRequest,
  context: StreamContext<WatchResponse>,
): Promise<void> {
  requireGrant(context.caller, "resource.read");
  const filter = filterFromProto(request.filter);
  const labels = orThrow(parseLabelSelector(filter.labelSelector));
  const selection: Selection = { resourceId: request.resourceId, filter, labels };
  const history = deps.node.stateMachine.platform.resources;
  const startRevision = request.startRevision;
  let next = startAt(deps, request.sinceSequence, startRevision);
  // The first response confirms the watch and the revision it starts from.
  await context.write({ header: deps.headers.header(deps.feed.revision), events: [] });
  for (;;) {
    const records = await deps.feed.read(next, context.signal);
    next = (records[records.length - 1] as OpLogRecord).sequence + 1;
    const events = records
      .filter((record) => record.revision >= startRevision)
      .map((record) => resourceEvent(history, record, selection))
      .filter((event) => event !== null);
    if (events.length > 0) {
      await context.write({ header: deps.headers.header(deps.feed.revision), events });
    }
  }
}
