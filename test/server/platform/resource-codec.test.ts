// Translation of cairn.v1 resource messages: specs survive a round trip,
// unknown enum numbers are refused with the proto's names, fences and sorts
// are checked; and the resource watch refuses to replay past pruned history
// instead of inventing versions.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { cairn } from "../../../src/gen/cairn.js";
import { toServiceError } from "../../../src/server/errors.js";
import {
  fenceFromProto,
  fieldsFromCreate,
  filterFromProto,
  resourceToProto,
  sortFromProto,
  specFromProto,
} from "../../../src/server/platform/resource-codec.js";
import { resourceEvent } from "../../../src/server/platform/resource-watch.js";
import type { OpLogRecord, Resource, ResourceSpec } from "../../../src/state/index.js";

function refusal(run: () => unknown): { code: unknown; details: unknown } {
  try {
    run();
  } catch (error) {
    const converted = toServiceError(error);
    return { code: converted.code, details: converted.details };
  }
  throw new Error("expected a refusal");
}

const server: ResourceSpec = {
  kind: "server",
  image: "ubuntu:24.04",
  cpu: 4,
  memoryMib: 4096,
  diskGib: 80,
  bandwidthMbps: 1000,
  hostname: "api-1",
  dnsServers: ["1.1.1.1"],
  sshKeyFingerprints: [],
  backup: { schedule: "0 3 * * *", retentionDays: 7 },
  loadBalancer: { algorithm: "least_connections", backends: ["10.0.0.1:80"] },
  sslCertificate: { domain: "*.example.com", notAfterMs: 1_900_000_000_000 },
};

const database: ResourceSpec = {
  kind: "database",
  engine: "postgresql",
  version: "16",
  cpu: 2,
  memoryMib: 2048,
  diskGib: 50,
  replicas: 1,
  backup: null,
};

function resource(spec: ResourceSpec, version: number, modRevision: number): Resource {
  return {
    id: "srv-5",
    kind: spec.kind,
    name: "api",
    category: "",
    labels: { env: "prod" },
    region: "eu-west",
    owner: "alice",
    status: "RUNNING",
    statusMessage: "",
    installedSoftware: [],
    spec,
    createdAtMs: 1,
    updatedAtMs: 2,
    version,
    createRevision: 5,
    modRevision,
  };
}

describe("resource codec", () => {
  it.each([server, database])("round-trips a $kind spec through the wire message", (spec) => {
    const wire = resourceToProto(resource(spec, 1, 5));
    const decoded = cairn.v1.Resource.decode(cairn.v1.Resource.encode(wire).finish());
    expect(specFromProto(decoded)).toEqual(spec);
  });

  it("refuses unknown enum numbers with the proto's names", () => {
    expect(
      refusal(() =>
        fieldsFromCreate({ name: "x", server: { loadBalancer: { algorithm: 0, backends: [] } } }),
      ),
    ).toEqual({
      code: status.INVALID_ARGUMENT,
      details:
        "resource.spec.load_balancer.algorithm must be one of LOAD_BALANCER_ALGORITHM_ROUND_ROBIN|LOAD_BALANCER_ALGORITHM_WEIGHTED|LOAD_BALANCER_ALGORITHM_LEAST_CONNECTIONS|LOAD_BALANCER_ALGORITHM_IP_HASH|LOAD_BALANCER_ALGORITHM_URL_HASH, got 0",
    });
    expect(refusal(() => filterFromProto({ status: 42 as cairn.v1.ResourceStatus })).details).toBe(
      "filter.status must be one of RESOURCE_STATUS_PROVISIONING|RESOURCE_STATUS_RUNNING|RESOURCE_STATUS_STOPPED|RESOURCE_STATUS_ERROR|RESOURCE_STATUS_DELETED, got 42",
    );
    expect(filterFromProto({ status: 0, kind: 2 })).toMatchObject({ status: "", kind: "database" });
    expect(refusal(() => sortFromProto(9, 0)).code).toBe(status.INVALID_ARGUMENT);
    expect(sortFromProto(0, cairn.v1.SortOrder.SORT_ORDER_DESCENDING)).toEqual({
      sortBy: "name",
      descending: true,
    });
  });

  it("reads a fence's holder, and refuses one that names none", () => {
    expect(fenceFromProto(null)).toBeNull();
    expect(fenceFromProto({ lock: "deploy", token: 7 })).toEqual({
      kind: "lock",
      lock: "deploy",
      token: 7,
    });
    expect(fenceFromProto({ etcdKey: Buffer.from("l/1"), token: 9 })).toMatchObject({
      kind: "etcd-key",
      token: 9,
    });
    expect(refusal(() => fenceFromProto({ token: 3 })).details).toBe(
      "fence must name a lock or an etcd_key, got neither",
    );
    expect(refusal(() => fieldsFromCreate({ name: "x" })).details).toBe(
      "resource.spec must be a server or a database spec, got none",
    );
  });
});

describe("resource watch events", () => {
  const selection = {
    resourceId: "",
    filter: filterFromProto(null),
    labels: [],
  };
  const record = (revision: number, action = "resource.update"): OpLogRecord => ({
    sequence: 10,
    revision,
    atMs: 1,
    actor: "alice",
    action,
    target: "resource/srv-5",
    outcome: "ok",
    before: {},
    after: {},
  });
  const v1 = resource(server, 1, 5);
  const v2 = resource(server, 2, 8);
  const history = (floor: number) => ({
    historyFloor: floor,
    versionAt: (_id: string, revision: number) =>
      revision >= 8 ? v2 : revision >= 5 ? v1 : undefined,
  });

  it("rebuilds the change and the version before it", () => {
    const event = resourceEvent(history(0), record(8), selection);
    expect(event).toMatchObject({ type: 2, revision: 8, sequence: 10 });
    expect(event?.resource?.version).toBe(2);
    expect(event?.prev?.version).toBe(1);
    expect(resourceEvent(history(0), { ...record(8), outcome: "aborted" }, selection)).toBeNull();
  });

  it("refuses to replay a change whose previous version was pruned", () => {
    expect(refusal(() => resourceEvent(history(8), record(8), selection))).toEqual({
      code: status.FAILED_PRECONDITION,
      details:
        "op-log sequence 10 (revision 8) can no longer be replayed: resource history is kept from revision 8; list the resources and watch from sequence 0",
    });
  });
});
