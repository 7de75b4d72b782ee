// The CLI's saved session: where it lives (XDG_CONFIG_HOME, else
// ~/.config), that it is private (file 0600, dir 0700, even when either
// existed with looser modes or under a permissive umask), and that it reads
// back, can be overridden by CAIRN_TOKEN, and is forgotten on logout.
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  clearToken,
  configDir,
  readToken,
  tokenPath,
  writeToken,
} from "../../src/cli/token-file.js";

const mode = (path: string): number => statSync(path).mode & 0o777;

describe("token file", () => {
  let home: string;
  let env: Record<string, string>;
  let umask: number;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "cairn-token-"));
    env = { XDG_CONFIG_HOME: home };
    umask = process.umask(0o000); // the most permissive umask: modes must not depend on it
  });
  afterEach(() => {
    process.umask(umask);
  });

  it("lives in $XDG_CONFIG_HOME/cairn, else ~/.config/cairn (a relative XDG value is ignored)", () => {
    expect(tokenPath(env)).toBe(join(home, "cairn", "token"));
    expect(configDir({})).toBe(join(homedir(), ".config", "cairn"));
    expect(configDir({ XDG_CONFIG_HOME: "relative/dir" })).toBe(
      join(homedir(), ".config", "cairn"),
    );
  });

  it("is written 0600 in a 0700 directory and reads back", () => {
    expect(readToken(env)).toBeNull();
    const path = writeToken("tok-abc_123", env);
    expect(path).toBe(join(home, "cairn", "token"));
    expect(mode(path)).toBe(0o600);
    expect(mode(join(home, "cairn"))).toBe(0o700);
    expect(readToken(env)).toBe("tok-abc_123");
  });

  it("tightens an existing directory and replaces an existing world-readable file", () => {
    mkdirSync(join(home, "cairn"), { mode: 0o755 });
    writeFileSync(join(home, "cairn", "token"), "old\n", { mode: 0o644 });
    writeToken("new-token", env);
    expect(mode(join(home, "cairn"))).toBe(0o700);
    expect(mode(join(home, "cairn", "token"))).toBe(0o600);
    expect(readToken(env)).toBe("new-token");
  });

  it("prefers CAIRN_TOKEN, and is forgotten by clearToken", () => {
    writeToken("saved", env);
    expect(readToken({ ...env, CAIRN_TOKEN: "from-env" })).toBe("from-env");
    expect(clearToken(env)).toBe(true);
    expect(readToken(env)).toBeNull();
    expect(clearToken(env)).toBe(false);
  });

  it("refuses to save an empty or malformed token", () => {
    expect(() => writeToken("", env)).toThrow(/empty or malformed/);
    expect(() => writeToken("two words", env)).toThrow(/empty or malformed/);
  });
});
