// A fixed-size bitset with a content hash: the "which ops are linearized"
// half of the WGL memo key (the model state is the other half).
//
// Public API:
//   class Bitset { constructor(size); set(i); clear(i); has(i); hash(): number;
//                  equals(other): boolean; clone(): Bitset; count(): number }

export class Bitset {
  private readonly words: Uint32Array;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  set(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] ?? 0) | (1 << (i & 31));
  }

  clear(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] ?? 0) & ~(1 << (i & 31));
  }

  has(i: number): boolean {
    return ((this.words[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }

  /** FNV-1a over the words; equal sets hash equal, collisions are resolved by equals(). */
  hash(): number {
    let h = 0x811c9dc5;
    for (const word of this.words) {
      h = Math.imul(h ^ word, 0x01000193);
    }
    return h >>> 0;
  }

  equals(other: Bitset): boolean {
    if (other.words.length !== this.words.length) return false;
    for (let i = 0; i < this.words.length; i++) {
      if (this.words[i] !== other.words[i]) return false;
    }
    return true;
  }

  clone(): Bitset {
    const copy = new Bitset(this.size);
    copy.words.set(this.words);
    return copy;
  }

  count(): number {
    let n = 0;
    for (let word of this.words) {
      while (word !== 0) {
        word &= word - 1;
        n += 1;
      }
    }
    return n;
  }
}
