/**
 * PDF rendering of a PIPL document (pdfkit) with an embedded CJK font (Noto Sans CJK, subset).
 * Without a CJK font the PDF says so on its first line and shows the Chinese text as "?" — the
 * Markdown and DOCX drafts are complete either way.
 */
import { existsSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import type { Doc } from './document.js';

/** Where Debian/Ubuntu's fonts-noto-cjk puts its fonts (.ci/run installs it too), as [file, face in the collection]. */
export const CJK_FONT_CANDIDATES: ReadonlyArray<readonly [string, string | undefined]> = [
  ['/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc', 'NotoSansCJKsc-Regular'],
  ['/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc', 'NotoSerifCJKsc-Regular'],
  ['/usr/share/fonts/truetype/wqy/wqy-microhei.ttc', 'WenQuanYiMicroHei'],
];

export function findCjkFont(candidates = CJK_FONT_CANDIDATES): readonly [string, string | undefined] | null {
  return candidates.find(([file]) => existsSync(file)) ?? null;
}

export const NO_CJK_FONT_NOTICE = 'NOTE: no CJK font found (install fonts-noto-cjk); Chinese text is not shown here - use the DOCX or Markdown draft.';

export function toPdf(doc: Doc, options: { font?: readonly [string, string | undefined] | null } = {}): Promise<Buffer> {
  const font = options.font === undefined ? findCjkFont() : options.font;
  const pdf = new PDFDocument({ size: 'A4', margin: 50, info: { Title: doc.title, Creator: 'Warden' } });
  const chunks: Buffer[] = [];
  pdf.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  if (font) pdf.registerFont('cjk', font[0], font[1]);
  const face = font ? 'cjk' : 'Helvetica';
  const text = (s: string) => (font ? s : s.replace(/[^\x20-\x7e]/g, '?'));
  pdf.font(face);
  if (!font) pdf.fontSize(10).fillColor('red').text(NO_CJK_FONT_NOTICE).fillColor('black').moveDown();
  for (const b of doc.blocks) {
    if (b.kind === 'heading') pdf.fontSize(b.level === 1 ? 18 : b.level === 2 ? 14 : 12).text(text(b.text), { align: b.level === 1 ? 'center' : 'left' }).moveDown(0.4);
    else if (b.kind === 'paragraph') pdf.fontSize(10.5).text(text(b.text)).moveDown(0.4);
    else if (b.kind === 'note') pdf.fontSize(10).fillColor('#444').text(text(b.text)).fillColor('black').moveDown(0.4);
    else if (b.kind === 'list') {
      for (const i of b.items) pdf.fontSize(10.5).text(`• ${text(i)}`);
      pdf.moveDown(0.4);
    } else {
      // Tables as aligned rows: header bold-ish (larger), each row one line of cells separated by gaps.
      pdf.fontSize(9.5).text(b.header.map(text).join('    ')).moveDown(0.1);
      for (const r of b.rows) pdf.fontSize(9).text(r.map(text).join('    '));
      pdf.moveDown(0.4);
    }
  }
  pdf.end();
  return done;
}
