/**
 * The expression language of pipeline specs: paths into the pipeline's input and earlier nodes'
 * outputs, literals, comparisons, arithmetic, && || ! and a few pure functions. Parsed to an AST
 * and walked; nothing is ever evaluated as code, so it is safe on any input and deterministic
 * inside a workflow.
 *
 *   nodes.datasets.names            input.team == 'commerce' && !input.dry_run
 *   len(nodes.sync) > 0             coalesce(item.rows, 0) + 1        nodes.scan.anomalies[0].dataset
 */

export type Expr =
  | { k: 'lit'; v: Json }
  | { k: 'path'; root: Root; segs: Seg[] }
  | { k: 'arr'; items: Expr[] }
  | { k: 'not'; e: Expr }
  | { k: 'neg'; e: Expr }
  | { k: 'bin'; op: BinOp; l: Expr; r: Expr }
  | { k: 'cond'; test: Expr; then: Expr; else: Expr }
  | { k: 'call'; fn: FnName; args: Expr[] };

type Json = string | number | boolean | null;
type Seg = { s: string } | { e: Expr };
type BinOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%';

/** The names an expression may start from. `results` and `flow_input` are Windmill's names for `nodes` and `input`. */
export const ROOTS = ['input', 'nodes', 'item', 'index', 'error'] as const;
export type Root = (typeof ROOTS)[number];
const ALIASES: Record<string, Root> = { results: 'nodes', flow_input: 'input' };

export interface ExprContext {
  input: unknown;
  nodes: Record<string, unknown>;
  item?: unknown;
  index?: number;
  error?: unknown;
}

export class ExprError extends Error {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(position === undefined ? message : `${message} (at character ${position + 1})`);
    this.name = 'ExprError';
  }
}

const MAX_LENGTH = 2_000;
const MAX_DEPTH = 64;

type Token =
  | { t: 'num'; v: number; p: number }
  | { t: 'str'; v: string; p: number }
  | { t: 'id'; v: string; p: number }
  | { t: 'op'; v: string; p: number };

const OPERATORS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '+', '-', '*', '/', '%', '(', ')', '[', ']', '.', ',', '?', ':'];

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i))!;
      tokens.push({ t: 'num', v: Number(m[0]), p: i });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      tokens.push({ t: 'id', v: m[0], p: i });
      i += m[0].length;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      for (; j < src.length && src[j] !== c; j++) {
        if (src[j] === '\\') {
          j++;
          const e = src[j];
          if (e === undefined) break;
          text += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        } else {
          text += src[j];
        }
      }
      if (j >= src.length) throw new ExprError('unterminated string', i);
      tokens.push({ t: 'str', v: text, p: i });
      i = j + 1;
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i));
      if (!op) throw new ExprError(`unexpected character ${JSON.stringify(c)}`, i);
      tokens.push({ t: 'op', v: op, p: i });
      i += op.length;
    }
  }
  return tokens;
}

const FUNCTIONS = {
  /** Length of a list, a string or an object's keys. */
  len: (x: unknown) => (Array.isArray(x) || typeof x === 'string' ? x.length : isRecord(x) ? Object.keys(x).length : 0),
  /** Whether a list holds a value (compared as JSON), a string a substring, or an object a key. */
  contains: (x: unknown, v: unknown) =>
    Array.isArray(x)
      ? x.some((e) => same(e, v))
      : typeof x === 'string'
        ? typeof v === 'string' && x.includes(v)
        : isRecord(x) && typeof v === 'string' && Object.hasOwn(x, v),
  startsWith: (s: unknown, p: unknown) => typeof s === 'string' && typeof p === 'string' && s.startsWith(p),
  keys: (x: unknown) => (isRecord(x) ? Object.keys(x) : []),
  /** The first argument that is neither null nor missing. */
  coalesce: (...xs: unknown[]) => xs.find((x) => x !== null && x !== undefined) ?? null,
  lower: (s: unknown) => (typeof s === 'string' ? s.toLowerCase() : s),
  upper: (s: unknown) => (typeof s === 'string' ? s.toUpperCase() : s),
  string: (x: unknown) => (typeof x === 'string' ? x : x === undefined ? 'null' : JSON.stringify(x)),
  number: (x: unknown) =>
    typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' && Number.isFinite(Number(x)) ? Number(x) : null,
  join: (xs: unknown, sep: unknown) =>
    Array.isArray(xs) ? xs.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(typeof sep === 'string' ? sep : ',') : null,
  /** `pluck(list, 'name')`: the field of each element. */
  pluck: (xs: unknown, key: unknown) =>
    Array.isArray(xs) && typeof key === 'string' ? xs.map((x) => (isRecord(x) && Object.hasOwn(x, key) ? x[key] : null)) : null,
  sum: (xs: unknown) => (Array.isArray(xs) ? xs.reduce((a: number, x) => a + (typeof x === 'number' ? x : 0), 0) : 0),
  min: (...xs: unknown[]) => numbers(xs).reduce((a, b) => Math.min(a, b), Infinity),
  max: (...xs: unknown[]) => numbers(xs).reduce((a, b) => Math.max(a, b), -Infinity),
} satisfies Record<string, (...args: unknown[]) => unknown>;
export type FnName = keyof typeof FUNCTIONS;
export const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FnName[];

function numbers(xs: unknown[]): number[] {
  const flat = xs.length === 1 && Array.isArray(xs[0]) ? (xs[0] as unknown[]) : xs;
  return flat.filter((x): x is number => typeof x === 'number');
}

/** Parses an expression to its AST; throws ExprError naming the position of the problem. */
export function parseExpr(src: string): Expr {
  if (src.length > MAX_LENGTH) throw new ExprError(`expression longer than ${MAX_LENGTH} characters`);
  const tokens = tokenize(src);
  let pos = 0;
  let depth = 0;
  const peek = (): Token | undefined => tokens[pos];
  const at = (): number => peek()?.p ?? src.length;
  const isOp = (v: string): boolean => {
    const t = peek();
    return t !== undefined && t.t === 'op' && t.v === v;
  };
  const expect = (v: string): void => {
    if (!isOp(v)) throw new ExprError(`expected ${v}`, at());
    pos++;
  };
  const nest = <T>(f: () => T): T => {
    if (++depth > MAX_DEPTH) throw new ExprError('expression nested too deeply', at());
    try {
      return f();
    } finally {
      depth--;
    }
  };

  const binary = (ops: BinOp[], next: () => Expr) => (): Expr => {
    let l = next();
    for (;;) {
      const t = peek();
      if (!t || t.t !== 'op' || !ops.includes(t.v as BinOp)) return l;
      pos++;
      l = { k: 'bin', op: t.v as BinOp, l, r: next() };
    }
  };

  const conditional = (): Expr =>
    nest(() => {
      const test = or();
      if (!isOp('?')) return test;
      pos++;
      const then = conditional();
      expect(':');
      return { k: 'cond', test, then, else: conditional() };
    });
  const unary = (): Expr =>
    nest(() => {
      if (isOp('!')) {
        pos++;
        return { k: 'not', e: unary() };
      }
      if (isOp('-')) {
        pos++;
        return { k: 'neg', e: unary() };
      }
      return postfix();
    });
  const mul = binary(['*', '/', '%'], unary);
  const add = binary(['+', '-'], mul);
  const cmp = binary(['<', '<=', '>', '>='], add);
  const eq = binary(['==', '!='], cmp);
  const and = binary(['&&'], eq);
  const or = binary(['||'], and);

  function postfix(): Expr {
    const t = peek();
    if (!t) throw new ExprError('unexpected end of expression', src.length);
    pos++;
    if (t.t === 'num') return { k: 'lit', v: t.v };
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'op' && t.v === '(') {
      const inner = conditional();
      expect(')');
      return inner;
    }
    if (t.t === 'op' && t.v === '[') {
      const items: Expr[] = [];
      while (!isOp(']')) {
        items.push(conditional());
        if (!isOp(']')) expect(',');
      }
      pos++;
      return { k: 'arr', items };
    }
    if (t.t !== 'id') throw new ExprError(`unexpected ${t.v}`, t.p);
    if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
    if (t.v === 'null') return { k: 'lit', v: null };
    if (isOp('(')) {
      if (!(FUNCTION_NAMES as string[]).includes(t.v)) {
        throw new ExprError(`unknown function ${t.v}: one of ${FUNCTION_NAMES.join(', ')}`, t.p);
      }
      pos++;
      const args: Expr[] = [];
      while (!isOp(')')) {
        args.push(conditional());
        if (!isOp(')')) expect(',');
      }
      pos++;
      return { k: 'call', fn: t.v as FnName, args };
    }
    const root = (ROOTS as readonly string[]).includes(t.v) ? (t.v as Root) : ALIASES[t.v];
    if (!root) throw new ExprError(`unknown name ${t.v}: start from input, nodes, item, index or error`, t.p);
    const segs: Seg[] = [];
    for (;;) {
      if (isOp('.')) {
        pos++;
        const name = peek();
        if (!name || name.t !== 'id') throw new ExprError('expected a field name after .', at());
        pos++;
        segs.push({ s: name.v });
      } else if (isOp('[')) {
        pos++;
        const inner = conditional();
        expect(']');
        segs.push(
          inner.k === 'lit' && (typeof inner.v === 'string' || typeof inner.v === 'number') ? { s: String(inner.v) } : { e: inner },
        );
      } else {
        break;
      }
    }
    if (root === 'nodes' && !(segs[0] && 's' in segs[0])) {
      throw new ExprError('nodes must be followed by a node id, like nodes.extract', t.p);
    }
    return { k: 'path', root, segs };
  }

  const ast = conditional();
  if (pos < tokens.length) throw new ExprError(`unexpected ${String(tokens[pos]!.v)}`, tokens[pos]!.p);
  return ast;
}

/** The node ids an expression reads (`nodes.<id>…`): the edges of the pipeline's graph. */
export function referencedNodes(ast: Expr): string[] {
  const found = new Set<string>();
  walk(ast, (e) => {
    if (e.k === 'path' && e.root === 'nodes') found.add((e.segs[0] as { s: string }).s);
  });
  return [...found];
}

/** The roots an expression reads (`item`, `error`, …), to check they exist where it runs. */
export function referencedRoots(ast: Expr): Root[] {
  const found = new Set<Root>();
  walk(ast, (e) => {
    if (e.k === 'path') found.add(e.root);
  });
  return [...found];
}

function walk(e: Expr, visit: (e: Expr) => void): void {
  visit(e);
  switch (e.k) {
    case 'path':
      for (const s of e.segs) if ('e' in s) walk(s.e, visit);
      break;
    case 'arr':
      e.items.forEach((i) => walk(i, visit));
      break;
    case 'not':
    case 'neg':
      walk(e.e, visit);
      break;
    case 'bin':
      walk(e.l, visit);
      walk(e.r, visit);
      break;
    case 'cond':
      walk(e.test, visit);
      walk(e.then, visit);
      walk(e.else, visit);
      break;
    case 'call':
      e.args.forEach((a) => walk(a, visit));
      break;
    case 'lit':
      break;
  }
}

/** Evaluates an AST. A missing field reads as null (like `?.`); type errors throw ExprError. */
export function evaluate(ast: Expr, ctx: ExprContext): unknown {
  switch (ast.k) {
    case 'lit':
      return ast.v;
    case 'arr':
      return ast.items.map((i) => evaluate(i, ctx));
    case 'path': {
      let value: unknown = ast.root === 'nodes' ? ctx.nodes : ctx[ast.root];
      for (const seg of ast.segs) {
        const key = 's' in seg ? seg.s : evaluate(seg.e, ctx);
        value = member(value, key);
      }
      return value === undefined ? null : value;
    }
    case 'not':
      return !truthy(evaluate(ast.e, ctx));
    case 'neg': {
      const v = evaluate(ast.e, ctx);
      if (typeof v !== 'number') throw new ExprError(`cannot negate ${describe(v)}`);
      return -v;
    }
    case 'cond':
      return truthy(evaluate(ast.test, ctx)) ? evaluate(ast.then, ctx) : evaluate(ast.else, ctx);
    case 'call':
      return (FUNCTIONS[ast.fn] as (...a: unknown[]) => unknown)(...ast.args.map((a) => evaluate(a, ctx)));
    case 'bin': {
      if (ast.op === '&&') {
        const l = evaluate(ast.l, ctx);
        return truthy(l) ? evaluate(ast.r, ctx) : l;
      }
      if (ast.op === '||') {
        const l = evaluate(ast.l, ctx);
        return truthy(l) ? l : evaluate(ast.r, ctx);
      }
      const l = evaluate(ast.l, ctx);
      const r = evaluate(ast.r, ctx);
      switch (ast.op) {
        case '==':
          return same(l, r);
        case '!=':
          return !same(l, r);
        case '<':
        case '<=':
        case '>':
        case '>=': {
          if (!((typeof l === 'number' && typeof r === 'number') || (typeof l === 'string' && typeof r === 'string'))) {
            throw new ExprError(`cannot compare ${describe(l)} ${ast.op} ${describe(r)}: both sides must be numbers or both strings`);
          }
          return ast.op === '<' ? l < r : ast.op === '<=' ? l <= r : ast.op === '>' ? l > r : l >= r;
        }
        case '+':
          if (typeof l === 'string' || typeof r === 'string') return text(l) + text(r);
          if (Array.isArray(l) && Array.isArray(r)) return [...l, ...r];
          return arithmetic(ast.op, l, r);
        default:
          return arithmetic(ast.op, l, r);
      }
    }
  }
}

function arithmetic(op: BinOp, l: unknown, r: unknown): number {
  if (typeof l !== 'number' || typeof r !== 'number') throw new ExprError(`cannot compute ${describe(l)} ${op} ${describe(r)}`);
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      if (r === 0) throw new ExprError('division by zero');
      return l / r;
    default:
      if (r === 0) throw new ExprError('division by zero');
      return l % r;
  }
}

/** Own fields and list positions only: `constructor`, `__proto__` and the like read as missing. */
function member(value: unknown, key: unknown): unknown {
  if (Array.isArray(value)) {
    const i = typeof key === 'number' ? key : typeof key === 'string' && /^\d+$/.test(key) ? Number(key) : NaN;
    if (Number.isInteger(i)) return value[i < 0 ? value.length + i : i];
    return key === 'length' ? value.length : undefined;
  }
  if (isRecord(value) && (typeof key === 'string' || typeof key === 'number')) {
    const k = String(key);
    return Object.hasOwn(value, k) ? value[k] : undefined;
  }
  return undefined;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function truthy(x: unknown): boolean {
  if (Array.isArray(x)) return x.length > 0;
  return Boolean(x);
}

/** JSON equality, so that `nodes.a.tags == ['x']` means what it reads. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function text(x: unknown): string {
  return typeof x === 'string' ? x : x === undefined || x === null ? '' : JSON.stringify(x);
}

function describe(x: unknown): string {
  if (x === null || x === undefined) return 'null';
  if (Array.isArray(x)) return 'a list';
  return typeof x === 'object' ? 'an object' : `${typeof x} ${JSON.stringify(x)}`;
}

/** Parses and evaluates in one go: for tests and one-off use; the runner parses once per node. */
export function evalExpr(src: string, ctx: ExprContext): unknown {
  return evaluate(parseExpr(src), ctx);
}
