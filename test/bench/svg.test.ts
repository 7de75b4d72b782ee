// The throughput chart as text: well-formed XML, one line per target through
// points ordered by client count, higher throughput drawn higher, the
// measured client counts on the x axis, and names escaped.
import { describe, expect, it } from "vitest";
import { type ChartPoint, escapeXml, niceStep, throughputSvg } from "../../bench/svg.js";

interface Element {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly text: string;
}

const ENTITY = /&(?:#\d+|#x[0-9a-fA-F]+|amp|lt|gt|quot|apos);/g;
const TAG = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;

function assertNoBareAmpersand(text: string, where: string): void {
  if (text.replace(ENTITY, "").includes("&")) throw new Error(`bare & in ${where}: ${text}`);
}

/**
 * A small XML well-formedness check (enough for the markup svg.ts writes: no
 * comments, CDATA or processing instructions): tags nest and close, one root,
 * attribute values quoted, no bare < or & in text or values. Returns the
 * elements in document order, with their direct text.
 */
function parseXml(xml: string): Element[] {
  const elements: Element[] = [];
  const open: { name: string; attributes: Record<string, string>; text: string }[] = [];
  let roots = 0;
  let at = 0;
  while (at < xml.length) {
    const lt = xml.indexOf("<", at);
    const text = xml.slice(at, lt < 0 ? xml.length : lt);
    assertNoBareAmpersand(text, "text");
    if (text.trim() !== "") {
      const parent = open[open.length - 1];
      if (parent === undefined) throw new Error(`text outside the root: ${text}`);
      parent.text += text;
    }
    if (lt < 0) break;
    TAG.lastIndex = lt;
    const tag = TAG.exec(xml);
    if (tag === null) throw new Error(`malformed tag at ${lt}: ${xml.slice(lt, lt + 60)}`);
    const [whole, closing, name = "", rawAttributes = "", selfClosing] = tag;
    if (closing === "/") {
      const top = open.pop();
      if (top?.name !== name) throw new Error(`</${name}> closes <${top?.name}>`);
      elements.push(top);
    } else {
      const attributes: Record<string, string> = {};
      for (const [, key = "", value = ""] of rawAttributes.matchAll(/([\w:.-]+)="([^"]*)"/g)) {
        if (key in attributes) throw new Error(`attribute ${key} twice on <${name}>`);
        assertNoBareAmpersand(value, `${name}@${key}`);
        attributes[key] = value;
      }
      if (open.length === 0) roots++;
      if (selfClosing === "/") elements.push({ name, attributes, text: "" });
      else open.push({ name, attributes, text: "" });
    }
    at = lt + whole.length;
  }
  if (open.length > 0) throw new Error(`unclosed <${open.map((e) => e.name).join("><")}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return elements;
}

function point(concurrency: number, opsPerSecond: number, runs = 1): ChartPoint {
  return {
    concurrency,
    runs,
    opsPerSecond,
    opsPerSecondMin: opsPerSecond * 0.9,
    opsPerSecondMax: opsPerSecond * 1.1,
  };
}

/** The [x, y] pairs of a polyline's points attribute. */
function coordinates(polyline: Element): [number, number][] {
  return (polyline.attributes.points ?? "")
    .split(" ")
    .map((pair) => pair.split(",").map(Number) as [number, number]);
}

const cairn = [point(64, 9000), point(1, 400), point(16, 5200), point(256, 12_000)];
const etcd = [point(1, 900), point(16, 6100), point(64, 8000), point(256, 8500)];

describe("throughputSvg", () => {
  const svg = throughputSvg({ workload: "put", subtitle: "3 members" }, [
    { label: "cairn", points: cairn },
    { label: "etcd", points: etcd },
  ]);
  const elements = parseXml(svg);

  it("is a well-formed SVG document with the workload in its title", () => {
    const root = elements[elements.length - 1];
    expect(root?.name).toBe("svg");
    expect(root?.attributes.xmlns).toBe("http://www.w3.org/2000/svg");
    const titles = elements.filter((e) => e.attributes.class === "title");
    expect(titles.map((t) => t.text)).toEqual(["put: throughput vs concurrency"]);
  });

  it("draws one polyline per target through every level, ordered by client count", () => {
    const lines = elements.filter((e) => e.name === "polyline");
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const xs = coordinates(line).map(([x]) => x);
      expect(xs).toHaveLength(4);
      expect(xs).toEqual([...xs].sort((a, b) => a - b));
      expect(new Set(xs).size).toBe(4);
    }
    // Both targets measured the same levels, so they share the x positions.
    const [first, second] = lines.map((l) => coordinates(l).map(([x]) => x));
    expect(first).toEqual(second);
  });

  it("spaces the levels by log2: 1→16 and 16→256 are the same width", () => {
    const [line] = elements.filter((e) => e.name === "polyline");
    const xs = coordinates(line as Element).map(([x]) => x);
    const [x1 = 0, x16 = 0, x64 = 0, x256 = 0] = xs;
    expect(x16 - x1).toBeCloseTo(x256 - x16, 0);
    expect(x64 - x16).toBeCloseTo((x16 - x1) / 2, 0);
  });

  it("draws more ops/s higher up (smaller y) and 0 at the bottom axis", () => {
    const [cairnLine] = elements.filter((e) => e.name === "polyline");
    const ys = coordinates(cairnLine as Element).map(([, y]) => y);
    // cairn's medians rise 400 < 5200 < 9000 < 12000, so y must fall.
    expect(ys).toEqual([...ys].sort((a, b) => b - a));
    const yTicks = elements.filter((e) => e.attributes.class === "y-tick");
    const zero = yTicks.find((t) => t.text === "0");
    expect(Number(zero?.attributes.y)).toBeGreaterThan(Math.max(...ys));
    const values = yTicks.map((t) => Number(t.text.replace("k", "e3")));
    expect(Math.max(...values)).toBeGreaterThanOrEqual(12_000 * 1.1);
    const tickYs = yTicks.map((t) => Number(t.attributes.y));
    expect(tickYs).toEqual([...tickYs].sort((a, b) => b - a));
  });

  it("labels the x axis with exactly the client counts measured", () => {
    const labels = elements.filter((e) => e.attributes.class === "x-tick").map((e) => e.text);
    expect(labels).toEqual(["1", "16", "64", "256"]);
  });

  it("has a legend entry per target and a marker per point", () => {
    const legend = elements.filter((e) => e.attributes.class === "legend").map((e) => e.text);
    expect(legend).toEqual(["cairn", "etcd"]);
    const markers = elements.filter((e) => e.name === "circle" && e.attributes.cx !== undefined);
    expect(markers.length).toBe(8 + 2); // 4 per series, 1 per legend entry
  });

  it("draws a min–max whisker only where repetitions differ", () => {
    expect(elements.filter((e) => e.attributes.class === "range")).toHaveLength(0);
    const repeated = parseXml(
      throughputSvg({ workload: "get" }, [{ label: "cairn", points: [point(1, 10, 3)] }]),
    );
    expect(repeated.filter((e) => e.attributes.class === "range")).toHaveLength(1);
  });

  it("escapes workload names and labels", () => {
    const hostile = throughputSvg({ workload: `a<b>&"c'`, subtitle: "x & y" }, [
      { label: "<etcd>", points: [point(1, 10)] },
    ]);
    const parsed = parseXml(hostile);
    expect(hostile).not.toContain("a<b>");
    expect(hostile).toContain(escapeXml(`a<b>&"c'`));
    expect(parsed.find((e) => e.attributes.class === "subtitle")?.text).toBe("x &#38; y");
    expect(parsed.find((e) => e.attributes.class === "legend")?.text).toBe("&#60;etcd&#62;");
  });

  it("centres a single level and survives a series with no finite points", () => {
    const single = parseXml(
      throughputSvg({ workload: "lock" }, [
        { label: "cairn", points: [point(8, 100)] },
        { label: "etcd", points: [{ ...point(8, Number.NaN) }] },
      ]),
    );
    const labels = single.filter((e) => e.attributes.class === "x-tick").map((e) => e.text);
    expect(labels).toEqual(["8"]);
    expect(single.filter((e) => e.name === "polyline")).toHaveLength(1);
  });
});

describe("escapeXml", () => {
  it("replaces the five XML specials and nothing else", () => {
    expect(escapeXml(`<a href="x">Tom & Jerry's</a> ü`)).toBe(
      "&#60;a href=&#34;x&#34;&#62;Tom &#38; Jerry&#39;s&#60;/a&#62; ü",
    );
  });
});

describe("niceStep", () => {
  it("picks 1, 2 or 5 × 10^k for about five ticks", () => {
    expect(niceStep(13_200)).toBe(5000);
    expect(niceStep(9000)).toBe(2000);
    expect(niceStep(100)).toBe(20);
    expect(niceStep(0.7)).toBe(0.2);
    expect(niceStep(0)).toBe(1);
  });
});
