// parse.mjs: parse Mermaid texts with the real Mermaid library, for
// common/tools/osps-live's TestMermaidParses. Stdin: a JSON array of texts.
// Stdout: a JSON array, one {error} or {type, texts} per text, where
// texts are every label as Mermaid read it (participants, messages,
// notes; nodes, edges, subgraphs), entities decoded (#35; is "#").
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

// Mermaid replaces "#35;" by "ﬂ°°35¶ß" and "#quot;" by "ﬂ°quot¶ß" before
// parsing, and back when it draws.
const named = { quot: '"', amp: '&', lt: '<', gt: '>', nbsp: '\u00a0' };
function decode(s) {
  if (typeof s !== 'string') return '';
  return s
    .replace(/ﬂ°°(\d+)¶ß/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/ﬂ°(\w+)¶ß/g, (_, n) => named[n] ?? `&${n};`);
}

async function parse(text) {
  const d = await mermaid.mermaidAPI.getDiagramFromText(text);
  const db = d.db;
  const texts = [];
  if (typeof db.getMessages === 'function') {
    for (const a of db.getActors().values()) texts.push(a.description);
    for (const m of db.getMessages()) if (m.message) texts.push(m.message);
  } else if (typeof db.getVertices === 'function') {
    for (const v of db.getVertices().values()) if (v.text !== v.id) texts.push(v.text);
    for (const e of db.getEdges()) if (e.text) texts.push(e.text);
    for (const g of db.getSubGraphs()) if (g.title !== g.id) texts.push(g.title);
  }
  return { type: d.type, texts: texts.map(decode) };
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const text of JSON.parse(input)) {
  try {
    out.push(await parse(text));
  } catch (e) {
    out.push({ error: String(e.message ?? e).split('\n').slice(0, 4).join('\n') });
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
