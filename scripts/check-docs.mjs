// Counts undocumented public declarations in the hand-written .d.ts files of @aimdb/wasm and
// @aimdb/react and fails above zero (`make check-docs`, part of `make test`). Rules:
//   1. every exported declaration, every member of an exported interface or class (the first
//      signature of an overload group stands for the group) and every member of the
//      `ErrorCode` union has a JSDoc block (`/** ... */`);
//   2. options (optional properties of interfaces named `...Options` or `...Config`) say
//      their default: `@default`;
//   3. functions, constructors and methods say what they throw: `@throws` (with the codes),
//      or the words "Never throws";
//   4. exported functions and classes, and the main calls (MAIN below), carry an `@example`.
//
//   node scripts/check-docs.mjs [FILE.d.ts ...]     (default: both packages' index.d.ts)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILES = process.argv.length > 2 ? process.argv.slice(2) : ['bindings/npm/index.d.ts', 'bindings/react/index.d.ts'];
/** Methods that need an @example besides every exported function and class. */
const MAIN = new Set(['WasmDb.configureRecord', 'WasmDb.set', 'WasmDb.get', 'WasmDb.subscribe', 'WasmDb.record', 'WasmDb.setMany', 'WasmDb.tick', 'WsBridge.connect']);

const problems = [];
let checked = 0;

function jsdocOf(node, sf) {
  const text = sf.getFullText();
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const docs = ranges.map((r) => text.slice(r.pos, r.end)).filter((c) => c.startsWith('/**'));
  return docs.length ? docs[docs.length - 1] : null;
}

function check(file, sf, node, name, { needDefault = false, needThrows = false, needExample = false, inherited = null, doc: given } = {}) {
  checked++;
  const at = `${file}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1} ${name}`;
  const own = given !== undefined ? given : jsdocOf(node, sf);
  if (!own && inherited) return; // a later overload: its group was checked at the first signature
  const doc = own;
  if (!doc) return void problems.push(`${at}: no JSDoc`);
  if (needDefault && !/@default\b/.test(doc)) problems.push(`${at}: option without @default`);
  if (needThrows && !/@throws\b/.test(doc) && !/Never throws/i.test(doc)) problems.push(`${at}: no @throws (or "Never throws")`);
  if (needExample && !/@example\b/.test(doc)) problems.push(`${at}: no @example`);
}

const isExported = (node) => (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Export) !== 0 || node.kind === ts.SyntaxKind.ExportAssignment;
const isPrivate = (m) => (ts.getCombinedModifierFlags(m) & ts.ModifierFlags.Private) !== 0 || (m.name && ts.isPrivateIdentifier(m.name));
const nameOf = (m) => (m.name ? m.name.getText() : ts.isConstructorDeclaration(m) || ts.isConstructSignatureDeclaration(m) ? 'constructor' : ts.isCallSignatureDeclaration(m) ? '(call)' : '[index]');
const callable = (m) => ts.isMethodDeclaration(m) || ts.isMethodSignature(m) || ts.isConstructorDeclaration(m) || ts.isCallSignatureDeclaration(m) || ts.isConstructSignatureDeclaration(m) || ts.isFunctionDeclaration(m);

function members(file, sf, owner, list, { options = false } = {}) {
  const seen = new Map(); // overload groups: the first signature's doc stands for the rest
  for (const m of list) {
    if (isPrivate(m)) continue;
    const name = nameOf(m);
    const full = `${owner}.${name}`;
    const inherited = callable(m) ? seen.get(name) ?? null : null;
    check(file, sf, m, full, {
      needDefault: options && !!m.questionToken && !callable(m),
      needThrows: callable(m),
      needExample: callable(m) && MAIN.has(full) && inherited === null,
      inherited,
    });
    if (callable(m) && !seen.has(name)) seen.set(name, jsdocOf(m, sf));
  }
}

for (const file of FILES) {
  const text = fs.readFileSync(path.resolve(ROOT, file), "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const fnSeen = new Map();
  for (const node of sf.statements) {
    if (!isExported(node) || ts.isExportDeclaration(node)) continue;
    if (ts.isFunctionDeclaration(node)) {
      const name = node.name?.getText() ?? 'default';
      const inherited = fnSeen.get(name) ?? null;
      check(file, sf, node, name, { needThrows: true, needExample: inherited === null, inherited });
      if (!fnSeen.has(name)) fnSeen.set(name, jsdocOf(node, sf));
    } else if (ts.isClassDeclaration(node)) {
      const name = node.name?.getText() ?? 'default';
      check(file, sf, node, name, { needExample: true });
      members(file, sf, name, node.members);
    } else if (ts.isInterfaceDeclaration(node)) {
      const name = node.name.getText();
      check(file, sf, node, name);
      members(file, sf, name, node.members, { options: /(Options|Config)$/.test(name) });
    } else if (ts.isTypeAliasDeclaration(node)) {
      const name = node.name.getText();
      check(file, sf, node, name);
      if (name === 'ErrorCode' && ts.isUnionTypeNode(node.type)) {
        // A member's comment stands before its `|`: look between the previous member and it.
        let from = node.type.getFullStart();
        for (const t of node.type.types) {
          const between = sf.getFullText().slice(from, t.getStart(sf));
          const docs = between.match(/\/\*\*[\s\S]*?\*\//g);
          check(file, sf, t, `${name} ${t.getText()}`, { inherited: null, doc: docs ? docs[docs.length - 1] : null });
          from = t.getEnd();
        }
      }
    } else if (ts.isVariableStatement(node)) {
      for (const d of node.declarationList.declarations) check(file, sf, node, d.name.getText());
    } else if (ts.isEnumDeclaration(node) || ts.isModuleDeclaration(node)) {
      check(file, sf, node, node.name.getText());
    }
  }
}

for (const p of problems) console.log(p);
console.log(`check-docs: ${checked} declarations in ${FILES.join(', ')}; ${problems.length} undocumented`);
process.exit(problems.length === 0 ? 0 : 1);
