// The portable network backend's per-link TCP proxy, against plain TCP echo
// servers on loopback: a cut of a→b leaves b→a working, delay holds bytes (in
// order), loss resets the connection, reset() sends RST; and the serve flag
// that routes a member's peer dials through such proxies.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LinkProxy } from "../../jepsen-lite/net/link-proxy.js";
import { PortableNet } from "../../jepsen-lite/net/net.js";
import { parsePeerDial, parseServeArgs } from "../../src/server/config.js";

const servers: Server[] = [];
const proxies: LinkProxy[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(
    servers.splice(0).map((s) => new Promise<void>((done) => s.close(() => done()))),
  );
});

/** An echo server that records what it received. */
async function echoServer(): Promise<{ port: number; received: () => string }> {
  let received = "";
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
    socket.on("data", (chunk) => {
      received += chunk.toString();
      socket.write(chunk);
    });
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    received: () => received,
  };
}

async function proxyTo(port: number, random?: () => number): Promise<LinkProxy> {
  const proxy = new LinkProxy({
    name: "test",
    targetHost: "127.0.0.1",
    targetPort: port,
    ...(random === undefined ? {} : { random }),
  });
  proxies.push(proxy);
  await proxy.start();
  return proxy;
}

interface Dialed {
  readonly socket: Socket;
  readonly echoed: () => string;
  readonly closed: Promise<string>;
}

async function dial(port: number): Promise<Dialed> {
  const socket = connect({ host: "127.0.0.1", port });
  sockets.push(socket);
  let echoed = "";
  socket.on("data", (chunk) => {
    echoed += chunk.toString();
  });
  const closed = new Promise<string>((done) => {
    socket.on("error", (error: NodeJS.ErrnoException) => done(error.code ?? "error"));
    socket.on("close", () => done("closed"));
  });
  await new Promise<void>((done) => socket.once("connect", () => done()));
  return { socket, echoed: () => echoed, closed };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe("jepsen-lite link proxy", () => {
  it("forwards both ways on a healthy link", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const client = await dial(proxy.port);
    client.socket.write("hello");
    await until(() => client.echoed() === "hello");
    expect(echo.received()).toBe("hello");
  });

  it("a one-way cut a→b stays one-way: b→a still flows on b's own link", async () => {
    const a = await echoServer();
    const b = await echoServer();
    const aToB = await proxyTo(b.port);
    const bToA = await proxyTo(a.port);
    const fromA = await dial(aToB.port);
    const fromB = await dial(bToA.port);
    aToB.cut();
    fromA.socket.write("lost");
    fromB.socket.write("kept");
    await until(() => fromB.echoed() === "kept");
    expect(a.received()).toBe("kept");
    await sleep(100);
    expect(b.received()).toBe("");
    expect(fromA.echoed()).toBe("");
    // A cut holds the connection open like a DROP rule; new connections hang too.
    const late = await dial(aToB.port);
    late.socket.write("also lost");
    await sleep(100);
    expect(b.received()).toBe("");
    // Heal resets the connections that lost bytes; a fresh one works.
    aToB.heal();
    expect(await fromA.closed).toMatch(/ECONNRESET|closed/);
    const fresh = await dial(aToB.port);
    fresh.socket.write("again");
    await until(() => fresh.echoed() === "again");
    expect(b.received()).toBe("again");
  });

  it("delays src→dst bytes by delayMs and keeps their order", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port, () => 0.5);
    proxy.setShape({ delayMs: 300, jitterMs: 100, lossPct: 0 });
    const client = await dial(proxy.port);
    const sentAt = Date.now();
    client.socket.write("1");
    await sleep(5);
    client.socket.write("2");
    await sleep(100);
    expect(echo.received()).toBe("");
    await until(() => client.echoed() === "12");
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(280);
  });

  it("drops: a lost chunk never arrives and its connection is reset", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port, () => 0);
    const client = await dial(proxy.port);
    client.socket.write("ok");
    await until(() => client.echoed() === "ok");
    proxy.setShape({ delayMs: 0, jitterMs: 0, lossPct: 50 });
    client.socket.write("lost");
    expect(await client.closed).toMatch(/ECONNRESET|closed/);
    expect(echo.received()).toBe("ok");
    expect(proxy.stats.chunksLost).toBe(1);
  });

  it("reset() sends RST on every connection of the link", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const first = await dial(proxy.port);
    const second = await dial(proxy.port);
    await until(() => proxy.connectionCount === 2);
    proxy.reset();
    expect(await first.closed).toMatch(/ECONNRESET|closed/);
    expect(await second.closed).toMatch(/ECONNRESET|closed/);
    expect(proxy.connectionCount).toBe(0);
  });

  it("PortableNet gives each member dial overrides for its own outbound links", async () => {
    const members = [
      { name: "n1", peer: "127.0.0.1:1001" },
      { name: "n2", peer: "127.0.0.1:1002" },
      { name: "n3", peer: "127.0.0.1:1003" },
    ];
    const net = await PortableNet.start(members);
    try {
      const args = net.serveArgs("n1");
      expect(args.slice(0, 2)).toEqual(["--unsafe-test-mode", "--unsafe-peer-dial"]);
      expect(args[2]).toBe(
        `127.0.0.1:1002=${net.link("n1", "n2").address},127.0.0.1:1003=${net.link("n1", "n3").address}`,
      );
      expect(net.link("n1", "n2").address).not.toBe(net.link("n2", "n1").address);
    } finally {
      await net.close();
    }
  });
});

describe("cairn serve --unsafe-peer-dial", () => {
  it("maps membership peer addresses to dial addresses, only in unsafe test mode", () => {
    const base = ["--name", "n1", "--initial-cluster", "n1=127.0.0.1:1,n2=127.0.0.1:2"];
    const config = parseServeArgs(
      [...base, "--unsafe-test-mode", "--unsafe-peer-dial", "127.0.0.1:2=127.0.0.1:9002"],
      {},
    );
    expect([...config.unsafePeerDial]).toEqual([["127.0.0.1:2", "127.0.0.1:9002"]]);
    expect(parseServeArgs(base, {}).unsafePeerDial.size).toBe(0);
    expect(() =>
      parseServeArgs([...base, "--unsafe-peer-dial", "127.0.0.1:2=127.0.0.1:9002"], {}),
    ).toThrow(/needs --unsafe-test-mode/);
    expect(() => parsePeerDial("127.0.0.1:2", true)).toThrow(/PEER_ADDR=DIAL_ADDR/);
    expect(() => parsePeerDial("a:1=b:2,a:1=c:3", true)).toThrow(/listed twice/);
  });
});
