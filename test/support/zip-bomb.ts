/**
 * A workbook-shaped zip bomb for the upload tests: a valid XLSX skeleton whose sheet part unpacks
 * to `megabytes` MiB of one repeated byte (deflated by zlib at level 9: about 1 KiB per MiB).
 */
import { deflateRawSync } from 'node:zlib';
import { Zip, ZipPassThrough, type ZipInputFile } from 'fflate';

export function zipBomb(megabytes: number): Buffer {
  const chunks: Uint8Array[] = [];
  const zip = new Zip((err, data) => {
    if (err) throw err;
    chunks.push(data);
  });
  const types = new ZipPassThrough('[Content_Types].xml');
  zip.add(types);
  types.push(new TextEncoder().encode('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'), true);
  const plain = Buffer.alloc(megabytes * 1024 * 1024, 0x20);
  // Pre-deflated: fflate writes the entry as given (the CRC is not what the guard looks at).
  const sheet: ZipInputFile = { filename: 'xl/worksheets/sheet1.xml', compression: 8, size: plain.length, crc: 0, ondata: undefined };
  zip.add(sheet);
  sheet.ondata!(null, deflateRawSync(plain, { level: 9 }), true);
  zip.end();
  return Buffer.concat(chunks);
}
