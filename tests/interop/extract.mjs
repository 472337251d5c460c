#!/usr/bin/env node
/*
 * Independent extractor of the credential carried by a microcred share file,
 * so that the interop tests do not take our own extraction on trust.
 *
 * Shares no code with microcred (src/microcred/credentials/baking.py and
 * certificate.py) and uses nothing but Node's standard library (zlib for
 * inflate and CRC-32), so no npm package is added:
 *
 *   - PNG (Open Badges 3.0 "Baked Badge"): the first iTXt chunk with keyword
 *     `openbadgecredential`, CRC-checked, inflated if its compression flag is set.
 *   - SVG: the first `<P:credential>` element whose prefix P is bound to
 *     https://purl.imsglobal.org/ob/v3p0: its text (CDATA sections joined, the
 *     five predefined entities decoded) or else its `verify` attribute.
 *   - PDF (microcred's certificate): the embedded file named `credential.json`
 *     in the catalog's /Names /EmbeddedFiles name tree (by its key, /UF or /F),
 *     read from the stream its /EF entry points to (FlateDecode or unfiltered).
 *     Objects are found by scanning the file, object streams included, not by
 *     the cross-reference table: enough for the PDFs WeasyPrint and pypdf
 *     write, not a general PDF reader (no encryption, no other filters).
 *
 * usage:  node extract.mjs FILE...
 * stdout: {"results": [{"file", "format", "credential"} or {"file", "error"}]}
 * Exit 0 whenever it ran (whatever each file held); 2 on bad usage.
 */
import {readFileSync} from 'node:fs';
import {crc32, inflateSync} from 'node:zlib';

const OB3_NAMESPACE = 'https://purl.imsglobal.org/ob/v3p0';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const ATTACHMENT_NAME = 'credential.json';
const utf8 = new TextDecoder('utf-8', {fatal: true});

// ---------------------------------------------------------------- PNG

export function fromPng(buf) {
  if(!buf.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw new Error('not a PNG');
  }
  let pos = 8;
  while(pos + 12 <= buf.length) {
    const length = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const end = pos + 12 + length;
    if(end > buf.length) {
      throw new Error(`truncated PNG chunk ${type}`);
    }
    const data = buf.subarray(pos + 8, pos + 8 + length);
    if(crc32(buf.subarray(pos + 4, pos + 8 + length)) !== buf.readUInt32BE(end - 4)) {
      throw new Error(`bad CRC in PNG chunk ${type}`);
    }
    if(type === 'iTXt') {
      const nul = data.indexOf(0);
      if(data.toString('latin1', 0, nul) === 'openbadgecredential') {
        const flag = data[nul + 1];
        const afterLanguage = data.indexOf(0, nul + 3) + 1;
        const afterTranslated = data.indexOf(0, afterLanguage) + 1;
        const text = data.subarray(afterTranslated);
        return utf8.decode(flag === 1 ? inflateSync(text) : text);
      }
    }
    if(type === 'IEND') {
      break;
    }
    pos = end;
  }
  throw new Error('PNG has no openbadgecredential iTXt chunk');
}

// ---------------------------------------------------------------- SVG

const ENTITIES = {lt: '<', gt: '>', amp: '&', quot: '"', apos: "'"};

function decodeXmlText(text) {
  return text.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, name) => {
    if(name[0] !== '#') {
      return ENTITIES[name];
    }
    const hex = name[1] === 'x';
    return String.fromCodePoint(parseInt(name.slice(hex ? 2 : 1), hex ? 16 : 10));
  });
}

export function fromSvg(buf) {
  const svg = utf8.decode(buf);
  const bindings = svg.matchAll(/xmlns:([A-Za-z_][\w.-]*)\s*=\s*(["'])(.*?)\2/g);
  for(const [, prefix, , uri] of bindings) {
    if(uri !== OB3_NAMESPACE) {
      continue;
    }
    const element = new RegExp(
      `<${prefix}:credential(\\s[^>]*?)?(/>|>([\\s\\S]*?)</${prefix}:credential\\s*>)`);
    const match = svg.match(element);
    if(!match) {
      continue;
    }
    const body = match[3] || '';
    let text = '';
    for(const part of body.split(/(<!\[CDATA\[[\s\S]*?\]\]>)/)) {
      text += part.startsWith('<![CDATA[') ? part.slice(9, -3) : decodeXmlText(part);
    }
    text = text.trim();
    if(text) {
      return text;
    }
    const verify = (match[1] || '').match(/\sverify\s*=\s*(["'])(.*?)\1/);
    if(verify) {
      return decodeXmlText(verify[2]).trim();
    }
  }
  throw new Error('SVG has no Open Badges 3.0 credential element');
}

// ---------------------------------------------------------------- PDF

// A reader for PDF object syntax (ISO 32000 7.3): dictionaries become Maps keyed
// by name, arrays arrays, names {name}, strings {bytes}, references {ref}.
const WHITESPACE = new Set([0, 9, 10, 12, 13, 32]);
const DELIMITERS = new Set([...'()<>[]{}/%'].map(c => c.charCodeAt(0)));

function parseValue(buf, pos) {
  pos = skipSpace(buf, pos);
  const c = buf[pos];
  if(c === 0x3c && buf[pos + 1] === 0x3c) { // <<
    const dict = new Map();
    pos += 2;
    for(;;) {
      pos = skipSpace(buf, pos);
      if(buf[pos] === 0x3e && buf[pos + 1] === 0x3e) {
        return [dict, pos + 2];
      }
      const [key, afterKey] = parseValue(buf, pos);
      if(!key || key.name === undefined) {
        throw new Error(`PDF dictionary key is not a name at offset ${pos}`);
      }
      const [value, afterValue] = parseValue(buf, afterKey);
      dict.set(key.name, value);
      pos = afterValue;
    }
  }
  if(c === 0x5b) { // [
    const array = [];
    pos += 1;
    for(;;) {
      pos = skipSpace(buf, pos);
      if(buf[pos] === 0x5d) {
        return [array, pos + 1];
      }
      const [value, next] = parseValue(buf, pos);
      array.push(value);
      pos = next;
    }
  }
  if(c === 0x28) { // ( literal string
    const out = [];
    let depth = 1;
    pos += 1;
    while(depth > 0) {
      if(pos >= buf.length) {
        throw new Error('unterminated PDF string');
      }
      const b = buf[pos++];
      if(b === 0x5c) { // backslash
        const e = buf[pos++];
        const simple = {0x6e: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x66: 12};
        if(e in simple) {
          out.push(simple[e]);
        } else if(e >= 0x30 && e <= 0x37) {
          let value = e - 0x30;
          for(let i = 0; i < 2 && buf[pos] >= 0x30 && buf[pos] <= 0x37; i++) {
            value = value * 8 + buf[pos++] - 0x30;
          }
          out.push(value & 0xff);
        } else if(e === 0x0d) {
          if(buf[pos] === 0x0a) {
            pos++;
          }
        } else if(e !== 0x0a) {
          out.push(e);
        }
        continue;
      }
      if(b === 0x28) {
        depth++;
      } else if(b === 0x29 && --depth === 0) {
        break;
      }
      out.push(b);
    }
    return [{bytes: Buffer.from(out)}, pos];
  }
  if(c === 0x3c) { // < hex string
    const end = buf.indexOf(0x3e, pos);
    const hex = buf.toString('latin1', pos + 1, end).replace(/\s+/g, '');
    return [{bytes: Buffer.from(hex.length % 2 ? hex + '0' : hex, 'hex')}, end + 1];
  }
  if(c === 0x2f) { // /name
    let end = pos + 1;
    while(end < buf.length && !WHITESPACE.has(buf[end]) && !DELIMITERS.has(buf[end])) {
      end++;
    }
    const raw = buf.toString('latin1', pos + 1, end);
    return [{name: raw.replace(/#([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))}, end];
  }
  let end = pos;
  while(end < buf.length && !WHITESPACE.has(buf[end]) && !DELIMITERS.has(buf[end])) {
    end++;
  }
  const word = buf.toString('latin1', pos, end);
  if(word === '') {
    throw new Error(`unexpected byte in PDF object at offset ${pos}`);
  }
  if(word === 'true' || word === 'false') {
    return [word === 'true', end];
  }
  if(word === 'null') {
    return [null, end];
  }
  const reference = buf.toString('latin1', pos, pos + 40).match(/^(\d+)\s+(\d+)\s+R(?![^\s\/\[\]<>()%])/);
  if(reference) {
    return [{ref: Number(reference[1])}, pos + reference[0].length];
  }
  const number = Number(word);
  if(Number.isNaN(number)) {
    throw new Error(`unexpected token "${word}" in PDF object`);
  }
  return [number, end];
}

function skipSpace(buf, pos) {
  for(;;) {
    while(WHITESPACE.has(buf[pos])) {
      pos++;
    }
    if(buf[pos] !== 0x25) { // %
      return pos;
    }
    while(pos < buf.length && buf[pos] !== 0x0a && buf[pos] !== 0x0d) {
      pos++;
    }
  }
}

function textOf(value) {
  const bytes = value && value.bytes;
  if(!bytes) {
    return null;
  }
  if(bytes[0] === 0xfe && bytes[1] === 0xff) {
    return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  }
  if(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return utf8.decode(bytes.subarray(3));
  }
  return bytes.toString('latin1');
}

function decodeStream(dict, data) {
  let filters = dict.get('Filter');
  filters = filters === undefined || filters === null ? [] : [].concat(filters);
  for(const filter of filters) {
    if(filter.name !== 'FlateDecode') {
      throw new Error(`unsupported PDF stream filter /${filter.name}`);
    }
    data = inflateSync(data);
  }
  return data;
}

// Every object of the file by number, as {buf, at} (where its value starts) plus
// {dict, data} for streams. Top-level objects are read in file order, so a later
// definition (an incremental update) wins; objects inside object streams fill in
// the numbers no top-level object has.
function pdfObjects(buf) {
  const text = buf.toString('latin1');
  const objects = new Map();
  const header = /(\d+)\s+(\d+)\s+obj\b/g;
  let match;
  while((match = header.exec(text))) {
    const number = Number(match[1]);
    const [value, after] = parseValue(buf, header.lastIndex);
    const keyword = text.slice(skipSpace(buf, after)).match(/^stream\r?\n/);
    if(!keyword || !(value instanceof Map)) {
      objects.set(number, {value});
      continue;
    }
    const dataStart = skipSpace(buf, after) + keyword[0].length;
    const length = value.get('Length');
    let dataEnd;
    if(typeof length === 'number') {
      dataEnd = dataStart + length;
    } else {
      // An indirect /Length may be defined later in the file: fall back on the keyword.
      dataEnd = text.indexOf('endstream', dataStart);
      while(dataEnd > dataStart && /[\r\n]/.test(text[dataEnd - 1])) {
        dataEnd--;
      }
    }
    objects.set(number, {value, data: buf.subarray(dataStart, dataEnd)});
    header.lastIndex = dataEnd;
  }
  for(const object of [...objects.values()]) {
    if(!object.data || object.value.get('Type')?.name !== 'ObjStm') {
      continue;
    }
    const content = decodeStream(object.value, object.data);
    const count = object.value.get('N');
    const first = object.value.get('First');
    const pairs = content.toString('latin1', 0, first).trim().split(/\s+/).map(Number);
    for(let i = 0; i < count; i++) {
      if(!objects.has(pairs[2 * i])) {
        objects.set(pairs[2 * i], {value: parseValue(content, first + pairs[2 * i + 1])[0]});
      }
    }
  }
  return objects;
}

function findRoot(buf) {
  // The last /Root in the file, from a classic trailer or an xref stream's dictionary.
  const all = [...buf.toString('latin1').matchAll(/\/Root\s+(\d+)\s+\d+\s+R/g)];
  if(all.length === 0) {
    throw new Error('PDF has no /Root');
  }
  return Number(all[all.length - 1][1]);
}

export function fromPdf(buf) {
  if(buf.toString('latin1', 0, 5) !== '%PDF-') {
    throw new Error('not a PDF');
  }
  const objects = pdfObjects(buf);
  const resolve = value => {
    for(let hops = 0; value && value.ref !== undefined; hops++) {
      if(hops > 32) {
        throw new Error('PDF reference loop');
      }
      value = objects.get(value.ref)?.value ?? null;
    }
    return value;
  };
  // Catalog /Names /EmbeddedFiles is a name tree: leaves hold [key filespec ...].
  const tree = resolve(resolve(resolve({ref: findRoot(buf)})?.get('Names'))?.get('EmbeddedFiles'));
  const specs = [];
  const walk = (node, depth) => {
    if(!(node instanceof Map) || depth > 32) {
      return;
    }
    const names = resolve(node.get('Names')) || [];
    for(let i = 0; i + 1 < names.length; i += 2) {
      const spec = resolve(names[i + 1]);
      const candidates = [textOf(names[i])];
      if(spec instanceof Map) {
        candidates.push(textOf(spec.get('UF')), textOf(spec.get('F')));
      }
      if(candidates.includes(ATTACHMENT_NAME)) {
        specs.push(spec);
      }
    }
    for(const kid of resolve(node.get('Kids')) || []) {
      walk(resolve(kid), depth + 1);
    }
  };
  walk(tree, 0);
  if(specs.length !== 1) {
    throw new Error(`PDF has ${specs.length} ${ATTACHMENT_NAME} embedded files, not one`);
  }
  const ef = resolve(specs[0].get('EF'));
  const pointer = ef instanceof Map ? ef.get('UF') || ef.get('F') : null;
  const stream = pointer && pointer.ref !== undefined ? objects.get(pointer.ref) : null;
  if(!stream || !stream.data) {
    throw new Error(`the ${ATTACHMENT_NAME} file specification points to no stream`);
  }
  return utf8.decode(decodeStream(stream.value, stream.data));
}

// ---------------------------------------------------------------- main

export function extract(buf) {
  if(buf.subarray(0, 8).equals(PNG_SIGNATURE)) {
    return {format: 'png', credential: fromPng(buf)};
  }
  if(buf.toString('latin1', 0, 5) === '%PDF-') {
    return {format: 'pdf', credential: fromPdf(buf)};
  }
  return {format: 'svg', credential: fromSvg(buf)};
}

const files = process.argv.slice(2);
if(files.length === 0) {
  process.stderr.write('usage: node extract.mjs FILE...\n');
  process.exit(2);
}
const results = files.map(file => {
  try {
    return {file, ...extract(readFileSync(file))};
  } catch(error) {
    return {file, error: String(error.message || error)};
  }
});
process.stdout.write(JSON.stringify({results}) + '\n');
