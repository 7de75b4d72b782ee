// Opaque page tokens: base64url JSON carrying the cursor and a digest of the
// query it belongs to, so a token replayed against another filter or sort is
// refused instead of silently skipping records. Clients must not parse them.
import { invalidArgument, type PlatformError } from "./errors.js";

const TOKEN_VERSION = 1;
const TOKEN_CHARS_MAX = 2048;

/** FNV-1a (32-bit) of the canonical query text, as 8 hex digits. */
export function queryDigest(canonical: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < canonical.length; i++) {
    hash ^= canonical.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

export function encodePageToken(digest: string, cursor: Readonly<Record<string, unknown>>): string {
  return Buffer.from(JSON.stringify({ v: TOKEN_VERSION, q: digest, ...cursor }), "utf8").toString(
    "base64url",
  );
}

/** The cursor fields of a token minted for the same query, or an invalid-argument error. */
export function decodePageToken(
  token: string,
  digest: string,
): Record<string, unknown> | PlatformError {
  const malformed = invalidArgument(
    "page_token is malformed; pass the next_page_token of the previous page",
  );
  if (token.length > TOKEN_CHARS_MAX) return malformed;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    return malformed;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return malformed;
  const fields = parsed as Record<string, unknown>;
  if (fields.v !== TOKEN_VERSION) return malformed;
  if (fields.q !== digest) {
    return invalidArgument("page_token belongs to a different filter or sort; restart the listing");
  }
  return fields;
}
