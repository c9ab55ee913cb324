/** DOCX rendering of a PIPL document (the `docx` package), so the DPO can edit the draft in Word/WPS. */
import { AlignmentType, Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun, WidthType } from 'docx';
import type { Doc } from './document.js';

const HEADING = { 1: HeadingLevel.HEADING_1, 2: HeadingLevel.HEADING_2, 3: HeadingLevel.HEADING_3 } as const;
/** Chinese text needs an East Asian font name; Word/WPS substitute when it is absent. */
const FONT = { ascii: 'Arial', eastAsia: 'SimSun', hAnsi: 'Arial' };

const run = (text: string, bold = false) => new TextRun({ text, bold, font: FONT });

export async function toDocx(doc: Doc): Promise<Buffer> {
  const children: Array<Paragraph | Table> = [];
  for (const b of doc.blocks) {
    if (b.kind === 'heading') children.push(new Paragraph({ heading: HEADING[b.level], children: [run(b.text, true)], alignment: b.level === 1 ? AlignmentType.CENTER : AlignmentType.LEFT }));
    else if (b.kind === 'paragraph' || b.kind === 'note') children.push(new Paragraph({ children: [run(b.text)] }));
    else if (b.kind === 'list') for (const item of b.items) children.push(new Paragraph({ bullet: { level: 0 }, children: [run(item)] }));
    else {
      const row = (cells: string[], header: boolean) => new TableRow({ tableHeader: header, children: cells.map((c) => new TableCell({ children: [new Paragraph({ children: [run(c, header)] })] })) });
      children.push(new Table({ width: { size: 100, type: WidthType.PERCENTAGE }, rows: [row(b.header, true), ...b.rows.map((r) => row(r, false))] }));
    }
  }
  const document = new Document({ creator: 'Warden', title: doc.title, sections: [{ children }] });
  return Packer.toBuffer(document);
}
