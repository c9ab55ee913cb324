/**
 * The periodic compliance audit report (PIPL Art. 54) and impact-assessment records (Art. 55–56).
 *
 * The report, for a period: who may see what (the access policy in force and its changes, who
 * was given privileged roles), reveal volumes by role and basis, unexplained reveals, refusals
 * (quota refusals apart), alerts and their outcomes, key rotations, data-subject requests and
 * retention runs, and the audit chain's verification and witness status. All from the audit
 * trail and the stores, no personal data.
 *
 * "Unexplained" reveals: allowed reveals that no business process backs — purpose `other`, or
 * only the privileged `city` basis with neither ticket nor case. They are what an auditor asks
 * the revealing account to explain.
 *
 * PIA records are kept at least 3 years (`keep_until`); nothing here deletes them.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { VerifyResult } from '../audit/verify.js';
import { AppError } from '../errors.js';
import { refuseSameHand } from '../access/self.js';
import { trailRequester } from '../audit/requested-by.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/types.js';
import type { Doc } from './document.js';
import { PURPOSE_ZH, REQUEST_KIND_ZH, ROLE_ZH, STATE_ZH, chinaTime } from './labels.js';
import type { RetentionPolicy } from './retention.js';

export const PIA_KEEP_YEARS = 3;

export interface ComplianceReport {
  period: { from: string; to: string };
  generated_at: string;
  policy: { in_force_since: string | null; changes: Array<{ ts: string; source: string | null; actor: string | null }> };
  privileged_changes: Array<{ ts: string; kind: string; account: string | null; actor: string | null }>;
  reveals: { total: number; by_role_basis: Array<{ role: string; basis: string; count: number }> };
  unexplained: { total: number; by_account: Array<{ account: string; role: string | null; count: number; purposes: string[] }> };
  refusals: { total: number; by_reason: Record<string, number>; quota: number };
  alerts: Array<{ severity: string; status: string; verdict: string | null; count: number }>;
  key_rotations: Array<{ ts: string; actor: string | null }>;
  subject_requests: Array<{ kind: string; state: string; count: number; overdue: number }>;
  retention: { policy: RetentionPolicy; runs: number; purged: Record<string, number> };
  audit: { ok: boolean; entries: number; heads_verified: number; reason: string | null; witnesses: Array<{ sink: string; ok: boolean; heads: number }> };
  pia: Array<{ id: string; title: string; risk: string; created_at: string; reviewed_at: string | null; keep_until: string }>;
}

export interface ComplianceDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  verify: () => Promise<VerifyResult>;
  retentionPolicy: RetentionPolicy;
}

const parse = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const iso = (v: Date | string) => new Date(v).toISOString();

export function createCompliance(deps: ComplianceDeps) {
  const { db, audit, clock } = deps;

  async function build(from: Date, to: Date): Promise<ComplianceReport> {
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to < from) throw new AppError('validation_failed', 'the period needs from ≤ to (ISO times)');
    const inPeriod = db.selectFrom('audit_log').where('ts', '>=', from).where('ts', '<=', to);
    const loaded = await db.selectFrom('audit_log').select(['ts']).where('kind', '=', 'policy.loaded').where('ts', '<=', to).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const changes = await inPeriod.select(['ts', 'detail', 'account']).where('kind', 'in', ['policy.loaded', 'detect.settings_changed']).orderBy('seq').limit(500).execute();
    const privileged = await inPeriod.select(['ts', 'kind', 'account', 'detail']).where('kind', 'in', ['admin.account_created', 'admin.account_changed', 'admin.account_approved']).where('decision', '=', 'ok').orderBy('seq').limit(500).execute();
    const byRoleBasis = await inPeriod
      .select(['role', sql<string>`coalesce(detail->>'basis', '')`.as('basis'), (eb) => eb.fn.countAll<number>().as('n')])
      .where('kind', '=', 'access.reveal')
      .where('decision', '=', 'allowed')
      .groupBy(['role', sql`coalesce(detail->>'basis', '')`])
      .execute();
    const unexplained = await inPeriod
      .select(['account', 'role', (eb) => eb.fn.countAll<number>().as('n'), sql<string>`string_agg(distinct coalesce(purpose, ''), ',')`.as('purposes')])
      .where('kind', '=', 'access.reveal')
      .where('decision', '=', 'allowed')
      .where((eb) => eb.or([eb('purpose', '=', 'other'), eb.and([sql<boolean>`coalesce(detail->>'basis', '') = 'city'`, eb('ticket', 'is', null), sql<boolean>`not (detail ? 'case')`])]))
      .groupBy(['account', 'role'])
      .orderBy('n', 'desc')
      .limit(200)
      .execute();
    const refusals = await inPeriod.select(['reason', (eb) => eb.fn.countAll<number>().as('n')]).where('kind', 'in', ['access.reveal', 'access.search']).where('decision', '=', 'denied').groupBy('reason').execute();
    const alerts = await db
      .selectFrom('alerts')
      .select(['severity', 'status', 'verdict', (eb) => eb.fn.countAll<number>().as('n')])
      .where('ts', '>=', from)
      .where('ts', '<=', to)
      .groupBy(['severity', 'status', 'verdict'])
      .orderBy('severity')
      .execute();
    const rotations = await inPeriod.select(['ts', 'account', 'detail']).where('kind', '=', 'keys.rotated').orderBy('seq').execute();
    const requests = await db
      .selectFrom('pipl_requests')
      .select(['kind', 'state', (eb) => eb.fn.countAll<number>().as('n'), sql<number>`sum(case when state = 'pending_approval' and due_at < ${new Date(clock.now())} then 1 else 0 end)`.as('overdue')])
      .where('received_at', '>=', from)
      .where('received_at', '<=', to)
      .groupBy(['kind', 'state'])
      .execute();
    const runs = await db.selectFrom('pipl_retention_runs').select(['purged']).where('started_at', '>=', from).where('started_at', '<=', to).where('dry_run', '=', false).execute();
    const purged: Record<string, number> = {};
    for (const r of runs) for (const [k, n] of Object.entries(parse<Record<string, number>>(r.purged))) purged[k] = (purged[k] ?? 0) + n;
    const verified = await deps.verify();
    const pia = await db.selectFrom('pipl_pia').selectAll().orderBy('created_at', 'desc').limit(200).execute();
    const count = (rows: Array<{ n: number | string }>) => rows.reduce((s, r) => s + Number(r.n), 0);
    const byReason = Object.fromEntries(refusals.map((r) => [r.reason ?? 'unknown', Number(r.n)]));
    return {
      period: { from: from.toISOString(), to: to.toISOString() },
      generated_at: new Date(clock.now()).toISOString(),
      policy: { in_force_since: loaded ? iso(loaded.ts) : null, changes: changes.map((c) => ({ ts: iso(c.ts), source: String(parse<Record<string, unknown>>(c.detail ?? '{}').source ?? '') || null, actor: c.account })) },
      privileged_changes: privileged.map((p) => ({ ts: iso(p.ts), kind: p.kind, account: p.account, actor: String(parse<Record<string, unknown>>(p.detail ?? '{}').actor ?? '') || null })),
      reveals: { total: count(byRoleBasis), by_role_basis: byRoleBasis.map((r) => ({ role: r.role ?? '', basis: r.basis, count: Number(r.n) })).sort((a, b) => b.count - a.count) },
      unexplained: { total: count(unexplained), by_account: unexplained.map((u) => ({ account: u.account ?? '', role: u.role, count: Number(u.n), purposes: u.purposes ? u.purposes.split(',').filter(Boolean) : [] })) },
      refusals: { total: count(refusals), by_reason: byReason, quota: byReason.quota_exceeded ?? 0 },
      alerts: alerts.map((a) => ({ severity: a.severity, status: a.status, verdict: a.verdict, count: Number(a.n) })),
      key_rotations: rotations.map((r) => ({ ts: iso(r.ts), actor: r.account ?? (String(parse<Record<string, unknown>>(r.detail ?? '{}').actor ?? '') || null) })),
      subject_requests: requests.map((r) => ({ kind: r.kind, state: r.state, count: Number(r.n), overdue: Number(r.overdue ?? 0) })),
      retention: { policy: deps.retentionPolicy, runs: runs.length, purged },
      audit: { ok: verified.ok, entries: verified.entries, heads_verified: verified.headsVerified, reason: verified.reason ?? null, witnesses: verified.witnesses.map((w) => ({ sink: w.sink, ok: w.ok, heads: w.heads })) },
      pia: pia.map((p) => ({ id: p.id, title: p.title, risk: p.risk, created_at: iso(p.created_at), reviewed_at: p.reviewed_at ? iso(p.reviewed_at) : null, keep_until: iso(p.keep_until) })),
    };
  }

  async function read(from: Date, to: Date, actor: Actor, ctx: RequestContext): Promise<ComplianceReport> {
    const report = await build(from, to);
    await audit.append([{ kind: 'pipl.compliance_report', ts: new Date(clock.now()), decision: 'ok', account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor), from: report.period.from, to: report.period.to, audit_ok: report.audit.ok } }]);
    return report;
  }

  /** Records an impact assessment (Art. 55–56), kept ≥ 3 years. The free text stays out of the audit entry. */
  async function recordPia(input: { title: string; scope: string; risk: 'low' | 'medium' | 'high'; measures: string }, actor: Actor, ctx: RequestContext) {
    const id = `pia-${randomUUID()}`;
    const ts = new Date(clock.now());
    const keepUntil = new Date(ts);
    keepUntil.setUTCFullYear(keepUntil.getUTCFullYear() + PIA_KEEP_YEARS);
    await audit.append([{ kind: 'pipl.pia_recorded', ts, decision: 'ok', account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId, detail: { pia: id, action: 'recorded', risk: input.risk, actor: actorName(actor) } }], async (tx) => {
      await tx.insertInto('pipl_pia').values({ id, title: input.title, scope: input.scope, risk: input.risk, measures: input.measures, created_by: actorName(actor), created_at: ts, reviewed_by: null, reviewed_at: null, keep_until: keepUntil }).execute();
    });
    return (await db.selectFrom('pipl_pia').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  }

  /** A review by someone other than the author. */
  async function reviewPia(id: string, actor: Actor, ctx: RequestContext) {
    const row = await db.selectFrom('pipl_pia').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', `impact assessment ${id} does not exist`);
    const ts = new Date(clock.now());
    const detail = { pia: id, action: 'reviewed', actor: actorName(actor) };
    // Who wrote it is who the trail says (attack review 10: `created_by` rewritten to another person).
    const author = await trailRequester(db, audit, { of: 'pia', id, row: row.created_by }, { kind: 'pipl.pia_recorded', ts, account: actorAccount(actor), detail }, actor, ctx);
    await refuseSameHand(db, audit, { kind: 'pipl.pia_recorded', ts, account: actorAccount(actor), detail }, actor, ctx, 'review an impact assessment you wrote', [author]);
    await audit.append([{ kind: 'pipl.pia_recorded', ts, decision: 'ok', account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId, detail }], async (tx) => {
      await tx.updateTable('pipl_pia').set({ reviewed_by: actorName(actor), reviewed_at: ts }).where('id', '=', id).execute();
    });
    return db.selectFrom('pipl_pia').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  async function listPia() {
    return db.selectFrom('pipl_pia').selectAll().orderBy('created_at', 'desc').limit(500).execute();
  }

  return { build, read, recordPia, reviewPia, listPia };
}
export type Compliance = ReturnType<typeof createCompliance>;

const SEVERITY_ZH: Record<string, string> = { low: '低', medium: '中', high: '高', critical: '严重' };
const ALERT_STATUS_ZH: Record<string, string> = { open: '待处理', acknowledged: '处理中', resolved: '已处理' };
const VERDICT_ZH: Record<string, string> = { true_positive: '确认违规', false_positive: '误报' };

/** The report as a Chinese document. */
export function complianceReportDoc(r: ComplianceReport): Doc {
  const rows = <T>(list: T[], f: (x: T) => string[], empty: string[]) => (list.length ? list.map(f) : [empty]);
  return {
    title: '个人信息保护合规审计报告',
    blocks: [
      { kind: 'heading', level: 1, text: '个人信息保护合规审计报告' },
      { kind: 'list', items: [`审计期间：${chinaTime(r.period.from)} 至 ${chinaTime(r.period.to)}`, `生成时间：${chinaTime(r.generated_at)}`, '依据：《个人信息保护法》第五十四条（定期合规审计）、第五十五至五十六条（影响评估）'] },
      { kind: 'heading', level: 2, text: '一、访问策略及其变更' },
      { kind: 'paragraph', text: `现行策略生效时间：${r.policy.in_force_since ? chinaTime(r.policy.in_force_since) : '未记录'}；本期变更 ${r.policy.changes.length} 次，特权账号变更 ${r.privileged_changes.length} 次。` },
      { kind: 'table', header: ['时间', '事项', '账号', '操作人'], rows: rows(r.privileged_changes, (p) => [chinaTime(p.ts), p.kind, p.account ?? '—', p.actor ?? '—'], ['—', '无', '—', '—']) },
      { kind: 'heading', level: 2, text: '二、完整信息查看量（按岗位与依据）' },
      { kind: 'paragraph', text: `本期共 ${r.reveals.total} 次查看完整信息。` },
      { kind: 'table', header: ['岗位', '依据', '次数'], rows: rows(r.reveals.by_role_basis, (x) => [ROLE_ZH[x.role] ?? x.role, x.basis || '—', String(x.count)], ['—', '—', '0']) },
      { kind: 'heading', level: 2, text: '三、无业务依据的查看' },
      { kind: 'paragraph', text: `共 ${r.unexplained.total} 次（事由为“其他”，或仅凭城市级特权且无工单、无调查案件），须由相关账号说明。` },
      { kind: 'table', header: ['账号', '岗位', '次数', '事由'], rows: rows(r.unexplained.by_account, (u) => [u.account, ROLE_ZH[u.role ?? ''] ?? u.role ?? '—', String(u.count), u.purposes.map((p) => PURPOSE_ZH[p] ?? p).join('、') || '—'], ['—', '—', '0', '—']) },
      { kind: 'heading', level: 2, text: '四、拒绝与配额' },
      { kind: 'paragraph', text: `本期拒绝 ${r.refusals.total} 次，其中超出配额 ${r.refusals.quota} 次。` },
      { kind: 'table', header: ['原因', '次数'], rows: rows(Object.entries(r.refusals.by_reason), ([k, n]) => [k, String(n)], ['—', '0']) },
      { kind: 'heading', level: 2, text: '五、告警及处理结果' },
      { kind: 'table', header: ['级别', '状态', '结论', '数量'], rows: rows(r.alerts, (a) => [SEVERITY_ZH[a.severity] ?? a.severity, ALERT_STATUS_ZH[a.status] ?? a.status, a.verdict ? VERDICT_ZH[a.verdict] ?? a.verdict : '—', String(a.count)], ['—', '—', '—', '0']) },
      { kind: 'heading', level: 2, text: '六、密钥轮换' },
      { kind: 'table', header: ['时间', '操作人'], rows: rows(r.key_rotations, (k) => [chinaTime(k.ts), k.actor ?? '—'], ['本期无', '—']) },
      { kind: 'heading', level: 2, text: '七、个人权利请求与保存期限' },
      { kind: 'table', header: ['类型', '状态', '数量', '逾期'], rows: rows(r.subject_requests, (q) => [REQUEST_KIND_ZH[q.kind] ?? q.kind, STATE_ZH[q.state] ?? q.state, String(q.count), String(q.overdue)], ['—', '—', '0', '0']) },
      { kind: 'paragraph', text: `保存期限清理 ${r.retention.runs} 次，删除字段 ${Object.values(r.retention.purged).reduce((a, b) => a + b, 0)} 项；身份证号保存 ${r.retention.policy.days.sender.id_number} 天，审计日志保存 ${r.retention.policy.audit_days} 天（不少于 184 天）。` },
      { kind: 'heading', level: 2, text: '八、审计日志完整性' },
      { kind: 'paragraph', text: `校验结果：${r.audit.ok ? '通过' : `未通过（${r.audit.reason ?? ''}）`}；共 ${r.audit.entries} 条记录，已验证签名树头 ${r.audit.heads_verified} 个；见证方 ${r.audit.witnesses.length} 个${r.audit.witnesses.length ? `（${r.audit.witnesses.map((w) => `${w.sink}：${w.ok ? '一致' : '不一致'}`).join('；')}）` : ''}。` },
      { kind: 'heading', level: 2, text: '九、个人信息保护影响评估记录（保存不少于3年）' },
      { kind: 'table', header: ['编号', '事项', '风险', '评估时间', '复核时间', '保存至'], rows: rows(r.pia, (p) => [p.id, p.title, p.risk, chinaTime(p.created_at), p.reviewed_at ? chinaTime(p.reviewed_at) : '待复核', chinaTime(p.keep_until)], ['—', '无', '—', '—', '—', '—']) },
    ],
  };
}
