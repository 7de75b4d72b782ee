// The one shape of LevelDB write cairn uses: a flat array of puts and deletes
// written as a single atomic batch.

export type BatchOp =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "del"; readonly key: Uint8Array };

export function putOp(key: Uint8Array, value: Uint8Array): BatchOp {
  return { type: "put", key, value };
}

export function delOp(key: Uint8Array): BatchOp {
  return { type: "del", key };
}
