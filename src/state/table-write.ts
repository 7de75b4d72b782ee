// The unit of persistence between the pure state machine and the shell: apply
// returns TableWrites, the shell writes them in order in one batch with the
// applied index, and boot feeds every stored row back through loadRow.

/** Sees one stored row; tables replay their rows through it for the state digest. */
export type RowVisitor = (table: string, key: Uint8Array, value: Uint8Array) => void;

/** A write the shell must persist, in order, in the apply batch (value null = delete). */
export interface TableWrite {
  readonly table: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}
