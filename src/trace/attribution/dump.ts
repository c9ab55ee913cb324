/**
 * Reads a leaked file as found in the wild: CSV (any delimiter csv-parse detects among , ; tab |)
 * or XLSX (every worksheet), headers in Chinese or English or none at all, junk rows, rows that
 * match nothing. Each usable row becomes a normalised record; the rest are counted, never dropped
 * silently.
 */
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { Unzip } from 'fflate';
import { inflateRawSync } from 'node:zlib';
import { normalizePhone, validateIdNumber, WAYBILL_RE } from '../../vault/validate.js';
import { AppError } from '../../errors.js';

export const DUMP_COLUMNS = ['waybill', 'name', 'phone', 'address', 'id_number'] as const;
export type DumpColumn = (typeof DUMP_COLUMNS)[number];

export interface DumpRow {
  /** 1-based row (line) in the file, per sheet for XLSX. */
  line: number;
  sheet?: string;
  waybill?: string;
  name?: string;
  phone?: string;
  address?: string;
  id_number?: string;
}

export interface Dump {
  rows: DumpRow[];
  /** Rows that held nothing usable (blank, junk, a repeated header). */
  junk: number;
  columns: Partial<Record<DumpColumn, number>>;
}

/** Header words, normalised (lower case, no spaces or punctuation); Chinese matched by containment. */
const HEADERS: Record<DumpColumn, { exact: string[]; contains: string[] }> = {
  waybill: { exact: ['waybill', 'waybillno', 'waybillnumber', 'trackingno', 'trackingnumber', 'tracking', 'awb', 'billno'], contains: ['运单', '单号', '快递单'] },
  id_number: { exact: ['id', 'idnumber', 'idno', 'idcard', 'citizenid', 'nationalid'], contains: ['身份证', '证件'] },
  phone: { exact: ['phone', 'mobile', 'tel', 'telephone', 'phonenumber', 'mobilephone', 'cell', 'contact'], contains: ['电话', '手机', '联系方式'] },
  address: { exact: ['address', 'addr', 'deliveryaddress', 'shippingaddress'], contains: ['地址', '住址'] },
  name: { exact: ['name', 'fullname', 'customer', 'customername', 'recipient', 'receiver', 'consignee', 'sender'], contains: ['姓名', '收件人', '寄件人', '收货人', '名字', '客户'] },
};
const ORDER: DumpColumn[] = ['waybill', 'id_number', 'phone', 'address', 'name'];

const norm = (s: string) => s.normalize('NFKC').toLowerCase().replace(/[\s_\-.:：()（）/#]/g, '');

export function headerColumn(cell: string): DumpColumn | null {
  const h = norm(cell);
  if (!h || h.length > 30) return null;
  for (const c of ORDER) if (HEADERS[c].exact.includes(h)) return c;
  for (const c of ORDER) if (HEADERS[c].contains.some((w) => h.includes(w))) return c;
  return null;
}

/** What a value looks like, for files without a header. */
export function valueKind(raw: string): DumpColumn | null {
  const v = raw.normalize('NFKC').trim();
  if (!v) return null;
  if (WAYBILL_RE.test(v.toUpperCase()) && /[A-Z]/i.test(v)) return 'waybill';
  if (/^\d{17}[\dXx]$/.test(v) && validateIdNumber(v).ok) return 'id_number';
  if (normalizePhone(v).ok && /\d{7,}/.test(v.replace(/[\s-]/g, ''))) return 'phone';
  if (/[省市区县镇路街号室栋]/.test(v) && v.length >= 6) return 'address';
  if (/^[\u4e00-\u9fff·]{2,5}$/.test(v) || /^[A-Za-z][A-Za-z .'-]{1,40}$/.test(v)) return 'name';
  if (WAYBILL_RE.test(v)) return 'waybill';
  return null;
}

/** Finds a header among the first rows (≥ 2 known columns); otherwise infers columns from values. */
export function detectColumns(table: string[][]): { columns: Partial<Record<DumpColumn, number>>; headerRow: number } {
  for (let r = 0; r < Math.min(table.length, 20); r++) {
    const columns: Partial<Record<DumpColumn, number>> = {};
    table[r]!.forEach((cell, i) => {
      const c = headerColumn(cell);
      if (c && columns[c] === undefined) columns[c] = i;
    });
    if (Object.keys(columns).length >= 2 || (Object.keys(columns).length === 1 && (table[r]!.filter((x) => x.trim()).length === 1))) return { columns, headerRow: r };
  }
  const votes = new Map<number, Map<DumpColumn, number>>();
  for (const row of table.slice(0, 500)) {
    row.forEach((cell, i) => {
      const k = valueKind(cell);
      if (!k) return;
      const m = votes.get(i) ?? new Map<DumpColumn, number>();
      m.set(k, (m.get(k) ?? 0) + 1);
      votes.set(i, m);
    });
  }
  const columns: Partial<Record<DumpColumn, number>> = {};
  const ranked = [...votes.entries()].flatMap(([i, m]) => [...m.entries()].map(([k, n]) => ({ i, k, n }))).sort((a, b) => b.n - a.n);
  const used = new Set<number>();
  for (const { i, k } of ranked) {
    if (columns[k] !== undefined || used.has(i)) continue;
    columns[k] = i;
    used.add(i);
  }
  return { columns, headerRow: -1 };
}

/** One row's values, normalised; null when nothing in it is usable. */
export function normaliseRow(cells: string[], columns: Partial<Record<DumpColumn, number>>, line: number): DumpRow | null {
  const at = (c: DumpColumn) => {
    const i = columns[c];
    return i === undefined ? '' : (cells[i] ?? '').normalize('NFKC').trim();
  };
  const row: DumpRow = { line };
  const waybill = at('waybill').toUpperCase().replace(/\s/g, '');
  if (WAYBILL_RE.test(waybill)) row.waybill = waybill;
  const phone = normalizePhone(at('phone').replace(/^'/, ''));
  if (phone.ok) row.phone = phone.value.value;
  const id = at('id_number').replace(/^'/, '');
  if (id) {
    const v = validateIdNumber(id, { allow15: true });
    if (v.ok) row.id_number = v.value.value;
  }
  const name = at('name');
  if (name && name.length <= 40 && !headerColumn(name)) row.name = name;
  const address = at('address');
  if (address && address.length >= 4 && address.length <= 200 && !headerColumn(address)) row.address = address;
  const useful = row.waybill || row.phone || row.id_number || (row.name && row.address);
  return useful ? row : null;
}

export function rowsFromTable(table: string[][], sheet?: string): Dump {
  const { columns, headerRow } = detectColumns(table);
  const rows: DumpRow[] = [];
  let junk = 0;
  table.forEach((cells, i) => {
    if (i === headerRow) return;
    const row = normaliseRow(cells, columns, i + 1);
    if (!row) {
      if (cells.some((c) => c.trim())) junk++;
      return;
    }
    if (sheet) row.sheet = sheet;
    rows.push(row);
  });
  return { rows, junk, columns };
}

export function parseCsv(text: string): string[][] {
  const first = text.split(/\r?\n/, 1)[0] ?? '';
  const delimiter = [',', '\t', ';', '|'].map((d) => ({ d, n: first.split(d).length })).sort((a, b) => b.n - a.n)[0]!.d;
  return parse(text, { delimiter, bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, skip_records_with_error: true, trim: true }) as string[][];
}

/** The most a workbook may unpack to (its XML, all parts together) before it is read. */
export const MAX_XLSX_UNPACKED_BYTES = 256 * 1024 * 1024;
const MAX_XLSX_PARTS = 10_000;

/**
 * Refuses a zip bomb before ExcelJS inflates it in memory. fflate walks the archive's entries; each
 * deflated entry is inflated by zlib with `maxOutputLength` set to what is left of the cap, so the
 * bytes really unpacked are what is counted (the sizes a zip declares are the sender's to choose)
 * and inflation stops at the first byte over the cap.
 */
export function checkUnpackedSize(buffer: Buffer, cap = MAX_XLSX_UNPACKED_BYTES): void {
  const tooLarge = () => new AppError('payload_too_large', `the workbook unpacks to more than ${cap / 1024 / 1024} MiB (or holds more than ${MAX_XLSX_PARTS} parts); split it or save it as CSV`);
  let total = 0;
  let parts = 0;
  const count = (bytes: number) => {
    total += bytes;
    if (total > cap) throw tooLarge();
  };
  class Inflate {
    static compression = 8;
    ondata: (err: Error | null, data: Uint8Array, final: boolean) => void = () => {};
    private readonly chunks: Uint8Array[] = [];
    push(chunk: Uint8Array, final: boolean): void {
      this.chunks.push(chunk);
      if (!final) return;
      let out: Buffer;
      try {
        out = inflateRawSync(Buffer.concat(this.chunks), { maxOutputLength: cap - total + 1 });
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
        throw err;
      }
      this.ondata(null, out, true);
    }
  }
  const unzip = new Unzip((file) => {
    if (++parts > MAX_XLSX_PARTS) throw tooLarge();
    file.ondata = (err, data) => {
      if (err) throw err;
      count(data.length);
    };
    file.start();
  });
  unzip.register(Inflate);
  unzip.push(buffer, true);
}

export async function parseXlsx(buffer: Buffer): Promise<Array<{ sheet: string; table: string[][] }>> {
  checkUnpackedSize(buffer);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buffer as unknown as ArrayBuffer);
  const sheets: Array<{ sheet: string; table: string[][] }> = [];
  wb.eachSheet((ws) => {
    const table: string[][] = [];
    ws.eachRow({ includeEmpty: true }, (row) => {
      const cells: string[] = [];
      row.eachCell({ includeEmpty: true }, (cell, col) => {
        cells[col - 1] = cell.text ?? '';
      });
      table.push(Array.from(cells, (c) => c ?? ''));
    });
    sheets.push({ sheet: ws.name, table });
  });
  return sheets;
}

const isZip = (b: Buffer) => b.length > 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

/**
 * The dump's text: UTF-8, else GB 18030 (a superset of GBK, what Chinese spreadsheet software
 * saves CSV as). Binary content (NUL or other control bytes) is not a CSV: refused, never read
 * as junk rows.
 */
export function dumpText(buffer: Buffer): string {
  const head = buffer.subarray(0, 64 * 1024);
  let control = 0;
  for (const b of head) if (b === 0 || (b < 0x20 && b !== 9 && b !== 10 && b !== 13)) control++;
  if (control > 0) throw new AppError('unsupported_media_type', 'the leaked file is neither CSV text nor an XLSX workbook (it holds binary data)');
  for (const encoding of ['utf-8', 'gb18030']) {
    try {
      return new TextDecoder(encoding, { fatal: true }).decode(buffer);
    } catch {
      // the next encoding
    }
  }
  throw new AppError('unsupported_media_type', 'the leaked file is neither CSV text (UTF-8 or GB 18030) nor an XLSX workbook');
}

/** Reads a dump: XLSX by its zip signature, otherwise CSV text. A file with no recognisable column is refused. */
export async function readDump(buffer: Buffer): Promise<Dump> {
  const out: Dump = { rows: [], junk: 0, columns: {} };
  if (!isZip(buffer)) Object.assign(out, rowsFromTable(parseCsv(dumpText(buffer))));
  else {
    let sheets: Awaited<ReturnType<typeof parseXlsx>>;
    try {
      sheets = await parseXlsx(buffer);
    } catch (err) {
      if (err instanceof AppError) throw err;
      // The right kind of file, damaged: bad content (400), not a media type the server does not take.
      throw new AppError('validation_failed', 'the leaked file could not be read: a zip archive, but not a readable XLSX workbook');
    }
    for (const { sheet, table } of sheets) {
      const d = rowsFromTable(table, sheet);
      out.rows.push(...d.rows);
      out.junk += d.junk;
      out.columns = { ...d.columns, ...out.columns };
    }
  }
  if (!Object.keys(out.columns).length) throw new AppError('validation_failed', 'no column of the leaked file reads as a waybill number, name, phone, address or ID number');
  return out;
}
