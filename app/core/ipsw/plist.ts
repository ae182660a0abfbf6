/**
 * Property lists, read defensively: XML (Apple's restore catalog, BuildManifest.plist, Restore.plist,
 * SystemVersion.plist) and binary `bplist00` (what Foundation writes by default elsewhere). Dictionaries are
 * null-prototype objects, so no key (e.g. "__proto__") can reach Object.prototype. Unknown element names are
 * an error; unknown keys are just data.
 */
export type PlistValue = string | number | bigint | boolean | Date | Buffer | PlistValue[] | PlistDict;
export interface PlistDict {
  [key: string]: PlistValue;
}

export class PlistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlistError';
  }
}

const MAX_DEPTH = 256;

/** Parses an XML or binary property list (detected from the first bytes). */
export function parsePlist(data: Buffer | string): PlistValue {
  if (Buffer.isBuffer(data) && data.subarray(0, 8).toString('latin1') === 'bplist00') return parseBinaryPlist(data);
  const text = Buffer.isBuffer(data) ? data.toString('utf8') : data;
  return parseXmlPlist(text);
}

// ---------------------------------------------------------------- XML

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, body: string) => {
    if (body[0] === '#') {
      const cp = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(cp) && cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[body] ?? m;
  });
}

interface Tag {
  name: string;
  close: boolean;
  selfClosing: boolean;
}

class XmlReader {
  pos = 0;
  constructor(readonly s: string) {}

  fail(msg: string): never {
    const line = this.s.slice(0, this.pos).split('\n').length;
    throw new PlistError(`invalid XML property list at line ${line}: ${msg}`);
  }

  /** Skips whitespace, comments, processing instructions and DOCTYPE. */
  skipMisc(): void {
    for (;;) {
      while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
      if (this.s.startsWith('<?', this.pos)) this.skipTo('?>');
      else if (this.s.startsWith('<!--', this.pos)) this.skipTo('-->');
      else if (this.s.startsWith('<!DOCTYPE', this.pos)) this.skipTo('>');
      else return;
    }
  }

  skipTo(end: string): void {
    const i = this.s.indexOf(end, this.pos);
    if (i < 0) this.fail(`unterminated "${this.s.slice(this.pos, this.pos + 9)}"`);
    this.pos = i + end.length;
  }

  tag(): Tag {
    this.skipMisc();
    if (this.s[this.pos] !== '<') this.fail(`expected an element, found ${JSON.stringify(this.s.slice(this.pos, this.pos + 20))}`);
    const end = this.s.indexOf('>', this.pos);
    if (end < 0) this.fail('unterminated element');
    let inner = this.s.slice(this.pos + 1, end).trim();
    this.pos = end + 1;
    const close = inner.startsWith('/');
    if (close) inner = inner.slice(1).trim();
    const selfClosing = inner.endsWith('/');
    if (selfClosing) inner = inner.slice(0, -1).trim();
    const name = inner.split(/\s/, 1)[0] ?? '';
    if (!name) this.fail('empty element name');
    return { name, close, selfClosing };
  }

  /** Text up to the closing tag `</name>`; CDATA sections are taken verbatim. */
  text(name: string): string {
    let out = '';
    for (;;) {
      const lt = this.s.indexOf('<', this.pos);
      if (lt < 0) this.fail(`unterminated <${name}>`);
      out += decodeEntities(this.s.slice(this.pos, lt));
      this.pos = lt;
      if (this.s.startsWith('<![CDATA[', lt)) {
        const e = this.s.indexOf(']]>', lt);
        if (e < 0) this.fail('unterminated CDATA');
        out += this.s.slice(lt + 9, e);
        this.pos = e + 3;
        continue;
      }
      if (this.s.startsWith('<!--', lt)) {
        this.skipTo('-->');
        continue;
      }
      const t = this.tag();
      if (!t.close || t.name !== name) this.fail(`expected </${name}>, found <${t.close ? '/' : ''}${t.name}>`);
      return out;
    }
  }
}

export function parseXmlPlist(text: string): PlistValue {
  const r = new XmlReader(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const root = r.tag();
  if (root.name !== 'plist' || root.close) r.fail('the document is not a <plist>');
  if (root.selfClosing) r.fail('empty <plist>');
  const value = readValue(r, r.tag(), 0);
  const end = r.tag();
  if (!end.close || end.name !== 'plist') r.fail('expected </plist> after the top-level value');
  return value;
}

function readValue(r: XmlReader, t: Tag, depth: number): PlistValue {
  if (depth > MAX_DEPTH) r.fail('nesting too deep');
  if (t.close) r.fail(`unexpected </${t.name}>`);
  switch (t.name) {
    case 'dict': {
      const d: PlistDict = Object.create(null) as PlistDict;
      if (t.selfClosing) return d;
      for (;;) {
        const k = r.tag();
        if (k.close && k.name === 'dict') return d;
        if (k.name !== 'key' || k.close) r.fail(`expected <key> in <dict>, found <${k.name}>`);
        const key = k.selfClosing ? '' : r.text('key');
        const vt = r.tag();
        if (vt.close) r.fail(`key "${key}" has no value`);
        d[key] = readValue(r, vt, depth + 1);
      }
    }
    case 'array': {
      const a: PlistValue[] = [];
      if (t.selfClosing) return a;
      for (;;) {
        const it = r.tag();
        if (it.close && it.name === 'array') return a;
        a.push(readValue(r, it, depth + 1));
      }
    }
    case 'string':
      return t.selfClosing ? '' : r.text('string');
    case 'integer': {
      const s = (t.selfClosing ? '' : r.text('integer')).trim();
      if (!/^[+-]?(\d+|0x[0-9a-fA-F]+)$/.test(s)) r.fail(`bad <integer> ${JSON.stringify(s)}`);
      const neg = s.startsWith('-');
      const body = s.replace(/^[+-]/, '');
      const big = BigInt(body);
      const v = neg ? -big : big;
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    case 'real': {
      const s = (t.selfClosing ? '' : r.text('real')).trim();
      const n = Number(s);
      if (s === '' || (Number.isNaN(n) && s.toLowerCase() !== 'nan')) r.fail(`bad <real> ${JSON.stringify(s)}`);
      return n;
    }
    case 'true':
    case 'false':
      if (!t.selfClosing) {
        const inner = r.text(t.name);
        if (inner.trim() !== '') r.fail(`<${t.name}> must be empty`);
      }
      return t.name === 'true';
    case 'date': {
      const s = (t.selfClosing ? '' : r.text('date')).trim();
      const d = new Date(s);
      if (Number.isNaN(d.getTime())) r.fail(`bad <date> ${JSON.stringify(s)}`);
      return d;
    }
    case 'data':
      return Buffer.from((t.selfClosing ? '' : r.text('data')).replace(/\s+/g, ''), 'base64');
    default:
      return r.fail(`unknown element <${t.name}>`);
  }
}

// ---------------------------------------------------------------- binary (bplist00)

/** Seconds between the Unix epoch and Apple's reference date (2001-01-01T00:00:00Z). */
const APPLE_EPOCH = 978307200;

export function parseBinaryPlist(buf: Buffer): PlistValue {
  function bad(m: string): never {
    throw new PlistError(`invalid binary property list: ${m}`);
  }
  if (buf.length < 8 + 32 || buf.subarray(0, 8).toString('latin1') !== 'bplist00') bad('missing header or trailer');
  const t = buf.length - 32;
  const offsetSize = buf[t + 6]!;
  const refSize = buf[t + 7]!;
  const numObjects = Number(buf.readBigUInt64BE(t + 8));
  const top = Number(buf.readBigUInt64BE(t + 16));
  const tableOffset = Number(buf.readBigUInt64BE(t + 24));
  if (![1, 2, 4, 8].includes(offsetSize) || ![1, 2, 4, 8].includes(refSize)) bad('bad integer sizes in trailer');
  if (top >= numObjects || tableOffset + numObjects * offsetSize > t || numObjects <= 0) bad('bad object table');

  const uint = (off: number, size: number): number => {
    if (off + size > buf.length) bad('truncated');
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + buf[off + i]!;
    return v;
  };
  const objOffset = (i: number): number => {
    if (i >= numObjects) bad(`object reference ${i} out of range`);
    const o = uint(tableOffset + i * offsetSize, offsetSize);
    if (o < 8 || o >= t) bad('object offset out of range');
    return o;
  };
  const active = new Set<number>();

  const read = (idx: number, depth: number): PlistValue => {
    if (depth > MAX_DEPTH) bad('nesting too deep');
    if (active.has(idx)) bad('reference cycle');
    const off = objOffset(idx);
    const marker = buf[off]!;
    const type = marker >> 4;
    const info = marker & 0x0f;
    // Variable-length objects: length in the low nibble, or 0xF followed by an int object.
    const length = (): [number, number] => {
      if (info !== 0x0f) return [info, off + 1];
      const m = buf[off + 1]!;
      if (m >> 4 !== 1) bad('bad length marker');
      const n = 1 << (m & 0x0f);
      return [uint(off + 2, n), off + 2 + n];
    };
    switch (type) {
      case 0x0:
        if (info === 0x8) return false;
        if (info === 0x9) return true;
        return bad(`unsupported simple object 0x${marker.toString(16)}`);
      case 0x1: {
        const n = 1 << info;
        if (n > 16 || off + 1 + n > t) bad('bad integer');
        if (n === 16) {
          const v = buf.readBigInt64BE(off + 9);
          return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
        }
        if (n === 8) {
          const v = buf.readBigInt64BE(off + 1);
          return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
        }
        return uint(off + 1, n);
      }
      case 0x2:
        if (info === 2) return buf.readFloatBE(off + 1);
        if (info === 3) return buf.readDoubleBE(off + 1);
        return bad('bad real');
      case 0x3:
        if (marker !== 0x33) bad('bad date');
        return new Date((buf.readDoubleBE(off + 1) + APPLE_EPOCH) * 1000);
      case 0x4: {
        const [n, start] = length();
        if (start + n > t) bad('truncated data');
        return Buffer.from(buf.subarray(start, start + n));
      }
      case 0x5: {
        const [n, start] = length();
        if (start + n > t) bad('truncated string');
        return buf.toString('latin1', start, start + n);
      }
      case 0x6: {
        const [n, start] = length();
        if (start + 2 * n > t) bad('truncated string');
        const u = Buffer.from(buf.subarray(start, start + 2 * n));
        u.swap16();
        return u.toString('utf16le');
      }
      case 0x8:
        return uint(off + 1, info + 1);
      case 0xa: {
        const [n, start] = length();
        active.add(idx);
        const a: PlistValue[] = [];
        for (let i = 0; i < n; i++) a.push(read(uint(start + i * refSize, refSize), depth + 1));
        active.delete(idx);
        return a;
      }
      case 0xd: {
        const [n, start] = length();
        active.add(idx);
        const d: PlistDict = Object.create(null) as PlistDict;
        for (let i = 0; i < n; i++) {
          const k = read(uint(start + i * refSize, refSize), depth + 1);
          if (typeof k !== 'string') bad('dictionary key is not a string');
          d[k] = read(uint(start + (n + i) * refSize, refSize), depth + 1);
        }
        active.delete(idx);
        return d;
      }
      default:
        return bad(`unsupported object type 0x${marker.toString(16)}`);
    }
  };
  return read(top, 0);
}

// ---------------------------------------------------------------- helpers for defensive reading

export function isDict(v: PlistValue | undefined): v is PlistDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}

export function dictAt(v: PlistValue | undefined, key: string): PlistDict | undefined {
  if (!isDict(v)) return undefined;
  const x = v[key];
  return isDict(x) ? x : undefined;
}

export function stringAt(v: PlistValue | undefined, key: string): string | undefined {
  if (!isDict(v)) return undefined;
  const x = v[key];
  return typeof x === 'string' ? x : undefined;
}

export function numberAt(v: PlistValue | undefined, key: string): number | undefined {
  if (!isDict(v)) return undefined;
  const x = v[key];
  if (typeof x === 'number') return x;
  if (typeof x === 'bigint') return Number(x);
  return undefined;
}

export function arrayAt(v: PlistValue | undefined, key: string): PlistValue[] | undefined {
  if (!isDict(v)) return undefined;
  const x = v[key];
  return Array.isArray(x) ? x : undefined;
}

// ---------------------------------------------------------------- writer (XML; used by tests and fixtures)

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Serialises to Apple's XML plist dialect (tab-indented, as Foundation writes it). */
export function toXmlPlist(v: PlistValue): string {
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
  ];
  const w = (x: PlistValue, ind: string): void => {
    if (typeof x === 'string') out.push(`${ind}<string>${esc(x)}</string>`);
    else if (typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x))) out.push(`${ind}<integer>${x}</integer>`);
    else if (typeof x === 'number') out.push(`${ind}<real>${x}</real>`);
    else if (typeof x === 'boolean') out.push(`${ind}<${x}/>`);
    else if (x instanceof Date) out.push(`${ind}<date>${x.toISOString().replace(/\.\d{3}Z$/, 'Z')}</date>`);
    else if (Buffer.isBuffer(x)) out.push(`${ind}<data>${x.toString('base64')}</data>`);
    else if (Array.isArray(x)) {
      out.push(`${ind}<array>`);
      for (const e of x) w(e, ind + '\t');
      out.push(`${ind}</array>`);
    } else {
      out.push(`${ind}<dict>`);
      for (const [k, e] of Object.entries(x)) {
        out.push(`${ind}\t<key>${esc(k)}</key>`);
        w(e, ind + '\t');
      }
      out.push(`${ind}</dict>`);
    }
  };
  w(v, '');
  out.push('</plist>', '');
  return out.join('\n');
}
