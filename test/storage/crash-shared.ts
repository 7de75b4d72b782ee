// Data shared by crash.test.ts and its child: the payload each index must
// carry and the key encoding of the state rows, so the parent can verify both.

export function crashPayload(index: number): Uint8Array {
  return new TextEncoder().encode(`entry ${index};`.repeat(1 + (index % 7)));
}

export function rowKey(index: number): Uint8Array {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(index));
  return key;
}

export function rowIndex(key: Uint8Array): number {
  return Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(0));
}
