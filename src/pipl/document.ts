/**
 * A small document model the PIPL reports are drafted in, rendered to Markdown here and to DOCX
 * (docx.ts) and PDF (pdf.ts): one draft, three formats the DPO edits and files.
 */
export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][] }
  | { kind: 'note'; text: string };

export interface Doc {
  title: string;
  blocks: Block[];
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function toMarkdown(doc: Doc): string {
  const out: string[] = [];
  for (const b of doc.blocks) {
    if (b.kind === 'heading') out.push(`${'#'.repeat(b.level)} ${b.text}`, '');
    else if (b.kind === 'paragraph') out.push(b.text, '');
    else if (b.kind === 'note') out.push(...b.text.split('\n').map((l) => `> ${l}`), '');
    else if (b.kind === 'list') out.push(...b.items.map((i) => `- ${i}`), '');
    else {
      out.push(`| ${b.header.map(cell).join(' | ')} |`, `|${b.header.map(() => '---').join('|')}|`);
      for (const r of b.rows) out.push(`| ${r.map(cell).join(' | ')} |`);
      out.push('');
    }
  }
  return out.join('\n');
}

/** Plain text of a document (what a PDF's text layer should hold). */
export function toPlainLines(doc: Doc): string[] {
  const lines: string[] = [];
  for (const b of doc.blocks) {
    if (b.kind === 'list') lines.push(...b.items.map((i) => `• ${i}`));
    else if (b.kind === 'table') lines.push(b.header.join('  '), ...b.rows.map((r) => r.join('  ')));
    else lines.push(b.text);
  }
  return lines;
}
