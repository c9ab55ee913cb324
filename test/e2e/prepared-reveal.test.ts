/**
 * The reveal path's statements are prepared (docs/decisions/0016-prepared-reveal-statements.md):
 * their texts must not vary with how many requests share a turn, whether a case is named, or the
 * outcome, or every connection would prepare without end. Each reveal still answers as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { MAX_NAMES, preparedTexts } from '../../src/store/prepared.js';

const W = (n: number) => `SF71000000000${n}`;

describe.each(testBackends())('prepared reveal statements on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const reveal = (who: string, waybill: string, extra: Record<string, unknown> = {}) =>
    w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: tokens[who], body: { fields: ['recipient.phone'], purpose: 'delivery', ...extra } });
  const code = (r: { status: number; body: any }) => (r.status === 200 ? r.body.values['recipient.phone'] : r.body.error.code);

  beforeAll(async () => {
    w = await startTestWarden(backend, { config: { detect: false } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const id of ['c1', 'c2', 'c3']) {
      await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role: 'courier', site: 'OUT-1', password: `pw-${id}-secret` } });
      tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token;
    }
    for (let n = 1; n <= 6; n++) {
      const parties = { sender: { name: '欧阳小明', phone: '13812345678', address: '上海市浦东新区世纪大道100号' }, recipient: { name: '王小明', phone: `1390000222${n}`, address: '北京市朝阳区建国路88号' } };
      expect((await w.api('POST', '/api/v1/waybills', { token: admin, body: { waybill: W(n), origin_site: 'OUT-1', dest_site: 'OUT-1', ...parties } })).status).toBe(201);
      // c1 holds 1–3, c2 holds 4–6, c3 holds none.
      await w.api('POST', '/api/v1/assignments', { token: admin, body: { waybill: W(n), account: n <= 3 ? 'c1' : 'c2', task: 'delivery' } });
    }
  });
  afterAll(() => w?.dispose());

  it('one reveal alone, many in one turn, refused ones and a named case share the same statement texts', async () => {
    expect(code(await reveal('c1', W(1)))).toBe('13900002221');
    const warmed = preparedTexts();
    const together = await Promise.all([
      ...[1, 2, 3].map((n) => reveal('c1', W(n))),
      ...[4, 5, 6].map((n) => reveal('c2', W(n))),
      reveal('c3', W(1)),
      reveal('c2', W(1)),
      // A case named beside an assignment: another row shape for the case read, the same text
      // (refused since attack review 9: a courier holds no case, 400 case_not_held).
      reveal('c1', W(2), { case: 'CASE-NONE' }),
      reveal('c1', 'SF7100000000099'),
    ]);
    expect(together.map(code)).toEqual(['13900002221', '13900002222', '13900002223', '13900002224', '13900002225', '13900002226', 'no_work_context', 'no_work_context', 'case_not_held', 'not_found']);
    expect(code(await reveal('c2', W(4)))).toBe('13900002224');
    expect(preparedTexts()).toBe(warmed);
    expect(warmed).toBeLessThan(MAX_NAMES);
  });
});
