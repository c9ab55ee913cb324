/**
 * The breach report (PIPL Art. 57; the 2025 incident-reporting measures: a relatively major
 * incident is reported within 4 hours): from an alert, a case, or a list of accounts and a time
 * window, what leaked — which records and how many people, which fields, when, through which
 * accounts and devices, what was done — and who to notify, with a notice per channel. Drafted
 * in Chinese for the DPO to edit and file (Markdown, DOCX, PDF: document.ts, docx.ts, pdf.ts).
 *
 * Sources of exposure: Warden's own allowed reveals (the audit trail) and the allowed access
 * events upstream systems reported (activity events), both showing a field in full.
 *
 * Invariants: the report never holds plaintext — people are counted by their vault subject and
 * listed with their masked phone; an erased person is counted as such, with nothing shown.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database, MaskedWaybillJson } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { assertIdentifiers } from '../contracts/identifiers.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/types.js';
import { linkedAccounts, refuseSelf } from '../access/self.js';
import { PARTIES, type PartyName } from '../vault/vault.js';
import type { Doc } from './document.js';
import { FIELD_ZH, PARTY_ZH, chinaTime, qualifiedZh } from './labels.js';

export type BreachSource = { kind: 'alert'; alert: string } | { kind: 'case'; case: string } | { kind: 'accounts'; accounts: string[]; from: string; to: string };

export interface NotifyEntry {
  waybill: string;
  party: PartyName;
  /** The masked phone (e.g. 138****5678): who to notify, without the number itself. */
  masked_phone: string | null;
  fields: string[];
  erased: boolean;
}

export interface BreachReport {
  source: BreachSource;
  generated_at: string;
  window: { start: string; end: string };
  accounts: Array<{ account: string; role: string | null; site: string | null; status: string | null; records: number }>;
  devices: string[];
  records: number;
  people: number;
  erased_people: number;
  fields: Record<string, number>;
  actions: Array<{ ts: string; what: string; account: string | null }>;
  notify: NotifyEntry[];
  notices: { sms: string; phone_script: string };
}

const parse = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const CHUNK = 1000;
/** The route's bound of an account id. */
const ACCOUNT_MAX = 64;
const DAY = 86_400_000;
/** Most people the document lists by name of waybill; the JSON form carries all of them. */
export const DOC_NOTIFY_ROWS = 200;

export function createBreachReports(deps: { db: Kysely<Database>; audit: AuditWriter; clock: Clock }) {
  const { db, audit, clock } = deps;

  /**
   * The accounts of an account-list report are recorded in the trail (`detail.ref`): each must be
   * an identifier (attack review 10: a customer's phone was taken as an "account" and written
   * into the permanent trail) and name an account Warden knows — its own, or one upstream systems
   * reported activity for. 400 naming the field (`accounts.<i>`), never the value.
   */
  async function assertKnownAccounts(accounts: string[]): Promise<void> {
    assertIdentifiers(accounts.map((a, i) => ({ field: `accounts.${i}`, value: a, max: ACCOUNT_MAX })));
    const known = new Set((await db.selectFrom('accounts').select('id').where('id', 'in', accounts).execute()).map((r) => r.id));
    const rest = accounts.filter((a) => !known.has(a));
    if (rest.length) {
      for (const r of await db.selectFrom('activity_events').select('account').distinct().where('account', 'in', rest).execute()) if (r.account) known.add(r.account);
    }
    const i = accounts.findIndex((a) => !known.has(a));
    if (i >= 0) {
      throw new AppError('validation_failed', `accounts.${i} names no account Warden knows (neither a Warden account nor one upstream systems reported activity for)`, { fields: [{ field: `accounts.${i}`, code: 'unknown_account', message: 'no such account' }] });
    }
  }

  async function scope(source: BreachSource): Promise<{ accounts: string[]; start: Date; end: Date }> {
    if (source.kind === 'accounts') {
      const start = new Date(source.from);
      const end = new Date(source.to);
      if (!source.accounts.length || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) {
        throw new AppError('validation_failed', 'name at least one account and a window with from ≤ to (ISO times)');
      }
      const accounts = [...new Set(source.accounts)];
      await assertKnownAccounts(accounts);
      return { accounts, start, end };
    }
    if (source.kind === 'alert') {
      const a = await db.selectFrom('alerts').select(['account', 'ts', 'body']).where('id', '=', source.alert).executeTakeFirst();
      if (!a) throw new AppError('not_found', `alert ${source.alert} does not exist`);
      if (!a.account) throw new AppError('validation_failed', `alert ${source.alert} names no account; use a case or an account list`);
      const body = parse<{ window?: { start?: string; end?: string }; evidence?: { window?: { start?: string; end?: string } } }>(a.body);
      const w = body.window ?? body.evidence?.window;
      const ts = new Date(a.ts);
      return { accounts: [a.account], start: w?.start ? new Date(w.start) : new Date(ts.getTime() - DAY), end: w?.end ? new Date(w.end) : ts };
    }
    const c = await db.selectFrom('cases').select(['created_at', 'closed_at']).where('id', '=', source.case).executeTakeFirst();
    if (!c) throw new AppError('not_found', `case ${source.case} does not exist`);
    const accounts = (await db.selectFrom('case_accounts').select('account').where('case_id', '=', source.case).execute()).map((r) => r.account);
    if (!accounts.length) throw new AppError('validation_failed', `case ${source.case} names no account`);
    return { accounts, start: new Date(new Date(c.created_at).getTime() - 30 * DAY), end: c.closed_at ? new Date(c.closed_at) : new Date(clock.now()) };
  }

  /** waybill → exposed qualified fields, with who and which device. */
  async function exposures(accounts: string[], start: Date, end: Date) {
    const exposed = new Map<string, Set<string>>();
    const byAccount = new Map<string, Set<string>>();
    const devices = new Set<string>();
    const add = (account: string, device: string | null, waybill: string, fields: string[]) => {
      const s = exposed.get(waybill) ?? new Set<string>();
      for (const f of fields) {
        if (f.includes('.')) s.add(f);
        else for (const p of PARTIES) if (f !== 'id_number' || p === 'sender') s.add(`${p}.${f}`);
      }
      exposed.set(waybill, s);
      byAccount.set(account, (byAccount.get(account) ?? new Set()).add(waybill));
      if (device) devices.add(device);
    };
    const reveals = await db
      .selectFrom('audit_log')
      .select(['account', 'device', 'waybill', 'fields'])
      .where('kind', '=', 'access.reveal')
      .where('decision', '=', 'allowed')
      .where('account', 'in', accounts)
      .where('ts', '>=', start)
      .where('ts', '<=', end)
      .execute();
    for (const r of reveals) if (r.waybill && r.fields) add(r.account!, r.device, r.waybill, r.fields.split(','));
    // Upstream reveals are never about a Warden account (ingest refuses them: only the trail speaks
    // for Warden's staff); such a row was written around Warden and is not read (attack review 10).
    const events = await db
      .selectFrom('activity_events')
      .select(['account', 'body'])
      .where('type', '=', 'access')
      .where('account', 'in', accounts)
      .where(sql<boolean>`not exists (select 1 from accounts a where a.id = activity_events.account)`)
      .where('ts', '>=', start)
      .where('ts', '<=', end)
      .execute();
    for (const e of events) {
      const b = parse<{ result?: string; fields?: string[]; waybill?: string; waybills?: string[]; device?: string }>(e.body);
      if (b.result === 'denied' || !b.fields?.length) continue;
      for (const wb of [b.waybill, ...(b.waybills ?? [])]) if (wb) add(e.account!, b.device ?? null, wb, b.fields);
    }
    return { exposed, byAccount, devices };
  }

  async function build(source: BreachSource): Promise<BreachReport> {
    const { accounts, start, end } = await scope(source);
    const { exposed, byAccount, devices } = await exposures(accounts, start, end);
    const fields: Record<string, number> = {};
    const notify: NotifyEntry[] = [];
    const people = new Set<string>();
    const erasedPeople = new Set<string>();
    const waybills = [...exposed.keys()].sort();
    for (let i = 0; i < waybills.length; i += CHUNK) {
      const chunk = waybills.slice(i, i + CHUNK);
      const rows = await db
        .selectFrom('waybill_parties as p')
        .innerJoin('waybills as w', 'w.waybill', 'p.waybill')
        .select(['p.waybill', 'p.party', 'p.subject_id', 'p.erased_at', 'w.masked'])
        .where('p.waybill', 'in', chunk)
        .orderBy('p.waybill')
        .orderBy('p.party')
        .execute();
      for (const r of rows) {
        const mine = [...exposed.get(r.waybill)!].filter((q) => q.startsWith(`${r.party}.`)).sort();
        if (!mine.length) continue;
        for (const q of mine) fields[q] = (fields[q] ?? 0) + 1;
        const subject = Buffer.from(r.subject_id).toString('hex');
        const erased = r.erased_at !== null;
        people.add(subject);
        if (erased) erasedPeople.add(subject);
        notify.push({ waybill: r.waybill, party: r.party, masked_phone: erased ? null : parse<MaskedWaybillJson>(r.masked)[r.party].phone, fields: mine, erased });
      }
    }
    const accountRows = await db.selectFrom('accounts').select(['id', 'role', 'site', 'status']).where('id', 'in', accounts).execute();
    const report: BreachReport = {
      source,
      generated_at: new Date(clock.now()).toISOString(),
      window: { start: start.toISOString(), end: end.toISOString() },
      accounts: accounts.map((a) => {
        const row = accountRows.find((r) => r.id === a);
        return { account: a, role: row?.role ?? null, site: row?.site ?? null, status: row?.status ?? null, records: byAccount.get(a)?.size ?? 0 };
      }),
      devices: [...devices].sort(),
      records: exposed.size,
      people: people.size,
      erased_people: erasedPeople.size,
      fields,
      actions: await actionsTaken(accounts, start),
      notify,
      notices: { sms: '', phone_script: '' },
    };
    report.notices = notices(report);
    return report;
  }

  /** Suspensions, responses, key rotations and cases since the window opened. */
  async function actionsTaken(accounts: string[], since: Date) {
    const rows = await db
      .selectFrom('audit_log')
      .select(['ts', 'kind', 'account', 'detail'])
      .where('ts', '>=', since)
      .where((eb) =>
        eb.or([
          eb.and([eb('kind', 'in', ['admin.account_suspended', 'watch.response_applied', 'admin.device_revoked']), eb('account', 'in', accounts)]),
          eb('kind', '=', 'keys.rotated'),
          eb.and([eb('kind', '=', 'case.opened'), sql<boolean>`exists (select 1 from case_accounts ca where ca.case_id = audit_log.detail->>'case' and ca.account in (${sql.join(accounts)}))`]),
        ]),
      )
      .where('decision', '=', 'ok')
      .orderBy('seq')
      .limit(500)
      .execute();
    const WHAT: Record<string, string> = { 'admin.account_suspended': '停用账号', 'watch.response_applied': '自动处置（限制/停用）', 'admin.device_revoked': '吊销设备', 'keys.rotated': '轮换加密密钥', 'case.opened': '立案调查' };
    return rows.map((r) => ({ ts: new Date(r.ts).toISOString(), what: WHAT[r.kind] ?? r.kind, account: r.kind === 'keys.rotated' ? null : r.account }));
  }

  async function read(source: BreachSource, actor: Actor, ctx: RequestContext): Promise<BreachReport> {
    const ref = source.kind === 'alert' ? source.alert : source.kind === 'case' ? source.case : source.accounts.join(',');
    // Not about the reader (nor an account linked to it by creation): the report lists the
    // investigation's actions, which its subject does not read (attack review 8; cases.ts `read`).
    const me = actorAccount(actor);
    if (me) {
      const own = new Set([me, ...(await linkedAccounts(db, me))]);
      if ((await scope(source)).accounts.some((a) => own.has(a))) {
        await refuseSelf(audit, { kind: 'pipl.breach_report', ts: new Date(clock.now()), account: me, detail: { source: source.kind, ref: ref.slice(0, 500) } }, actor, ctx, 'draft a breach report about yourself');
      }
    }
    const report = await build(source);
    await audit.append([{ kind: 'pipl.breach_report', ts: new Date(clock.now()), decision: 'ok', account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor), source: source.kind, ref: ref.slice(0, 500), records: report.records, people: report.people } }]);
    return report;
  }

  return { build, read };
}
export type BreachReports = ReturnType<typeof createBreachReports>;

function fieldList(fields: Record<string, number>): string {
  const kinds = new Set(Object.keys(fields).map((q) => q.split('.')[1]!));
  return [...kinds].map((f) => FIELD_ZH[f] ?? f).join('、') || '无';
}

/** The notices per channel (Network Data Security Regulations: phone, SMS, IM, e-mail or notice). */
export function notices(r: Pick<BreachReport, 'window' | 'fields' | 'actions'>): { sms: string; phone_script: string } {
  const what = fieldList(r.fields);
  const when = `${chinaTime(r.window.start)}至${chinaTime(r.window.end)}`;
  const done = r.actions.length ? [...new Set(r.actions.map((a) => a.what))].join('、') : '已开展调查';
  return {
    sms: `【公司名称】尊敬的客户：经核查，${when}期间，您快递运单中的${what}可能被内部人员违规查看。我们已${done}，并向监管部门报告。请警惕冒充快递、客服的诈骗电话和短信，勿透露验证码。咨询请致电客服热线【热线号码】。`,
    phone_script: [
      '您好，我是【公司名称】个人信息保护负责人/客服，工号【工号】。',
      `我们来电告知：经核查，${when}期间，您寄递或收取快递时登记的${what}可能被我司内部人员违规查看。`,
      `我们已采取以下措施：${done}，并已向监管部门报告。`,
      '可能的影响：您可能接到冒充快递、客服或其他机构的诈骗电话或短信。',
      '建议：不要向来电者透露验证码、银行卡信息，不要点击陌生链接；如有疑问请拨打【热线号码】。',
      '您有权查阅、复制、更正或删除我们保存的您的个人信息，可通过【渠道】提出申请。请问您还有什么需要了解的吗？',
    ].join('\n'),
  };
}

/** The draft the DPO edits and files, in Chinese. */
export function breachReportDoc(r: BreachReport): Doc {
  const src = r.source.kind === 'alert' ? `告警 ${r.source.alert}` : r.source.kind === 'case' ? `调查案件 ${r.source.case}` : `账号 ${r.source.accounts.join('、')} 在指定时段的操作`;
  const fieldRows = Object.entries(r.fields).sort().map(([q, n]) => [qualifiedZh(q), String(n)]);
  return {
    title: '个人信息安全事件报告',
    blocks: [
      { kind: 'heading', level: 1, text: '个人信息安全事件报告（草稿）' },
      { kind: 'note', text: '依据《个人信息保护法》第五十七条及网络安全事件报告相关规定起草；较大及以上事件须在4小时内报告属地监管部门。本稿由 Warden 根据审计记录自动生成，请核实后填报。' },
      { kind: 'list', items: [`生成时间：${chinaTime(r.generated_at)}`, `事件来源：${src}`, `事件时段：${chinaTime(r.window.start)} 至 ${chinaTime(r.window.end)}（北京时间）`] },
      { kind: 'heading', level: 2, text: '一、事件概况' },
      { kind: 'list', items: [`涉及运单记录：${r.records} 条`, `涉及个人：${r.people} 人（其中 ${r.erased_people} 人此前已应其请求删除信息，不再可识别）`, `涉及信息种类：${fieldList(r.fields)}`] },
      { kind: 'table', header: ['信息项', '涉及记录数'], rows: fieldRows.length ? fieldRows : [['无', '0']] },
      { kind: 'heading', level: 2, text: '二、涉及的账号与设备' },
      { kind: 'table', header: ['账号', '岗位', '网点', '当前状态', '查看记录数'], rows: r.accounts.map((a) => [a.account, a.role ?? '—', a.site ?? '—', a.status === 'suspended' ? '已停用' : a.status === 'active' ? '正常' : '—', String(a.records)]) },
      { kind: 'paragraph', text: `使用的设备：${r.devices.join('、') || '无记录'}` },
      { kind: 'heading', level: 2, text: '三、已采取的措施' },
      r.actions.length ? { kind: 'table', header: ['时间', '措施', '对象账号'], rows: r.actions.map((a) => [chinaTime(a.ts), a.what, a.account ?? '—']) } : { kind: 'paragraph', text: '尚无记录的处置措施。' },
      { kind: 'heading', level: 2, text: '四、可能造成的危害' },
      { kind: 'paragraph', text: `泄露的${fieldList(r.fields)}可能被用于电信诈骗、骚扰或冒充快递理赔等。` },
      { kind: 'heading', level: 2, text: '五、需通知的个人' },
      { kind: 'paragraph', text: `共 ${r.notify.filter((n) => !n.erased).length} 条通知对象（按运单及寄/收件人计，号码已脱敏；发送时由系统按审计规则取用完整号码）。${r.notify.length > DOC_NOTIFY_ROWS ? `本稿列出前 ${DOC_NOTIFY_ROWS} 条，完整名单见 JSON 附件。` : ''}` },
      { kind: 'table', header: ['运单号', '身份', '电话（脱敏）', '涉及信息'], rows: r.notify.slice(0, DOC_NOTIFY_ROWS).map((n) => [n.waybill, PARTY_ZH[n.party]!, n.erased ? '（已删除）' : n.masked_phone ?? '—', n.fields.map(qualifiedZh).join('、')]) },
      { kind: 'heading', level: 2, text: '六、通知文本' },
      { kind: 'heading', level: 3, text: '短信' },
      { kind: 'paragraph', text: r.notices.sms },
      { kind: 'heading', level: 3, text: '电话话术' },
      ...r.notices.phone_script.split('\n').map((t) => ({ kind: 'paragraph' as const, text: t })),
    ],
  };
}
