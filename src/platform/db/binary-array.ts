/**
 * One-dimensional PostgreSQL arrays in the binary wire format. node-postgres sends a Buffer
 * parameter in binary, and PostgreSQL reads binary uuids and integers several times faster
 * than it parses their text (the ledger's batch statements bind thousands of them). The
 * statement must cast the parameter to the same array type (`$1::uuid[]`).
 */
export type ArrayElement = 'uuid' | 'int4' | 'int8' | 'bool' | 'text';

const ELEMENT_OID: Record<ArrayElement, number> = { bool: 16, int8: 20, int4: 23, text: 25, uuid: 2950 };
const FIXED_SIZE: Partial<Record<ArrayElement, number>> = { bool: 1, int8: 8, int4: 4, uuid: 16 };
const HEADER = 20;

const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i;
  NIBBLE[97 + i] = 10 + i;
}

type Value = string | number | bigint | boolean | null | undefined;

export function binaryArray(element: ArrayElement, values: readonly Value[]): Buffer {
  if (element !== 'text') {
    const writer = new FixedArrayWriter(element, values.length);
    for (let i = 0; i < values.length; i++) writer.push(values[i]);
    return writer.finish();
  }
  let size = HEADER;
  const texts = values.map((value) =>
    value === null || value === undefined ? null : Buffer.from(String(value)),
  );
  for (const text of texts) size += 4 + (text?.length ?? 0);
  const buffer = header(Buffer.allocUnsafe(size), element, values.length, texts.includes(null));
  let at = HEADER;
  for (const text of texts) {
    buffer.writeInt32BE(text ? text.length : -1, at);
    at += 4;
    if (text) at += text.copy(buffer, at);
  }
  return buffer;
}

/** Builds a binary array of fixed-size elements value by value, without an intermediate array. */
export class FixedArrayWriter {
  private readonly buffer: Buffer;
  private readonly size: number;
  private at = HEADER;
  private count = 0;
  private nulls = false;

  constructor(
    private readonly element: Exclude<ArrayElement, 'text'>,
    capacity: number,
  ) {
    this.size = FIXED_SIZE[element]!;
    this.buffer = Buffer.allocUnsafe(HEADER + capacity * (4 + this.size));
  }

  push(value: Value): void {
    const buffer = this.buffer;
    let at = this.at;
    this.count++;
    if (value === null || value === undefined) {
      this.nulls = true;
      buffer.writeInt32BE(-1, at);
      this.at = at + 4;
      return;
    }
    buffer.writeInt32BE(this.size, at);
    at += 4;
    switch (this.element) {
      case 'uuid':
        writeUuid(buffer, at, value as string);
        break;
      case 'int8':
        buffer.writeBigInt64BE(typeof value === 'bigint' ? value : BigInt(value as number), at);
        break;
      case 'int4':
        buffer.writeInt32BE(value as number, at);
        break;
      case 'bool':
        buffer[at] = value ? 1 : 0;
        break;
    }
    this.at = at + this.size;
  }

  finish(): Buffer {
    return header(this.buffer, this.element, this.count, this.nulls).subarray(0, this.at);
  }
}

function header(buffer: Buffer, element: ArrayElement, length: number, nulls: boolean): Buffer {
  buffer.writeInt32BE(1, 0);
  buffer.writeInt32BE(nulls ? 1 : 0, 4);
  buffer.writeInt32BE(ELEMENT_OID[element], 8);
  buffer.writeInt32BE(length, 12);
  buffer.writeInt32BE(1, 16);
  return buffer;
}

/** The 16 bytes of a canonical (8-4-4-4-12, hyphenated) uuid string. */
function writeUuid(buffer: Buffer, at: number, uuid: string): void {
  if (uuid.length !== 36) throw new TypeError(`not a uuid: ${uuid}`);
  let char = 0;
  for (let byte = 0; byte < 16; byte++) {
    if (char === 8 || char === 13 || char === 18 || char === 23) char++;
    const high = NIBBLE[uuid.charCodeAt(char)] ?? -1;
    const low = NIBBLE[uuid.charCodeAt(char + 1)] ?? -1;
    if (high < 0 || low < 0) throw new TypeError(`not a uuid: ${uuid}`);
    buffer[at + byte] = (high << 4) | low;
    char += 2;
  }
}
