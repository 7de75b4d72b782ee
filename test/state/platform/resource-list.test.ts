// Resources.List: filters (kind, status, region, owner, category, label
// selector, name substring), sorts, page-size bounds, tokens tied to their
// query, pages that read at the first page's revision however the inventory
// changes between them, and tokens that expire with the history they need.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type {
  ResourceFilter,
  ResourceListQuery,
} from "../../../src/state/platform/resource-list.js";
import type { Resource } from "../../../src/state/platform/resource-types.js";
import { RESOURCE_HISTORY_AGE_MS } from "../../../src/state/platform/resources.js";
import { clock, cluster, create, databaseSpec, lifecycle, ok, update } from "./helpers.js";

const ANY: ResourceFilter = {
  kind: "",
  status: "",
  region: "",
  owner: "",
  category: "",
  labelSelector: "",
  nameContains: "",
};

const query = (
  filter: Partial<ResourceFilter> = {},
  rest: Partial<ResourceListQuery> = {},
): ResourceListQuery => ({
  filter: { ...ANY, ...filter },
  sortBy: "name",
  descending: false,
  pageSize: 500,
  pageToken: "",
  ...rest,
});

type Cluster = ReturnType<typeof cluster>;

function list(sm: Cluster["sm"], q: ResourceListQuery) {
  const page = sm.platform.listResources(q);
  if ("code" in page) throw new Error(page.message);
  return page;
}

const names = (resources: readonly Resource[]) => resources.map((r) => r.name);

function inventory() {
  const c = cluster();
  const apply: Cluster["apply"] = (command) => {
    clock.at += 10;
    return c.apply(command);
  };
  apply(create("ops", { name: "web-a", labels: { env: "prod", tier: "web" } }));
  apply(create("ops", { name: "Web-B", region: "us-east-1", labels: { env: "dev" } }));
  apply(
    create("root", {
      name: "db-main",
      category: "data",
      spec: databaseSpec(),
      labels: { env: "prod" },
    }),
  );
  const gone = ok(
    apply(create("ops", { name: "old-box", labels: {} })),
    "resource-create",
  ).resource;
  apply(lifecycle("ops", gone.id, "fail"));
  apply(lifecycle("ops", gone.id, "delete"));
  return c;
}

describe("filters", () => {
  it.each([
    ["everything but DELETED", {}, ["Web-B", "db-main", "web-a"]],
    ["kind", { kind: "database" }, ["db-main"]],
    ["status DELETED", { status: "DELETED" }, ["old-box"]],
    ["region", { region: "us-east-1" }, ["Web-B"]],
    ["owner", { owner: "root" }, ["db-main"]],
    ["category", { category: "data" }, ["db-main"]],
    ["label =", { labelSelector: "env=prod" }, ["db-main", "web-a"]],
    ["label !=", { labelSelector: "env!=prod" }, ["Web-B"]],
    ["labels combined", { labelSelector: "env=prod, tier!=web" }, ["db-main"]],
    ["name substring, any case", { nameContains: "WEB" }, ["Web-B", "web-a"]],
  ] as Array<[string, Partial<ResourceFilter>, string[]]>)("%s", (_, filter, expected) => {
    const { sm } = inventory();
    expect(names(list(sm, query(filter)).resources)).toEqual(expected);
  });

  it("refuses a bad selector, page size, kind or status with a message naming it", () => {
    const { sm } = inventory();
    const bad = (q: ResourceListQuery) => {
      const page = sm.platform.listResources(q);
      return "code" in page ? `${page.code}: ${page.message}` : "ok";
    };
    expect(bad(query({ labelSelector: "env" }))).toBe(
      'invalid-argument: filter.label_selector term "env" must be key=value or key!=value',
    );
    expect(bad(query({}, { pageSize: 0 }))).toBe(
      "invalid-argument: page_size must be 1..500, got 0",
    );
    expect(bad(query({}, { pageSize: 501 }))).toBe(
      "invalid-argument: page_size must be 1..500, got 501",
    );
    expect(bad(query({ status: "GONE" as "DELETED" }))).toContain("filter.status must be one of");
    expect(bad(query({}, { pageToken: "garbage" }))).toContain("page_token is malformed");
  });
});

describe("sorting", () => {
  it("sorts by name, created_at and updated_at in both directions", () => {
    const { sm, apply } = inventory();
    const dbMain = [...sm.platform.resources.all()].find((r) => r.name === "db-main") as Resource;
    clock.at += 1000;
    apply(update("root", dbMain.id, { category: "primary" }, { expectedVersion: 1 }));
    expect(names(list(sm, query({}, { sortBy: "created_at" })).resources)).toEqual([
      "web-a",
      "Web-B",
      "db-main",
    ]);
    expect(
      names(list(sm, query({}, { sortBy: "created_at", descending: true })).resources),
    ).toEqual(["db-main", "Web-B", "web-a"]);
    expect(
      names(list(sm, query({}, { sortBy: "updated_at", descending: true })).resources)[0],
    ).toBe("db-main");
    expect(names(list(sm, query({}, { descending: true })).resources)).toEqual([
      "web-a",
      "db-main",
      "Web-B",
    ]);
  });
});

describe("pages", () => {
  it("refuses a token used with another filter", () => {
    const { sm } = inventory();
    const first = list(sm, query({}, { pageSize: 1 }));
    const page = sm.platform.listResources(
      query({ region: "eu-west-1" }, { pageSize: 1, pageToken: first.nextPageToken }),
    );
    expect("code" in page && page.message).toBe(
      "page_token belongs to a different filter or sort; restart the listing",
    );
  });

  it("reads every page at the first page's revision while the inventory changes", () => {
    const change = fc.record({
      op: fc.constantFrom("rename", "create", "relabel", "stop", "fail"),
      pick: fc.nat(),
      name: fc.constantFrom("aa", "mm", "zz", "web-0", "db-9"),
    });
    const scenario = fc.record({
      sortBy: fc.constantFrom("name" as const, "created_at" as const, "updated_at" as const),
      descending: fc.boolean(),
      pageSize: fc.integer({ min: 1, max: 6 }),
      selector: fc.constantFrom("", "env=prod", "env!=prod"),
      changes: fc.array(change, { minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(scenario, ({ sortBy, descending, pageSize, selector, changes }) => {
        const { sm, apply } = cluster();
        for (let i = 0; i < 15; i++) {
          clock.at += 7;
          apply(
            create("ops", {
              name: `r-${(i * 7) % 15}`,
              labels: { env: i % 3 === 0 ? "dev" : "prod" },
            }),
          );
        }
        const q = query({ labelSelector: selector }, { sortBy, descending, pageSize });
        const expected = list(sm, { ...q, pageSize: 500 });
        const seen: Resource[] = [];
        let page = list(sm, q);
        seen.push(...page.resources);
        while (page.nextPageToken !== "") {
          for (const { op, pick, name } of changes) {
            clock.at += 3;
            const all = [...sm.platform.resources.all()];
            const target = all[pick % all.length] as Resource;
            const expectedVersion = target.version;
            if (op === "create") apply(create("ops", { name, labels: { env: "prod" } }));
            if (op === "rename") apply(update("ops", target.id, { name }, { expectedVersion }));
            if (op === "relabel")
              apply(update("ops", target.id, { labels: { env: name } }, { expectedVersion }));
            if (op === "stop") apply(lifecycle("ops", target.id, "fail"));
            if (op === "fail") apply(lifecycle("ops", target.id, "delete"));
          }
          page = list(sm, { ...q, pageToken: page.nextPageToken });
          expect(page.revision).toBe(expected.revision);
          seen.push(...page.resources);
        }
        expect(seen).toEqual(expected.resources);
      }),
      { numRuns: 60 },
    );
  });

  it("expires a token once the history it reads at is pruned", () => {
    const { sm, apply } = inventory();
    const [a, b] = [...sm.platform.resources.all()];
    const first = list(sm, query({}, { pageSize: 1 }));
    apply(update("ops", (a as Resource).id, { name: "changed" }, { expectedVersion: 1 }));
    expect(list(sm, query({}, { pageSize: 1, pageToken: first.nextPageToken })).revision).toBe(
      first.revision,
    );
    clock.at += RESOURCE_HISTORY_AGE_MS + 1;
    apply(update("ops", (b as Resource).id, { name: "later" }, { expectedVersion: 1 }));
    const expired = sm.platform.listResources(
      query({}, { pageSize: 1, pageToken: first.nextPageToken }),
    );
    expect("code" in expired && `${expired.code}: ${expired.message}`).toBe(
      `failed-precondition: page_token expired: it reads at revision ${first.revision}, but history is kept only from revision ${sm.platform.resources.historyFloor}; restart the listing`,
    );
  });
});
