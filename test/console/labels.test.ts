/** The console's pure label helpers: server codes in the viewer's language, bulk outcomes, alert summaries. */
import { describe, expect, it } from 'vitest';
import i18next from 'i18next';
import en from '../../web/src/locales/en.js';
import zh from '../../web/src/locales/zh-CN.js';
import { alertSummary, bulkText, decisionText, errorParts, label, summarizeBulk, type T } from '../../web/src/labels.js';
import { isNotAnalystRefusal } from '../../web/src/api/refusal.js';

async function translator(lng: 'en' | 'zh-CN'): Promise<T> {
  const i = i18next.createInstance();
  await i.init({ resources: { en: { translation: en }, 'zh-CN': { translation: zh } }, lng, fallbackLng: 'en', interpolation: { escapeValue: false } });
  return i.t.bind(i) as unknown as T;
}

describe('label: a server code in the viewer\'s language', () => {
  it('translates known codes (response actions, detectors, audit kinds with dots, decisions)', async () => {
    const t = await translator('zh-CN');
    expect(label(t, 'responses', 'none')).toBe('无');
    expect(label(t, 'responses', 'suspend')).toBe('停用');
    expect(label(t, 'detectorNames', 'credential')).toBe('凭据攻击');
    expect(label(t, 'kinds', 'auth.device_enrolled')).toBe('登记设备');
    expect(label(t, 'kinds', 'admin.account_created')).toBe('创建账号');
    expect(decisionText(t, 'denied', 'not_found')).toBe('拒绝 · 运单不存在');
    expect(decisionText(t, 'ok', null)).toBe('成功');
  });
  it('falls back to the raw code for one the catalogue does not know, and to nothing for none', async () => {
    const t = await translator('zh-CN');
    expect(label(t, 'kinds', 'future.kind_added_later')).toBe('future.kind_added_later');
    expect(label(t, 'detectorNames', 'brand_new_detector')).toBe('brand_new_detector');
    expect(decisionText(t, 'maybe', 'odd_reason')).toBe('maybe · odd_reason');
    expect(label(t, 'responses', null)).toBe('');
  });
});

describe('errorParts: the code\'s message, the server sentence apart', () => {
  it('zh: the translated message, the English sentence only as the detail', async () => {
    const t = await translator('zh-CN');
    const p = errorParts(t, 'self_action', 'you may not triage an alert about an account you approved');
    expect(p.text).toBe('不能对自己的账号、告警、案件或申请执行操作');
    expect(p.text).not.toMatch(/approved/);
    expect(p.detail).toBe('you may not triage an alert about an account you approved');
  });
  it('an unknown code and a bare 5xx are still in the viewer\'s language', async () => {
    const t = await translator('zh-CN');
    expect(errorParts(t, 'brand_new_code', 'something').text).toBe('服务器拒绝了请求（brand_new_code）');
    expect(errorParts(t, 'http_502', 'Bad Gateway').text).toBe('服务器未能应答，请稍后再试');
  });
});

describe('summarizeBulk: what one bulk call did', () => {
  const results = [
    { id: 'a1', ok: true },
    { id: 'a2', ok: false, error: { code: 'self_action', message: 'you approved this account' } },
    { id: 'a3', ok: true },
    { id: 'a4', ok: false, error: { code: 'not_found', message: 'no alert a4' } },
    { id: 'a5', ok: false, error: { code: 'self_action', message: 'you approved this account' } },
  ];
  it('counts the done and the refused, grouped by code', () => {
    const s = summarizeBulk(results);
    expect(s.done).toBe(2);
    expect(s.refused).toBe(3);
    expect(s.byCode.map((g) => [g.code, g.ids])).toEqual([['self_action', ['a2', 'a5']], ['not_found', ['a4']]]);
  });
  it('never says "Done" alone when some were refused (attack review 10, F3), in either language', async () => {
    const zhT = await translator('zh-CN');
    expect(bulkText(zhT, summarizeBulk(results))).toBe('已完成 2 条; 2 条被拒绝：不能对自己的账号、告警、案件或申请执行操作; 1 条被拒绝：未找到');
    const enT = await translator('en');
    const text = bulkText(enT, summarizeBulk(results));
    expect(text).toMatch(/^2 done; 2 refused: You cannot act/);
    expect(text).not.toBe('Done');
  });
  it('all done, or no results at all', () => {
    expect(summarizeBulk([{ id: 'x', ok: true }])).toEqual({ done: 1, refused: 0, byCode: [] });
    expect(summarizeBulk(undefined)).toEqual({ done: 0, refused: 0, byCode: [] });
  });
});

describe('alertSummary: a localized line from detector and evidence', () => {
  it('builds the line for a known detector with enough evidence', async () => {
    const t = await translator('zh-CN');
    const a = { detector: 'credential', account: 'c-0001', summary: 'Account c-0001 logged in after 3 failed attempts in 10 min, from device d1 it never used.', evidence: { failures_before: 3, first_seen_device: true, window_minutes: 10 } };
    expect(alertSummary(t, a)).toBe('账号 c-0001 在 10 分钟内失败 3 次后登录成功，使用的是从未用过的设备。');
    const canary = { detector: 'canary_touched', account: 'c-2', summary: 'x', evidence: { action: 'reveal', waybills: ['W1', 'W2'] } };
    expect(alertSummary(t, canary)).toBe('账号 c-2 通过明文查看看到了 2 条诱饵记录；真实业务不会触及它们。');
  });
  it('falls back to the server summary for an unknown detector or thin evidence', async () => {
    const t = await translator('zh-CN');
    expect(alertSummary(t, { detector: 'rings', account: 'c-1', summary: 'server text', evidence: {} })).toBe('server text');
    expect(alertSummary(t, { detector: 'credential', account: 'c-1', summary: 'server text', evidence: {} })).toBe('server text');
    expect(alertSummary(t, { detector: 'harvesting', account: 'c-1', summary: 'server text' })).toBe('server text');
  });
});

describe('isNotAnalystRefusal: which refusals end the console session (attack review 10, F6)', () => {
  it('a 403 naming a role other than an analyst\'s, or the caller\'s own suspension: the account may not use the console', () => {
    expect(isNotAnalystRefusal(403, 'forbidden', 'the courier role may not call this endpoint')).toBe(true);
    expect(isNotAnalystRefusal(403, 'forbidden', 'the it_admin role may not call this endpoint')).toBe(true);
    expect(isNotAnalystRefusal(403, 'account_suspended', 'this account is suspended')).toBe(true);
  });
  it('any other refusal is about that call only: the analyst stays signed in', () => {
    expect(isNotAnalystRefusal(403, 'forbidden', 'the security_analyst role may not call this endpoint')).toBe(false);
    expect(isNotAnalystRefusal(403, 'forbidden', 'the admin token may not set a verdict on an alert')).toBe(false);
    expect(isNotAnalystRefusal(403, 'self_action', 'the courier role may not call this endpoint')).toBe(false);
    expect(isNotAnalystRefusal(403, 'step_up_required', 'sign in again')).toBe(false);
    expect(isNotAnalystRefusal(500, 'internal', 'the courier role may not call this endpoint')).toBe(false);
    expect(isNotAnalystRefusal(0, 'network', 'the server cannot be reached')).toBe(false);
  });
});
