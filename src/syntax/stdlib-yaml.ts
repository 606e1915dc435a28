/**
 * `encoding.from_yaml` (alias `yaml_decode`): YAML to Alloy values, as Alloy's
 * `yaml.Unmarshal(text, &any)` (gopkg.in/yaml.v3) produces them.
 *
 * Supported: the first document of a stream (`---`, `...`, `%` directives), block mappings
 * and sequences (including `- key: value` items and sequences directly under a key), flow
 * collections (`[a, b]`, `{a: 1}`) over several lines, plain, single- and double-quoted
 * scalars with line folding and every escape, literal and folded block scalars (`|`, `>`,
 * chomping and indentation indicators), comments, anchors and aliases, merge keys (`<<`),
 * and the core tags `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq`, `!!map`.
 *
 * Plain scalars resolve as yaml.v3 resolves them: `~`, `null`, empty → null;
 * `true`/`True`/`TRUE` (not `yes`) → bool; Go `ParseInt(s, 0, 64)` after dropping `_`
 * (`0x1F`, `0o17`, `0755` octal, `+12`) → int, then uint64, then YAML-style floats (`1e3`,
 * `.5`, `08` → 8.0, `.inf`, `.nan`) → float; everything else, timestamps included, is a
 * string. Mappings become objects; a key that is not a string is written as Go's `%v`
 * prints it (`1`, `true`), where yaml.v3 would produce a map Alloy cannot use.
 *
 * Not supported (refused with an error): complex keys (`? key`), flow pairs inside flow
 * sequences (`[a: b]`), and tags other than the core ones are ignored. Error messages
 * follow yaml.v3's shape (`yaml: line 3: mapping values are not allowed in this context`),
 * but only the common ones match its wording exactly.
 *
 * Pure; never throws.
 */

import {
  type Value,
  arrayValue,
  boolValue,
  floatValue,
  intValue,
  INT64_MAX,
  INT64_MIN,
  nullValue,
  objectValue,
  parseGoFloat,
  stringValue,
  uintValue,
  UINT64_MAX,
} from './value.ts';
import { formatGoFloat } from './stdlib-format.ts';

/** A decoded value, or yaml.v3's error text. */
export type YamlResult = { readonly ok: true; readonly value: Value } | { readonly ok: false; readonly error: string };

/** Deepest nesting accepted (yaml.v3 allows more; see MAX_DEPTH in stdlib-json.ts). */
const MAX_DEPTH = 500;

/** Raised inside the parser only; {@link decodeGoYaml} turns it into an error result. */
class YamlError extends Error {}

/** Node properties that precede a node: `&anchor` and `!tag`. */
interface Props {
  anchor: string | undefined;
  tag: string | undefined;
}

/** A parsed node before tag resolution: plain scalars resolve, the rest are values already. */
type Node = { readonly kind: 'plain'; readonly text: string } | { readonly kind: 'value'; readonly value: Value };

const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** Go's `strconv.ParseInt(s, 0, 64)` (and `ParseUint`): a bigint, or undefined on a syntax error. */
function parseGoIntBase0(s: string, unsigned: boolean): bigint | undefined {
  let text = s;
  let negative = false;
  if (!unsigned && (text.startsWith('+') || text.startsWith('-'))) {
    negative = text.startsWith('-');
    text = text.slice(1);
  }
  let digits = /^[0-9]+$/;
  let prefix = '';
  if (/^0[xX]/.test(text)) {
    digits = /^[0-9a-fA-F]+$/;
    prefix = '0x';
    text = text.slice(2);
  } else if (/^0[oO]/.test(text)) {
    digits = /^[0-7]+$/;
    prefix = '0o';
    text = text.slice(2);
  } else if (/^0[bB]/.test(text)) {
    digits = /^[01]+$/;
    prefix = '0b';
    text = text.slice(2);
  } else if (text.length > 1 && text.startsWith('0')) {
    digits = /^[0-7]+$/;
    prefix = '0o';
    text = text.slice(1);
  }
  if (!digits.test(text)) return undefined;
  const n = BigInt(prefix + text);
  const value = negative ? -n : n;
  if (unsigned) return value <= UINT64_MAX ? value : undefined;
  return value >= INT64_MIN && value <= INT64_MAX ? value : undefined;
}

/** yaml.v3's `resolve` for an untagged plain scalar. */
function resolvePlain(text: string): Value {
  switch (text) {
    case '':
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return nullValue();
    case 'true':
    case 'True':
    case 'TRUE':
      return boolValue(true);
    case 'false':
    case 'False':
    case 'FALSE':
      return boolValue(false);
    case '.nan':
    case '.NaN':
    case '.NAN':
      return floatValue(NaN);
    case '.inf':
    case '.Inf':
    case '.INF':
    case '+.inf':
    case '+.Inf':
    case '+.INF':
      return floatValue(Infinity);
    case '-.inf':
    case '-.Inf':
    case '-.INF':
      return floatValue(-Infinity);
    default:
      break;
  }
  if (!/^[-+.0-9]/.test(text)) return stringValue(text);
  const plain = text.replaceAll('_', '');
  const int = parseGoIntBase0(plain, false);
  if (int !== undefined) return intValue(int);
  const uint = parseGoIntBase0(plain, true);
  if (uint !== undefined) return uintValue(uint);
  if (YAML_FLOAT.test(plain)) {
    const f = parseGoFloat(plain);
    if (f !== undefined) return floatValue(f);
  }
  for (const [prefix, base] of [
    ['0b', '0b'],
    ['-0b', '0b'],
    ['0o', '0o'],
    ['-0o', '0o'],
  ] as const) {
    if (plain.startsWith(prefix)) {
      const body = plain.slice(prefix.length);
      if ((base === '0b' ? /^[01]+$/ : /^[0-7]+$/).test(body)) {
        const n = BigInt(base + body) * (prefix.startsWith('-') ? -1n : 1n);
        if (n >= INT64_MIN && n <= INT64_MAX) return intValue(n);
      }
    }
  }
  return stringValue(text);
}

/** Go's `%v` of a key that is not a string. */
function keyText(value: Value): string {
  switch (value.type) {
    case 'string':
      return value.value;
    case 'null':
      return '<nil>';
    case 'bool':
      return String(value.value);
    case 'number':
      return value.kind === 'float' ? formatGoFloat(value.value, 'g', -1) : value.value.toString();
    default:
      return '';
  }
}

function isBlankOrComment(line: string): boolean {
  const t = line.trimStart();
  return t === '' || t.startsWith('#');
}

/** Removes a trailing ` # comment` outside quotes from a line fragment of plain text. */
function stripComment(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '#' && (i === 0 || text[i - 1] === ' ' || text[i - 1] === '\t')) return text.slice(0, i);
  }
  return text;
}

/**
 * The index of the `:` that makes `text` (a line's content) a mapping entry, or -1. The key
 * is quoted or plain; the colon is followed by a space, a tab or the end of the line.
 */
function mappingColon(text: string): number {
  let i = 0;
  if (text.startsWith('"') || text.startsWith("'")) {
    const q = text[0];
    i = 1;
    while (i < text.length) {
      if (q === "'" && text[i] === "'" && text[i + 1] === "'") i += 2;
      else if (q === '"' && text[i] === '\\') i += 2;
      else if (text[i] === q) break;
      else i++;
    }
    i++;
    while (text[i] === ' ' || text[i] === '\t') i++;
    return text[i] === ':' && (i + 1 === text.length || text[i + 1] === ' ' || text[i + 1] === '\t') ? i : -1;
  }
  if (/^[[{&*!|>'"%@`]/.test(text) || text.startsWith('- ') || text === '-') return -1;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '#' && i > 0 && (text[i - 1] === ' ' || text[i - 1] === '\t')) return -1;
    if (c === ':' && (i + 1 === text.length || text[i + 1] === ' ' || text[i + 1] === '\t')) return i;
  }
  return -1;
}

function isSequenceEntry(text: string): boolean {
  return text === '-' || text.startsWith('- ') || text.startsWith('-\t');
}

class YamlParser {
  readonly #lines: string[];
  #row = 0;
  #depth = 0;
  readonly #anchors = new Map<string, Value>();

  constructor(text: string) {
    const body = text.startsWith('\ufeff') ? text.slice(1) : text;
    this.#lines = body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }

  #fail(message: string, row = this.#row): never {
    // Caught in decodeGoYaml, the only entry point.
    throw new YamlError(`yaml: line ${row + 1}: ${message}`);
  }

  #line(row = this.#row): string | undefined {
    const line = this.#lines[row];
    if (line === undefined) return undefined;
    if (/^(---|\.\.\.)(\s|$)/.test(line) && row > this.#docStart) return undefined;
    return line;
  }

  #docStart = -1;

  /** Indentation of a content line; a tab before the content is an error, as in YAML. */
  #indent(line: string, row = this.#row): number {
    let n = 0;
    while (line[n] === ' ') n++;
    if (line[n] === '\t' && line.slice(n).trim() !== '' && !line.slice(n).trimStart().startsWith('#')) {
      this.#fail('found character that cannot start any token', row);
    }
    return n;
  }

  #skipBlank(): void {
    for (;;) {
      const line = this.#line();
      if (line === undefined || !isBlankOrComment(line)) return;
      this.#row++;
    }
  }

  document(): Value {
    // Directives and the document start marker.
    for (;;) {
      const line = this.#lines[this.#row];
      if (line === undefined) return nullValue();
      if (isBlankOrComment(line) || line.startsWith('%')) {
        this.#row++;
        continue;
      }
      break;
    }
    const first = this.#lines[this.#row] ?? '';
    if (/^---(\s|$)/.test(first)) {
      this.#docStart = this.#row;
      const rest = first.slice(3);
      if (isBlankOrComment(rest)) {
        this.#row++;
      } else {
        // `--- value`: the root node starts on the marker line.
        const col = 3 + (rest.length - rest.trimStart().length);
        this.#lines[this.#row] = ' '.repeat(col) + rest.trimStart();
      }
    } else {
      this.#docStart = this.#row - 1;
    }
    this.#skipBlank();
    const line = this.#line();
    if (line === undefined) return nullValue();
    const value = this.#block(-1, true);
    this.#skipBlank();
    const after = this.#line();
    if (after !== undefined) this.#fail('did not find expected <document start>');
    return value;
  }

  /**
   * The node on the lines below the current position, indented more than `parent` (or, for
   * a sequence under a mapping key, as much as the key). Null when there is none.
   */
  #block(parent: number, allowSameIndentSequence: boolean, props?: Props): Value {
    this.#skipBlank();
    const line = this.#line();
    if (line === undefined) return this.#apply(props, { kind: 'plain', text: '' });
    const indent = this.#indent(line);
    const text = line.slice(indent);
    if (indent < parent || (indent === parent && !(allowSameIndentSequence && isSequenceEntry(text)))) {
      return this.#apply(props, { kind: 'plain', text: '' });
    }
    return this.#nodeAt(indent, parent, props);
  }

  #enter(): void {
    this.#depth++;
    if (this.#depth > MAX_DEPTH) this.#fail(`exceeded max depth of ${MAX_DEPTH}`);
  }

  /** The node whose content starts at column `col` of the current line. */
  #nodeAt(col: number, parent: number, props?: Props): Value {
    this.#enter();
    const line = this.#line() ?? '';
    const text = line.slice(col);
    let value: Value;
    if (isSequenceEntry(text)) value = this.#apply(props, { kind: 'value', value: this.#sequence(col) });
    else if (mappingColon(text) >= 0) value = this.#apply(props, { kind: 'value', value: this.#mapping(col) });
    else value = this.#inline(col, parent, true, props);
    this.#depth--;
    return value;
  }

  #sequence(col: number): Value {
    const items: Value[] = [];
    for (;;) {
      this.#skipBlank();
      const line = this.#line();
      if (line === undefined) break;
      const indent = this.#indent(line);
      if (indent !== col || !isSequenceEntry(line.slice(col))) {
        if (indent > col) this.#fail("did not find expected '-' indicator");
        break;
      }
      const rest = line.slice(col + 1);
      const content = rest.trimStart();
      if (isBlankOrComment(content)) {
        this.#row++;
        items.push(this.#block(col, false));
        continue;
      }
      const contentCol = col + 1 + (rest.length - content.length);
      this.#lines[this.#row] = ' '.repeat(contentCol) + content;
      items.push(this.#nodeAt(contentCol, col));
    }
    return arrayValue(items);
  }

  #mapping(col: number): Value {
    const fields = new Map<string, Value>();
    const keyRows = new Map<string, number>();
    const merged = new Map<string, Value>();
    for (;;) {
      this.#skipBlank();
      const line = this.#line();
      if (line === undefined) break;
      const indent = this.#indent(line);
      if (indent !== col) {
        if (indent > col) this.#fail('did not find expected key');
        break;
      }
      const text = line.slice(col);
      const colon = mappingColon(text);
      if (colon < 0) {
        if (isSequenceEntry(text)) break;
        this.#fail("could not find expected ':'", this.#row + 1);
      }
      const keyRow = this.#row;
      const rawKey = text.slice(0, colon).trimEnd();
      const key = this.#key(rawKey);
      const rest = text.slice(colon + 1);
      const content = rest.trimStart();
      let value: Value;
      if (isBlankOrComment(content)) {
        this.#row++;
        value = this.#block(col, true);
      } else {
        const contentCol = col + colon + 1 + (rest.length - content.length);
        value = this.#inline(contentCol, col, false);
      }
      if (rawKey === '<<') {
        this.#merge(value, merged);
        continue;
      }
      const previous = keyRows.get(key);
      if (previous !== undefined) {
        throw new YamlError(
          `yaml: unmarshal errors:\n  line ${keyRow + 1}: mapping key ${JSON.stringify(key)} already defined at line ${previous + 1}`,
        );
      }
      keyRows.set(key, keyRow);
      fields.set(key, value);
    }
    if (merged.size === 0) return objectValue(fields);
    return objectValue([...[...merged].filter(([k]) => !fields.has(k)), ...fields]);
  }

  /** `<<: *base` or `<<: [*a, *b]`: fields merged under the mapping's own. */
  #merge(value: Value, into: Map<string, Value>): void {
    const sources = value.type === 'array' ? value.elements : [value];
    for (const source of sources) {
      if (source.type !== 'object') this.#fail('map merge requires map or sequence of maps as the value');
      for (const [k, v] of source.fields) if (!into.has(k)) into.set(k, v);
    }
  }

  #key(raw: string): string {
    if (raw.startsWith('"')) return this.#doubleQuoted([raw.slice(1, -1)]);
    if (raw.startsWith("'")) return raw.slice(1, -1).replaceAll("''", "'");
    return keyText(resolvePlain(raw));
  }

  /**
   * A node written on the current line from column `col` (and possibly continued below):
   * properties, an alias, a block scalar, a flow collection, a quoted or a plain scalar.
   * `inSequence` allows a nested block collection to start on the same line (`- a: 1`).
   */
  #inline(col: number, parent: number, inSequence: boolean, inherited?: Props): Value {
    const line = this.#line() ?? '';
    let text = line.slice(col);
    let at = col;
    const props: Props = { anchor: inherited?.anchor, tag: inherited?.tag };
    for (;;) {
      const m = /^([&!])([^\s,[\]{}]*)\s*/.exec(text);
      if (m === null) break;
      if (m[1] === '&') props.anchor = m[2];
      else props.tag = `!${m[2] ?? ''}`;
      at += m[0].length;
      text = text.slice(m[0].length);
    }
    if (isBlankOrComment(text)) {
      this.#row++;
      return this.#block(parent, !inSequence, props);
    }
    if (at !== col && (isSequenceEntry(text) || mappingColon(text) >= 0)) {
      if (!inSequence) this.#fail('mapping values are not allowed in this context');
      this.#lines[this.#row] = ' '.repeat(at) + text;
      return this.#nodeAt(at, parent, props);
    }
    if (!inSequence && isSequenceEntry(text)) this.#fail('block sequence entries are not allowed in this context');
    if (!inSequence && mappingColon(text) >= 0 && !/^["'[{]/.test(text)) {
      this.#fail('mapping values are not allowed in this context');
    }
    if (text.startsWith('*')) {
      const name = stripComment(text.slice(1)).trim();
      const value = this.#anchors.get(name);
      if (value === undefined) throw new YamlError(`yaml: unknown anchor '${name}' referenced`);
      this.#row++;
      return value;
    }
    let node: Node;
    if (text.startsWith('|') || text.startsWith('>')) node = this.#blockScalar(text, parent);
    else if (text.startsWith('[') || text.startsWith('{')) node = { kind: 'value', value: this.#flow(at) };
    else if (text.startsWith('"') || text.startsWith("'")) node = { kind: 'value', value: this.#quoted(at, parent) };
    else node = this.#plain(text, parent);
    return this.#apply(props, node);
  }

  /** Applies a tag and records an anchor. */
  #apply(props: Props | undefined, node: Node): Value {
    const value = this.#tagged(props?.tag, node);
    if (props?.anchor !== undefined) this.#anchors.set(props.anchor, value);
    return value;
  }

  #tagged(tag: string | undefined, node: Node): Value {
    const text = node.kind === 'plain' ? node.text : node.value.type === 'string' ? node.value.value : undefined;
    switch (tag) {
      case '!!str':
        if (text !== undefined) return stringValue(text);
        break;
      case '!!int': {
        const v = text === undefined ? undefined : resolvePlain(text);
        if (v?.type === 'number' && v.kind !== 'float') return v;
        this.#fail(`cannot decode !!str \`${text ?? ''}\` as a !!int`);
        break;
      }
      case '!!float': {
        const v = text === undefined ? undefined : resolvePlain(text);
        if (v?.type === 'number') return floatValue(v.kind === 'float' ? v.value : Number(v.value));
        this.#fail(`cannot decode !!str \`${text ?? ''}\` as a !!float`);
        break;
      }
      case '!!bool': {
        const v = text === undefined ? undefined : resolvePlain(text);
        if (v?.type === 'bool') return v;
        this.#fail(`cannot decode !!str \`${text ?? ''}\` as a !!bool`);
        break;
      }
      case '!!null':
        return nullValue();
      default:
        break;
    }
    return node.kind === 'plain' ? resolvePlain(node.text) : node.value;
  }

  /** A plain scalar from `text` on the current line, continued on more-indented lines. */
  #plain(text: string, parent: number): Node {
    const parts = [stripComment(text).trim()];
    const startRow = this.#row;
    this.#row++;
    if (text.includes(' #')) return { kind: 'plain', text: parts[0] ?? '' };
    for (;;) {
      const line = this.#line();
      if (line === undefined) break;
      if (line.trim() === '') {
        parts.push('');
        this.#row++;
        continue;
      }
      const indent = this.#indent(line);
      const content = line.slice(indent);
      if (indent <= parent || content.startsWith('#')) break;
      if (mappingColon(content) >= 0 || (isSequenceEntry(content) && indent <= parent + 1)) {
        this.#fail('mapping values are not allowed in this context');
      }
      parts.push(stripComment(content).trim());
      this.#row++;
      if (content.includes(' #')) break;
    }
    while (parts.length > 1 && parts.at(-1) === '') {
      parts.pop();
      this.#row--;
    }
    // Give back the trailing blank lines (they may separate the next entries).
    while (this.#row > startRow + 1 && (this.#lines[this.#row - 1] ?? '').trim() === '') this.#row--;
    return { kind: 'plain', text: fold(parts) };
  }

  /** A `|` or `>` block scalar; `header` is the indicator and what follows it on the line. */
  #blockScalar(header: string, parent: number): Node {
    const m = /^([|>])([1-9])?([+-])?([1-9])?\s*(#.*)?$/.exec(header);
    if (m === null) this.#fail('did not find expected comment or line break');
    const literal = m[1] === '|';
    const chomp = m[3] ?? '';
    const explicit = m[2] ?? m[4];
    this.#row++;
    let indent = explicit === undefined ? -1 : Math.max(parent, 0) + Number(explicit);
    const lines: string[] = [];
    for (;;) {
      const line = this.#line();
      if (line === undefined) break;
      if (line.trim() === '') {
        lines.push(line);
        this.#row++;
        continue;
      }
      let n = 0;
      while (line[n] === ' ') n++;
      if (indent < 0) {
        if (n <= parent) break;
        indent = n;
      }
      if (n < indent) break;
      lines.push(line);
      this.#row++;
    }
    if (indent < 0) indent = parent + 1;
    const content = lines.map((l) => (l.length > indent ? l.slice(indent) : l.trim() === '' ? '' : l.slice(indent)));
    // Trailing empty lines belong to the chomping.
    let end = content.length;
    while (end > 0 && (content[end - 1] ?? '').trim() === '' && (content[end - 1] ?? '') === '') end--;
    const body = content.slice(0, end);
    const trailing = content.length - end;
    let text = literal ? body.join('\n') : foldBlock(body);
    if (body.length > 0) {
      if (chomp === '+') text += '\n'.repeat(trailing + 1);
      else if (chomp === '') text += '\n';
    } else if (chomp === '+') {
      text = '\n'.repeat(trailing);
    }
    return { kind: 'value', value: stringValue(text) };
  }

  /** The text from (row, col) to the end of the document, for the flow and quoted parsers. */
  #rest(col: number): { text: string; rowAt: (offset: number) => number } {
    const starts: number[] = [];
    let text = '';
    for (let r = this.#row; ; r++) {
      const line = this.#line(r);
      if (line === undefined) break;
      starts.push(text.length);
      text += (r === this.#row ? line.slice(col) : line) + '\n';
    }
    const base = this.#row;
    return {
      text,
      rowAt: (offset) => {
        let i = 0;
        while (i + 1 < starts.length && (starts[i + 1] ?? Infinity) <= offset) i++;
        return base + i;
      },
    };
  }

  /** Moves past the node that ended at `offset` of {@link #rest}; the rest of its line must be empty. */
  #finishAt(rest: { text: string; rowAt: (offset: number) => number }, offset: number): void {
    const row = rest.rowAt(offset);
    const lineEnd = rest.text.indexOf('\n', offset);
    const tail = rest.text.slice(offset, lineEnd < 0 ? undefined : lineEnd);
    if (!isBlankOrComment(tail)) this.#fail('did not find expected key', row);
    this.#row = row + 1;
  }

  #quoted(col: number, parent: number): Value {
    const rest = this.#rest(col);
    const q = rest.text[0];
    let i = 1;
    const lines: string[] = [];
    let current = '';
    for (;;) {
      const c = rest.text[i];
      if (c === undefined) this.#fail(`found unexpected end of stream`, rest.rowAt(i));
      if (q === "'" && c === "'") {
        if (rest.text[i + 1] === "'") {
          current += "''";
          i += 2;
          continue;
        }
        break;
      }
      if (q === '"' && c === '\\' && rest.text[i + 1] !== '\n') {
        current += c + (rest.text[i + 1] ?? '');
        i += 2;
        continue;
      }
      if (q === '"' && c === '"') break;
      if (c === '\n') {
        lines.push(current);
        current = '';
        i++;
        const row = rest.rowAt(i);
        const next = this.#lines[row];
        if (next !== undefined && next.trim() !== '' && this.#indent(next, row) <= parent) {
          this.#fail('did not find expected key', row);
        }
        continue;
      }
      current += c;
      i++;
    }
    lines.push(current);
    this.#finishAt(rest, i + 1);
    if (q === "'")
      return stringValue(fold(lines.map((l, n) => trimFoldedLine(l, n, lines.length))).replaceAll("''", "'"));
    return stringValue(this.#doubleQuoted(lines));
  }

  /** Unescapes and folds the lines of a double-quoted scalar (the text between the quotes). */
  #doubleQuoted(lines: readonly string[]): string {
    let out = '';
    let pendingBreaks = -1;
    for (let n = 0; n < lines.length; n++) {
      let line = lines[n] ?? '';
      if (n > 0) line = line.replace(/^[ \t]+/, '');
      let escapedBreak = false;
      if (n + 1 < lines.length) {
        const m = /(\\*)\\$/.exec(line.replace(/[ \t]+$/, ''));
        if (m !== null && (m[1] ?? '').length % 2 === 0) {
          escapedBreak = true;
          line = line.replace(/[ \t]+$/, '').slice(0, -1);
        } else {
          line = line.replace(/[ \t]+$/, '');
        }
      }
      if (n > 0) {
        if (line === '' && n + 1 < lines.length) {
          pendingBreaks = Math.max(pendingBreaks, 0) + 1;
          continue;
        }
        if (pendingBreaks > 0) out += '\n'.repeat(pendingBreaks);
        else if (pendingBreaks === 0) out += ' ';
      }
      out += this.#unescape(line);
      pendingBreaks = escapedBreak ? -1 : 0;
    }
    return out;
  }

  #unescape(text: string): string {
    let out = '';
    for (let i = 0; i < text.length; i++) {
      const c = text[i] ?? '';
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[++i] ?? '';
      const simple: Readonly<Record<string, string>> = {
        '0': '\0',
        a: '\x07',
        b: '\b',
        t: '\t',
        '\t': '\t',
        n: '\n',
        v: '\v',
        f: '\f',
        r: '\r',
        e: '\x1b',
        ' ': ' ',
        '"': '"',
        '/': '/',
        '\\': '\\',
        N: '\u0085',
        _: '\u00a0',
        L: '\u2028',
        P: '\u2029',
      };
      const s = simple[e];
      if (s !== undefined) {
        out += s;
        continue;
      }
      const width = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      const hex = text.slice(i + 1, i + 1 + width);
      if (width === 0 || !new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) {
        this.#fail('found unknown escape character while parsing a quoted scalar');
      }
      const cp = parseInt(hex, 16);
      out += cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? '\ufffd' : String.fromCodePoint(cp);
      i += width;
    }
    return out;
  }

  /** A flow collection starting at column `col` of the current line. */
  #flow(col: number): Value {
    const rest = this.#rest(col);
    const flow = new FlowParser(rest.text, this.#anchors, (message, offset) => this.#fail(message, rest.rowAt(offset)));
    const value = flow.collection();
    this.#finishAt(rest, flow.pos);
    return value;
  }
}

/** Line folding of plain and quoted scalars: one break → space, n+1 breaks → n newlines. */
function fold(parts: readonly string[]): string {
  let out = parts[0] ?? '';
  let breaks = 0;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i] ?? '';
    if (p === '') {
      breaks++;
      continue;
    }
    out += breaks > 0 ? '\n'.repeat(breaks) : ' ';
    out += p;
    breaks = 0;
  }
  return out;
}

function trimFoldedLine(line: string, n: number, count: number): string {
  let l = line;
  if (n > 0) l = l.replace(/^[ \t]+/, '');
  if (n + 1 < count) l = l.replace(/[ \t]+$/, '');
  return l;
}

/** Folding of a `>` block scalar: lines that start with a space keep their breaks. */
function foldBlock(lines: readonly string[]): string {
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (i > 0) {
      const prev = lines[i - 1] ?? '';
      const spaced = line.startsWith(' ') || line.startsWith('\t') || prev.startsWith(' ') || prev.startsWith('\t');
      if (line === '' || prev === '' || spaced) out += '\n';
      else out += ' ';
      if (prev === '' && line !== '' && !spaced && i > 1 && (lines[i - 2] ?? '') !== '') {
        // "a\n\nb" folds to "a\nb": the empty line was the one break.
        out = out.slice(0, -1);
      }
    }
    out += line;
  }
  return out;
}

/** Flow collections: `[a, b]`, `{a: 1, b: [x]}`, over several lines. */
class FlowParser {
  pos = 0;
  readonly #text: string;
  readonly #anchors: Map<string, Value>;
  readonly #fail: (message: string, offset: number) => never;
  #depth = 0;

  constructor(text: string, anchors: Map<string, Value>, fail: (message: string, offset: number) => never) {
    this.#text = text;
    this.#anchors = anchors;
    this.#fail = fail;
  }

  #space(): void {
    for (;;) {
      const c = this.#text[this.pos];
      if (c === ' ' || c === '\t' || c === '\n') this.pos++;
      else if (c === '#' && /[\s]/.test(this.#text[this.pos - 1] ?? ' ')) {
        while (this.pos < this.#text.length && this.#text[this.pos] !== '\n') this.pos++;
      } else return;
    }
  }

  collection(): Value {
    this.#depth++;
    if (this.#depth > MAX_DEPTH) this.#fail(`exceeded max depth of ${MAX_DEPTH}`, this.pos);
    const open = this.#text[this.pos];
    this.pos++;
    const value = open === '[' ? this.#sequence() : this.#mapping();
    this.#depth--;
    return value;
  }

  #sequence(): Value {
    const items: Value[] = [];
    for (;;) {
      this.#space();
      if (this.#text[this.pos] === ']') {
        this.pos++;
        return arrayValue(items);
      }
      items.push(this.#node());
      this.#space();
      const c = this.#text[this.pos];
      if (c === ',') this.pos++;
      else if (c !== ']') this.#fail("did not find expected ',' or ']'", this.pos);
    }
  }

  #mapping(): Value {
    const fields = new Map<string, Value>();
    for (;;) {
      this.#space();
      if (this.#text[this.pos] === '}') {
        this.pos++;
        return objectValue(fields);
      }
      const key = keyText(this.#node(true));
      this.#space();
      let value: Value = nullValue();
      if (this.#text[this.pos] === ':') {
        this.pos++;
        this.#space();
        const c = this.#text[this.pos];
        if (c !== ',' && c !== '}') value = this.#node();
      }
      fields.set(key, value);
      this.#space();
      const c = this.#text[this.pos];
      if (c === ',') this.pos++;
      else if (c !== '}') this.#fail("did not find expected ',' or '}'", this.pos);
    }
  }

  #node(isKey = false): Value {
    let anchor: string | undefined;
    let tag: string | undefined;
    for (;;) {
      const m = /^([&!])([^\s,[\]{}]*)/.exec(this.#text.slice(this.pos));
      if (m === null) break;
      if (m[1] === '&') anchor = m[2];
      else tag = `!${m[2] ?? ''}`;
      this.pos += m[0].length;
      this.#space();
    }
    const c = this.#text[this.pos];
    let value: Value;
    if (c === '[' || c === '{') {
      value = this.collection();
    } else if (c === '*') {
      const m = /^\*([^\s,[\]{}]+)/.exec(this.#text.slice(this.pos));
      const name = m?.[1] ?? '';
      this.pos += name.length + 1;
      const found = this.#anchors.get(name);
      if (found === undefined) this.#fail(`unknown anchor '${name}' referenced`, this.pos);
      value = found;
    } else if (c === '"' || c === "'") {
      value = stringValue(this.#quoted(c));
    } else if (c === undefined || c === ']' || c === '}' || c === ',') {
      if (c === undefined) this.#fail('did not find expected node content', this.pos);
      value = nullValue();
    } else {
      value = this.#plain(isKey);
    }
    if (tag === '!!str' && value.type !== 'string') value = stringValue(keyText(value));
    if (anchor !== undefined) this.#anchors.set(anchor, value);
    return value;
  }

  #plain(isKey: boolean): Value {
    const start = this.pos;
    const parts: string[] = [];
    let current = '';
    for (;;) {
      const c = this.#text[this.pos];
      if (c === undefined || c === ',' || c === '[' || c === ']' || c === '{' || c === '}') break;
      if (c === ':' && /[\s,[\]{}]/.test(this.#text[this.pos + 1] ?? ' ')) break;
      if (c === '#' && /\s/.test(this.#text[this.pos - 1] ?? ' ')) break;
      if (c === '\n') {
        parts.push(current.trim());
        current = '';
      } else {
        current += c;
      }
      this.pos++;
    }
    parts.push(current.trim());
    while (parts.length > 1 && parts.at(-1) === '') parts.pop();
    if (this.pos === start && !isKey) this.#fail('did not find expected node content', this.pos);
    return resolvePlain(fold(parts));
  }

  #quoted(q: string): string {
    this.pos++;
    const lines: string[] = [];
    let current = '';
    for (;;) {
      const c = this.#text[this.pos];
      if (c === undefined) this.#fail('found unexpected end of stream', this.pos);
      if (q === "'" && c === "'") {
        if (this.#text[this.pos + 1] === "'") {
          current += "'";
          this.pos += 2;
          continue;
        }
        break;
      }
      if (q === '"' && c === '"') break;
      if (q === '"' && c === '\\') {
        current += c + (this.#text[this.pos + 1] ?? '');
        this.pos += 2;
        continue;
      }
      if (c === '\n') {
        lines.push(current);
        current = '';
      } else {
        current += c;
      }
      this.pos++;
    }
    this.pos++;
    lines.push(current);
    if (q === "'") return fold(lines.map((l, n) => trimFoldedLine(l, n, lines.length)));
    return unescapeDouble(fold(lines.map((l, n) => trimFoldedLine(l, n, lines.length))));
  }
}

/** Escapes of a double-quoted flow scalar (no line continuations inside flow here). */
function unescapeDouble(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_, e: string) => {
    if (e.length > 1) {
      const cp = parseInt(e.slice(1), 16);
      return cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? '\ufffd' : String.fromCodePoint(cp);
    }
    const simple: Readonly<Record<string, string>> = {
      '0': '\0',
      a: '\x07',
      b: '\b',
      t: '\t',
      n: '\n',
      v: '\v',
      f: '\f',
      r: '\r',
      e: '\x1b',
      N: '\u0085',
      _: '\u00a0',
      L: '\u2028',
      P: '\u2029',
    };
    return simple[e] ?? e;
  });
}

/** `yaml.Unmarshal(text, &any)` for the first document: the value or an error message. */
export function decodeGoYaml(text: string): YamlResult {
  try {
    return { ok: true, value: new YamlParser(text).document() };
  } catch (err) {
    if (err instanceof YamlError) return { ok: false, error: err.message };
    if (err instanceof RangeError) return { ok: false, error: 'yaml: document is nested too deeply' };
    throw err;
  }
}
