/**
 * The access report a person may be given (PIPL Art. 45): which of their records Warden holds,
 * masked, and which accounts saw them in full — when, for what work, on which basis — from the
 * audit trail. Built from a request (src/pipl/subjects.ts); reading it is audited.
 *
 * Released only for an access request a second analyst approved (attack review: a filed request
 * answered at once, so one analyst could look up any phone nationwide); any other read is refused
 * and audited.
 */
import type { Kysely } from 'kysely';
import type { Database, MaskedParty, MaskedWaybillJson } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/types.js';
import { AppError } from '../errors.js';
import type { Subjects } from './subjects.js';
import { FIELD_ZH, PARTY_ZH, PURPOSE_ZH, REQUEST_KIND_ZH, ROLE_ZH, chinaTime, qualifiedZh } from './labels.js';

/** Most records and reveals one report lists; `truncated` says when there were more. */
export const ACCESS_REPORT_LIMIT = 5000;

export interface AccessRecord {
  waybill: string;
  party: 'sender' | 'recipient';
  created_at: string;
  masked: MaskedParty | null;
  status: 'held' | 'erased' | 'partly_purged';
  /** Fields no longer held (retention purge or erasure). */
  gone: string[];
}

export interface AccessReveal {
  ts: string;
  account: string | null;
  role: string | null;
  site: string | null;
  waybill: string;
  fields: string[];
  purpose: string | null;
  basis: string | null;
  ticket: string | null;
  case: string | null;
}

export interface AccessReport {
  request: { id: string; kind: string; received_at: string; due_at: string };
  generated_at: string;
  erased: boolean;
  records: AccessRecord[];
  reveals: AccessReveal[];
  truncated: boolean;
}

const parse = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export function createAccessReports(deps: { db: Kysely<Database>; audit: AuditWriter; clock: Clock; subjects: Subjects }) {
  const { db, audit, clock, subjects } = deps;

  async function build(requestId: string): Promise<AccessReport> {
    const { request, subjects: ids, erased } = await subjects.subjectsOfRequest(requestId);
    const rows = ids.length
      ? await db
          .selectFrom('waybill_parties as p')
          .innerJoin('waybills as w', 'w.waybill', 'p.waybill')
          .select(['p.waybill', 'p.party', 'w.created_at', 'w.masked', 'p.erased_at', 'p.name_ct', 'p.phone_ct', 'p.address_ct', 'p.id_number_ct', 'p.id_bidx'])
          .where('p.subject_id', 'in', ids)
          .orderBy('w.created_at')
          .orderBy('p.waybill')
          .limit(ACCESS_REPORT_LIMIT + 1)
          .execute()
      : [];
    const records: AccessRecord[] = rows.slice(0, ACCESS_REPORT_LIMIT).map((r) => {
      const gone = (['name', 'phone', 'address'] as const).filter((f) => r[`${f}_ct`] === null) as string[];
      if (r.id_bidx !== null && r.id_number_ct === null) gone.push('id_number');
      const status = r.erased_at !== null ? 'erased' : gone.length ? 'partly_purged' : 'held';
      return { waybill: r.waybill, party: r.party, created_at: new Date(r.created_at).toISOString(), masked: r.erased_at !== null ? null : parse<MaskedWaybillJson>(r.masked)[r.party], status, gone };
    });
    const partiesOf = new Map<string, Set<string>>();
    for (const r of records) partiesOf.set(r.waybill, (partiesOf.get(r.waybill) ?? new Set()).add(r.party));
    const reveals: AccessReveal[] = [];
    const waybills = [...partiesOf.keys()];
    for (let i = 0; i < waybills.length; i += 500) {
      const chunk = waybills.slice(i, i + 500);
      const entries = await db
        .selectFrom('audit_log')
        .select(['ts', 'account', 'role', 'site', 'waybill', 'fields', 'purpose', 'ticket', 'detail'])
        .where('waybill', 'in', chunk)
        .where('kind', '=', 'access.reveal')
        .where('decision', '=', 'allowed')
        .orderBy('seq')
        .execute();
      for (const e of entries) {
        const mine = (e.fields ?? '').split(',').filter((f) => partiesOf.get(e.waybill!)?.has(f.split('.')[0]!));
        if (!mine.length) continue;
        const d = e.detail ? parse<Record<string, unknown>>(e.detail) : {};
        reveals.push({ ts: new Date(e.ts).toISOString(), account: e.account, role: e.role, site: e.site, waybill: e.waybill!, fields: mine, purpose: e.purpose, basis: typeof d.basis === 'string' ? d.basis : null, ticket: e.ticket, case: typeof d.case === 'string' ? d.case : null });
      }
    }
    reveals.sort((a, b) => a.ts.localeCompare(b.ts));
    return {
      request: { id: request.id, kind: request.kind, received_at: request.received_at, due_at: request.due_at },
      generated_at: new Date(clock.now()).toISOString(),
      erased,
      records,
      reveals: reveals.slice(0, ACCESS_REPORT_LIMIT),
      truncated: rows.length > ACCESS_REPORT_LIMIT || reveals.length > ACCESS_REPORT_LIMIT,
    };
  }

  /**
   * Builds the report of an approved access request and audits that it was read (request id and
   * counts, never its content); refuses (audited) a request that is not an approved access request.
   */
  async function read(requestId: string, actor: Actor, ctx: RequestContext): Promise<AccessReport> {
    const found = await subjects.get(requestId);
    if (!found) throw new AppError('not_found', `request ${requestId} does not exist`);
    const entry = { kind: 'pipl.access_report' as const, ts: new Date(clock.now()), account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId };
    const refusal = found.kind !== 'access'
      ? new AppError('conflict', `request ${requestId} is a ${found.kind} request; only an access request has a report`)
      : found.state !== 'completed' || !found.approved_by
        ? new AppError('approval_pending', `the report of request ${requestId} is released once another analyst approves the request (state ${found.state})`)
        : null;
    if (refusal) {
      await audit.append([{ ...entry, decision: 'denied', reason: refusal.code, detail: { request: requestId, actor: actorName(actor), state: found.state } }]);
      throw refusal;
    }
    const report = await build(requestId);
    await audit.append([{ ...entry, decision: 'ok', detail: { request: requestId, actor: actorName(actor), records: report.records.length, reveals: report.reveals.length } }]);
    return report;
  }

  return { read };
}
export type AccessReports = ReturnType<typeof createAccessReports>;

const STATUS_ZH = { held: '保存中', erased: '已删除（密钥已销毁）', partly_purged: '部分字段已按保存期限删除' } as const;
const cell = (s: string | null | undefined) => (s ?? '—').replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The report as Markdown, in Chinese (the person's copy). */
export function accessReportMarkdown(r: AccessReport): string {
  const out: string[] = [];
  out.push('# 个人信息查阅报告', '');
  out.push(`- 申请编号：${r.request.id}`, `- 申请类型：${REQUEST_KIND_ZH[r.request.kind] ?? r.request.kind}`, `- 受理时间：${chinaTime(r.request.received_at)}`, `- 答复期限：${chinaTime(r.request.due_at)}（15个工作日）`, `- 生成时间：${chinaTime(r.generated_at)}`, '');
  if (r.erased) out.push('> 您的个人信息已应您的请求删除：加密密钥已销毁，包括备份在内的所有副本均无法再解密。', '');
  out.push('## 一、我们保存的您的信息（已脱敏）', '');
  if (!r.records.length) out.push('未保存您的任何运单信息。', '');
  else {
    out.push('| 运单号 | 身份 | 时间 | 姓名 | 电话 | 地址 | 状态 |', '|---|---|---|---|---|---|---|');
    for (const x of r.records) {
      out.push(`| ${x.waybill} | ${PARTY_ZH[x.party]} | ${chinaTime(x.created_at)} | ${cell(x.masked?.name)} | ${cell(x.masked?.phone)} | ${cell(x.masked?.address)} | ${STATUS_ZH[x.status]}${x.gone.length && x.status !== 'erased' ? `（${x.gone.map((f) => FIELD_ZH[f]).join('、')}）` : ''} |`);
    }
    out.push('');
  }
  out.push('## 二、查看过您完整信息的账号', '');
  if (!r.reveals.length) out.push('没有任何账号查看过您的完整信息。', '');
  else {
    out.push('| 时间 | 账号 | 岗位 | 网点 | 运单号 | 查看内容 | 事由 | 依据 |', '|---|---|---|---|---|---|---|---|');
    for (const v of r.reveals) {
      out.push(`| ${chinaTime(v.ts)} | ${cell(v.account)} | ${cell(ROLE_ZH[v.role ?? ''] ?? v.role)} | ${cell(v.site)} | ${v.waybill} | ${v.fields.map(qualifiedZh).join('、')} | ${cell(PURPOSE_ZH[v.purpose ?? ''] ?? v.purpose)} | ${cell([v.basis, v.ticket && `工单 ${v.ticket}`, v.case && `调查 ${v.case}`].filter(Boolean).join('；') || null)} |`);
    }
    out.push('');
  }
  if (r.truncated) out.push(`> 记录较多，本报告仅列出前 ${ACCESS_REPORT_LIMIT} 条；完整记录可另行申请。`, '');
  out.push('如对上述处理有异议，您可以要求更正或删除（《个人信息保护法》第四十六、四十七条）。');
  return out.join('\n') + '\n';
}
