/**
 * Attack review 10, F4: the label kept a lane or house number written in Chinese numerals
 * (漕溪路二百五十弄十二号801室 printed as 漕溪路二百五十弄****, 建国路八十八巷 whole) while 250弄 was
 * masked. A number in any form — digits, full-width digits, Chinese and financial numerals — is
 * house-level detail: no address segment holding one survives the label or the screen mask.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MASK, maskAddress, NUMERAL_RE } from './masking.js';

const LOWER = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
const FINANCIAL = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
const UNITS = { lower: ['', '十', '百', '千'], financial: ['', '拾', '佰', '仟'] };

/** 250 → 二百五十 (or 两百五十, 贰佰伍拾); 12 → 十二; 801 → 八百零一. */
function chinese(n: number, style: 'lower' | 'liang' | 'financial'): string {
  const digits = style === 'financial' ? FINANCIAL : LOWER;
  const units = style === 'financial' ? UNITS.financial : UNITS.lower;
  const ds = String(n).split('').map(Number);
  let out = '';
  let zero = false;
  ds.forEach((d, i) => {
    const place = ds.length - 1 - i;
    if (d === 0) {
      zero = out !== '';
      return;
    }
    if (zero) out += digits[0];
    zero = false;
    const digit = style === 'liang' && d === 2 && place >= 2 ? '两' : digits[d]!;
    out += place === 1 && d === 1 && out === '' && style !== 'financial' ? '' : digit;
    out += units[place]!;
  });
  return out;
}

/** A number as people write it on a parcel. */
const numberIn = (n: number, form: string): string => {
  switch (form) {
    case 'ascii':
      return String(n);
    case 'fullwidth':
      return String(n).replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
    case 'digitwise':
      return String(n).replace(/[0-9]/g, (d) => (d === '0' ? '〇' : LOWER[Number(d)]!));
    default:
      return chinese(n, form as 'lower' | 'liang' | 'financial');
  }
};
const FORMS = ['ascii', 'fullwidth', 'digitwise', 'lower', 'liang', 'financial'] as const;

// Canonical division prefixes (printed as given), some themselves holding a numeral (十堰, 七台河).
const PREFIXES = ['上海市徐汇区', '北京市朝阳区', '湖北省十堰市张湾区', '黑龙江省七台河市桃山区', '广东省广州市天河区', '浙江省杭州市西湖区'];
const STREETS = ['', '漕溪路', '建国路', '张江镇碧波路', '南京西路', '人民大道'];
const SUFFIXES = ['弄', '巷', '号', '栋', '室', '路', '街', '支弄', '号楼', '单元', '层', '幢', '村'];

describe('label and screen masks drop every numbered segment (F4)', () => {
  it.each([
    ['上海市徐汇区漕溪路二百五十弄十二号801室', '上海市徐汇区漕溪路****', '上海市徐汇区****'],
    ['北京市朝阳区建国路八十八巷', '北京市朝阳区建国路****', '北京市朝阳区****'],
    ['上海市徐汇区漕溪路２５０弄１２号', '上海市徐汇区漕溪路****', '上海市徐汇区****'],
    ['上海市徐汇区漕溪路贰佰伍拾弄', '上海市徐汇区漕溪路****', '上海市徐汇区****'],
    ['上海市徐汇区漕溪路两百五十弄', '上海市徐汇区漕溪路****', '上海市徐汇区****'],
    ['北京市朝阳区二〇一巷', '北京市朝阳区****', '北京市朝阳区****'],
    ['北京市朝阳区建国路廿弄', '北京市朝阳区建国路****', '北京市朝阳区****'],
  ])('the hole again: %s → label %s, screen %s', (address, label, screen) => {
    expect(maskAddress(address, 'label')).toBe(label);
    expect(maskAddress(address)).toBe(screen);
  });

  it('allowed: a street without a number still prints on the label, and the divisions stay as named', () => {
    expect(maskAddress('上海市徐汇区漕溪路', 'label')).toBe('上海市徐汇区漕溪路');
    expect(maskAddress('上海市浦东新区张江镇碧波路690号3号楼501室', 'label')).toBe('上海市浦东新区张江镇碧波路****');
    expect(maskAddress('湖北省十堰市张湾区车城路八号', 'label')).toBe('湖北省十堰市张湾区车城路****');
  });

  it('allowed: a road named with a number stays a street on the label; the numbers after it do not', () => {
    expect(maskAddress('浙江省杭州市西湖区文三路90号东部软件园1号楼', 'label')).toBe('浙江省杭州市西湖区文三路****');
    expect(maskAddress('浙江省杭州市西湖区文三路九十号', 'label')).toBe('浙江省杭州市西湖区文三路****');
    expect(maskAddress('广东省广州市越秀区中山一路二百五十弄', 'label')).toBe('广东省广州市越秀区中山一路****');
    expect(maskAddress('新疆维吾尔自治区石河子市北四路', 'label')).toBe('新疆维吾尔自治区石河子市北四路');
    expect(maskAddress('北京市朝阳区八十八街', 'label')).toBe('北京市朝阳区****');
  });

  it('no segment holding a number in any form survives either mask (property)', () => {
    const segment = fc.record({ n: fc.integer({ min: 1, max: 9999 }), form: fc.constantFrom(...FORMS), suffix: fc.constantFrom(...SUFFIXES), tail: fc.constantFrom('', '甲', '东', '之一') });
    fc.assert(
      fc.property(fc.constantFrom(...PREFIXES), fc.constantFrom(...STREETS), fc.array(segment, { minLength: 1, maxLength: 4 }), (prefix, street, segments) => {
        const numbered = segments.map((s) => numberIn(s.n, s.form) + s.suffix + s.tail);
        const address = prefix + street + numbered.join('');
        for (const profile of ['label', 'screen'] as const) {
          const out = maskAddress(address, profile);
          expect(out.startsWith(prefix), `${address} → ${out}`).toBe(true);
          const after = out.slice(prefix.length);
          expect(NUMERAL_RE.test(after), `${address} → ${out}`).toBe(false);
          expect(after.endsWith(MASK), `${address} → ${out}`).toBe(true);
          for (const seg of numbered) expect(out.includes(seg)).toBe(false);
          // Masking a mask keeps it (labels stored earlier are masked again as they are read).
          expect(maskAddress(out, profile)).toBe(out);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('writes the numbers the property uses as people do', () => {
    expect(chinese(250, 'lower')).toBe('二百五十');
    expect(chinese(12, 'lower')).toBe('十二');
    expect(chinese(801, 'lower')).toBe('八百零一');
    expect(chinese(250, 'liang')).toBe('两百五十');
    expect(chinese(250, 'financial')).toBe('贰佰伍拾');
    expect(numberIn(201, 'digitwise')).toBe('二〇一');
    expect(numberIn(25, 'fullwidth')).toBe('２５');
  });
});
