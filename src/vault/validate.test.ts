import { describe, expect, it } from 'vitest';
import { idNumberCheckChar } from './id-number.js';
import {
  normalizeMobile,
  normalizePhone,
  normalizeWaybill,
  validateIdNumber,
  validateWaybillInput,
  type FieldError,
} from './validate.js';

const NOW = new Date('2025-06-01T00:00:00Z');

/** Builds an ID number with a correct check character. */
function id(body17: string): string {
  return body17 + idNumberCheckChar(body17);
}

describe('normalizeMobile', () => {
  it.each([
    ['13812345678', '13812345678'],
    ['+8613812345678', '13812345678'],
    ['+86 138 1234 5678', '13812345678'],
    ['+86-138-1234-5678', '13812345678'],
    ['(+86) 138-1234-5678', '13812345678'],
    ['8613812345678', '13812345678'],
    ['0086 13812345678', '13812345678'],
    ['  138 1234 5678  ', '13812345678'],
    ['１３８１２３４５６７８', '13812345678'],
    ['19912345678', '19912345678'],
    ['17012345678-1234', '17012345678-1234'],
    ['17012345678转12', '17012345678-12'],
  ])('accepts %s as %s', (input, expected) => {
    expect(normalizeMobile(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    '12812345678', // second digit must be 3–9
    '1381234567', // 10 digits
    '138123456789', // 12 digits
    '+85213812345678', // not +86
    '138-1234-567a',
    '138.1234.5678',
    '010-12345678', // a landline is not a mobile
    '13812345678-12345', // mobile extension is at most 4 digits
    '',
    '   ',
  ])('refuses %j', (input) => {
    const r = normalizeMobile(input);
    expect(r.ok).toBe(false);
  });

  it('refuses non-strings with invalid_type', () => {
    expect(normalizeMobile(13812345678)).toMatchObject({ ok: false, error: { code: 'invalid_type' } });
    expect(normalizeMobile(undefined)).toMatchObject({ ok: false, error: { code: 'invalid_type' } });
  });
});

describe('normalizePhone', () => {
  it.each([
    ['010-12345678', 'landline', '010-12345678'],
    ['(010) 1234 5678', 'landline', '010-12345678'],
    ['01012345678', 'landline', '010-12345678'],
    ['+86 10 12345678', 'landline', '010-12345678'],
    ['0755-1234567', 'landline', '0755-1234567'],
    ['0755 8765 4321', 'landline', '0755-87654321'],
    ['0755-87654321-123', 'landline', '0755-87654321-123'],
    ['0755-87654321转8001', 'landline', '0755-87654321-8001'],
    ['0755-87654321 ext. 8001', 'landline', '0755-87654321-8001'],
    ['+86 755 87654321', 'landline', '0755-87654321'],
    ['400-123-4567', 'hotline', '400-123-4567'],
    ['8001234567', 'hotline', '800-123-4567'],
    ['+86 138 1234 5678', 'mobile', '13812345678'],
  ])('accepts %s as a %s %s', (input, kind, value) => {
    expect(normalizePhone(input)).toEqual({ ok: true, value: { kind, value } });
  });

  it.each(['12345678', '010-1234567', '010-02345678', '0755-123456', '0755-123456789', '000-12345678', 'call me'])(
    'refuses %j',
    (input) => expect(normalizePhone(input).ok).toBe(false),
  );

  it('never echoes the input in its error', () => {
    const r = normalizePhone('0755-999999999999');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).not.toMatch(/9999/);
  });
});

describe('validateIdNumber', () => {
  it.each(['11010519491231002X', '310118199003071238', '110101200002290018'])(
    'accepts the brief test vector %s',
    (v) => expect(validateIdNumber(v, { now: NOW })).toMatchObject({ ok: true, value: { value: v, upgradedFrom15: false } }),
  );

  it('accepts a lowercase x and stores it uppercase', () => {
    expect(validateIdNumber('11010519491231002x', { now: NOW })).toMatchObject({
      ok: true,
      value: { value: '11010519491231002X', birthDate: '1949-12-31' },
    });
  });

  it('removes whitespace and folds full-width characters', () => {
    expect(validateIdNumber(' 110105 19491231 002X ', { now: NOW })).toMatchObject({ ok: true, value: { value: '11010519491231002X' } });
    expect(validateIdNumber('１１０１０５１９４９１２３１００２Ｘ', { now: NOW })).toMatchObject({ ok: true });
  });

  it('refuses a wrong check character without saying which one was expected', () => {
    const r = validateIdNumber('110105194912310021', { now: NOW });
    expect(r).toEqual({ ok: false, error: { code: 'invalid_id_check_char', message: 'check character does not match' } });
  });

  it('refuses 19490230 as a birth date even with a correct check character', () => {
    const v = id('11010519490230002');
    expect(validateIdNumber(v, { now: NOW })).toMatchObject({ ok: false, error: { code: 'invalid_id_birth_date' } });
  });

  it('knows leap years: 2000-02-29 yes, 1900-02-29 and 2023-02-29 no', () => {
    expect(validateIdNumber(id('11010120000229001'), { now: NOW }).ok).toBe(true);
    expect(validateIdNumber(id('11010119000229001'), { now: NOW }).ok).toBe(false);
    expect(validateIdNumber(id('11010120230229001'), { now: NOW }).ok).toBe(false);
  });

  it('refuses birth dates before 1900 and in the future (China Standard Time)', () => {
    expect(validateIdNumber(id('11010118991231001'), { now: NOW })).toMatchObject({ ok: false, error: { code: 'invalid_id_birth_date' } });
    expect(validateIdNumber(id('11010120250602001'), { now: NOW })).toMatchObject({ ok: false, error: { code: 'invalid_id_birth_date' } });
    expect(validateIdNumber(id('11010119000101001'), { now: NOW }).ok).toBe(true);
    // 2025-06-01T00:00Z is already 08:00 on 1 June in Beijing: a baby born today is valid
    expect(validateIdNumber(id('11010120250601001'), { now: NOW }).ok).toBe(true);
    // 16:30Z on 31 May is 00:30 on 1 June in Beijing
    expect(validateIdNumber(id('11010120250601001'), { now: new Date('2025-05-31T16:30:00Z') }).ok).toBe(true);
    expect(validateIdNumber(id('11010120250601001'), { now: new Date('2025-05-31T15:30:00Z') }).ok).toBe(false);
  });

  it.each(['00010519491231002', '19010519491231002', '24010519491231002', '99910519491231002', '72010519491231002'])(
    'refuses the unknown region prefix of %s',
    (body) => expect(validateIdNumber(id(body), { now: NOW })).toMatchObject({ ok: false, error: { code: 'invalid_id_region' } }),
  );

  it('accepts HK/MO/TW residence permits (81/82/83) and foreign permanent resident cards (9 + province)', () => {
    expect(validateIdNumber(id('81000019900101001'), { now: NOW }).ok).toBe(true);
    expect(validateIdNumber(id('83000019900101001'), { now: NOW }).ok).toBe(true);
    expect(validateIdNumber(id('93115619900101001'), { now: NOW }).ok).toBe(true);
    expect(validateIdNumber(id('93115619900101001'), { now: NOW, allowForeignPermanent: false }).ok).toBe(false);
  });

  it.each(['1101051949123100', '1101051949123100XX', '11010519491231002Y', 'X10105194912310021', '11010519491231X021'])(
    'refuses the malformed %s',
    (v) => expect(validateIdNumber(v, { now: NOW })).toMatchObject({ ok: false, error: { code: 'invalid_id_format' } }),
  );

  it('refuses 15-digit numbers unless allowed, then upgrades them to 18 characters', () => {
    expect(validateIdNumber('110105491231002', { now: NOW })).toMatchObject({ ok: false, error: { code: 'id15_not_allowed' } });
    expect(validateIdNumber('110105491231002', { now: NOW, allow15: true })).toEqual({
      ok: true,
      value: { value: '11010519491231002X', birthDate: '1949-12-31', upgradedFrom15: true },
    });
    expect(validateIdNumber('110105490230002', { now: NOW, allow15: true })).toMatchObject({ ok: false, error: { code: 'invalid_id_birth_date' } });
  });

  it('refuses non-strings and empty input', () => {
    expect(validateIdNumber(11010519491231, { now: NOW })).toMatchObject({ ok: false, error: { code: 'invalid_type' } });
    expect(validateIdNumber('  ', { now: NOW })).toMatchObject({ ok: false, error: { code: 'required' } });
  });

  it('never puts any part of the number in an error message', () => {
    const inputs = ['110105194912310021', id('11010519490230002'), id('24010519491231002'), '1101051949123100', '110105491231002'];
    for (const v of inputs) {
      const r = validateIdNumber(v, { now: NOW });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        for (const part of ['110105', '1949', '1231', '0230', '002', '491231']) expect(r.error.message).not.toContain(part);
      }
    }
  });
});

describe('normalizeWaybill', () => {
  it.each([
    ['SF1234567890123', 'SF1234567890123'],
    [' sf1234567890123 ', 'SF1234567890123'],
    ['773012345678', '773012345678'],
    ['JDVA12345678901', 'JDVA12345678901'],
  ])('accepts %j as %s', (input, expected) => expect(normalizeWaybill(input)).toEqual({ ok: true, value: expected }));

  it.each(['SF123456789', 'ABCDE1234567890', 'SF-1234567890123', 'SF1234567890123456789012', '1234567890123SF'])(
    'refuses %j',
    (input) => expect(normalizeWaybill(input)).toMatchObject({ ok: false, error: { code: 'invalid_waybill' } }),
  );
});

function body(over: Record<string, unknown> = {}) {
  return {
    waybill: 'SF1234567890123',
    origin_site: 'BJ-CY-01',
    dest_site: 'SH-PD-02',
    sender: { name: '王小明', phone: '+86 138 1234 5678', address: '北京市朝阳区建国路88号', id_number: '11010519491231002x' },
    recipient: { name: '欧阳娜娜', phone: '139-8765-4321', address: '上海市浦东新区世纪大道100号' },
    ...over,
  };
}

function fields(errors: FieldError[]): string[] {
  return errors.map((e) => `${e.field}:${e.code}`).sort();
}

describe('validateWaybillInput', () => {
  it('returns the normalised record', () => {
    expect(validateWaybillInput(body(), { now: NOW })).toEqual({
      ok: true,
      value: {
        waybill: 'SF1234567890123',
        origin_site: 'BJ-CY-01',
        dest_site: 'SH-PD-02',
        sender: { name: '王小明', phone: '13812345678', address: '北京市朝阳区建国路88号', id_number: '11010519491231002X' },
        recipient: { name: '欧阳娜娜', phone: '13987654321', address: '上海市浦东新区世纪大道100号' },
      },
    });
  });

  it('treats the sender ID number as optional, and an empty one as absent', () => {
    const { id_number: _drop, ...sender } = body().sender;
    const r1 = validateWaybillInput(body({ sender }), { now: NOW });
    expect(r1.ok && r1.value.sender).toEqual({ name: '王小明', phone: '13812345678', address: '北京市朝阳区建国路88号' });
    const r2 = validateWaybillInput(body({ sender: { ...sender, id_number: '' } }), { now: NOW });
    expect(r2.ok && 'id_number' in r2.value.sender).toBe(false);
  });

  it('accepts a landline for a business sender, and refuses it when configured mobile-only', () => {
    const b = body({ sender: { name: '某某科技有限公司', phone: '0755-87654321-123', address: '广东省深圳市南山区科技园' } });
    const r = validateWaybillInput(b, { now: NOW });
    expect(r.ok && r.value.sender.phone).toBe('0755-87654321-123');
    const strict = validateWaybillInput(b, { now: NOW, senderLandline: false });
    expect(strict.ok || fields(strict.errors)).toEqual(['sender.phone:invalid_phone']);
  });

  it('collects every field error at once, with field paths and codes', () => {
    const r = validateWaybillInput(
      {
        waybill: 'SF12',
        origin_site: '',
        dest_site: 'bad site!',
        sender: { name: '', phone: '12345', address: '北京', id_number: '110105194912310021' },
        recipient: { name: 'a\u0000b', phone: 13812345678 },
      },
      { now: NOW },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(fields(r.errors)).toEqual(
      [
        'waybill:invalid_waybill',
        'origin_site:required',
        'dest_site:invalid_site',
        'sender.name:required',
        'sender.phone:invalid_phone',
        'sender.address:too_short',
        'sender.id_number:invalid_id_check_char',
        'recipient.name:invalid_characters',
        'recipient.phone:invalid_type',
        'recipient.address:required',
      ].sort(),
    );
  });

  it('refuses missing parties, wrong types and non-object bodies', () => {
    expect(validateWaybillInput(null)).toMatchObject({ ok: false, errors: [{ code: 'invalid_type' }] });
    expect(validateWaybillInput([body()])).toMatchObject({ ok: false, errors: [{ code: 'invalid_type' }] });
    const r = validateWaybillInput(body({ sender: undefined, recipient: 'x', waybill: 5 }));
    expect(r.ok || fields(r.errors)).toEqual(['recipient:invalid_type', 'sender:required', 'waybill:invalid_type']);
  });

  it('refuses unknown fields, naming them only when the key is an identifier', () => {
    const r = validateWaybillInput({
      ...body(),
      extra: 1,
      '13812345678': 'x',
      recipient: { ...body().recipient, id_number: '11010519491231002X' },
    }, { now: NOW });
    expect(r.ok || fields(r.errors)).toEqual(['<unknown>:unknown_field', 'extra:unknown_field', 'recipient.id_number:unknown_field']);
  });

  it('enforces name and address lengths in characters, not bytes', () => {
    const ok = validateWaybillInput(body({ recipient: { name: '王'.repeat(64), phone: '13987654321', address: '地'.repeat(200) } }), { now: NOW });
    expect(ok.ok).toBe(true);
    const bad = validateWaybillInput(body({ recipient: { name: '王'.repeat(65), phone: '13987654321', address: '地'.repeat(201) } }), { now: NOW });
    expect(bad.ok || fields(bad.errors)).toEqual(['recipient.address:too_long', 'recipient.name:too_long']);
  });

  it('refuses bidi overrides and zero-width characters in names, and names without letters', () => {
    const r1 = validateWaybillInput(body({ recipient: { name: '王\u202e明', phone: '13987654321', address: '上海市浦东新区' } }), { now: NOW });
    expect(r1.ok || fields(r1.errors)).toEqual(['recipient.name:invalid_characters']);
    const r2 = validateWaybillInput(body({ recipient: { name: '12345', phone: '13987654321', address: '上海市浦东新区' } }), { now: NOW });
    expect(r2.ok || fields(r2.errors)).toEqual(['recipient.name:invalid_characters']);
  });

  it('collapses whitespace in names and addresses', () => {
    const r = validateWaybillInput(body({ recipient: { name: '  John   Smith ', phone: '13987654321', address: '上海市 浦东新区\n世纪大道 100号' } }), { now: NOW });
    expect(r.ok && r.value.recipient).toEqual({ name: 'John Smith', phone: '13987654321', address: '上海市 浦东新区 世纪大道 100号' });
  });

  it('never puts a submitted value in any error', () => {
    const secrets = {
      waybill: 'SF99887766',
      origin_site: '13812345678 site',
      dest_site: 'x'.repeat(80),
      sender: { name: '王\u0007小明', phone: '1381234567', address: '北京', id_number: '110105194912310021' },
      recipient: { name: 'N'.repeat(70), phone: '+1 415 555 0100', address: 'A'.repeat(300), secret_note: 'call 13900001111' },
    };
    const r = validateWaybillInput(secrets, { now: NOW });
    expect(r.ok).toBe(false);
    const text = JSON.stringify(r);
    for (const needle of ['99887766', '13812345678', '1381234567', '王', '小明', '110105', '1949', '415', '555', 'NNNN', 'AAAA', 'xxxx', '13900001111', '北京']) {
      expect(text).not.toContain(needle);
    }
  });
});
