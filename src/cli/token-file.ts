// Where the CLI keeps the bearer token between runs: one file in the user's
// config dir ($XDG_CONFIG_HOME/cairn/token, else ~/.config/cairn/token), the
// directory 0700 and the file 0600, written atomically so a crash never
// leaves a half-written or world-readable token. CAIRN_TOKEN overrides it.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

export const TOKEN_FILE_MODE = 0o600;
export const CONFIG_DIR_MODE = 0o700;
/** A token is 43 characters; anything much longer in the file is not ours. */
const TOKEN_CHARS_MAX = 4096;

export function configDir(env: Env = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says a relative value is invalid and must be ignored.
  const base = xdg?.startsWith("/") ? xdg : join(homedir(), ".config");
  return join(base, "cairn");
}

export function tokenPath(env: Env = process.env): string {
  return join(configDir(env), "token");
}

/** The saved token (CAIRN_TOKEN first), or null when not logged in. */
export function readToken(env: Env = process.env): string | null {
  const fromEnv = env.CAIRN_TOKEN?.trim();
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  let text: string;
  try {
    text = readFileSync(tokenPath(env), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const token = text.trim();
  return token === "" || token.length > TOKEN_CHARS_MAX ? null : token;
}

/** Saves the token with mode 0600 (its directory 0700); returns the file's path. */
export function writeToken(token: string, env: Env = process.env): string {
  if (token === "" || /\s/.test(token))
    throw new Error("refusing to save an empty or malformed token");
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: CONFIG_DIR_MODE });
  // mkdir's mode is masked by the umask and ignored for an existing dir: set it.
  chmodSync(dir, CONFIG_DIR_MODE);
  const path = tokenPath(env);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${token}\n`, { mode: TOKEN_FILE_MODE, flag: "w" });
  chmodSync(temporary, TOKEN_FILE_MODE);
  renameSync(temporary, path);
  return path;
}

/** Forgets the saved token; true if there was one. */
export function clearToken(env: Env = process.env): boolean {
  const path = tokenPath(env);
  try {
    rmSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
