/**
 * Account investigation: who the account is and what is in force, risk over time, devices,
 * networks and cities, working hours against its peers, its activity timeline (every reveal marked
 * explained or unexplained and by what), its alerts, and the response buttons.
 */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { Button, Card, Descriptions, Input, Segmented, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../../api/client';
import type { AccountRisk, ActivityEntry, Alert, Footprint, Hours } from '../../api/types';
import { Chart } from '../../components/Chart';
import { Async, EmptyState, ErrorState } from '../../components/States';
import { ExplainedTag, SeverityTag, StatusTag, ToneTag } from '../../components/Tags';
import { useAsync } from '../../components/useAsync';
import { formatTime, viewerOffsetMinutes } from '../../format';
import { alertSummary, decisionText, label } from '../../labels';
import { ResponseButtons } from './respond';

export default function AccountPage() {
  const { id } = useParams();
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [lookup, setLookup] = useState(id ?? '');
  useEffect(() => setLookup(id ?? ''), [id]);
  return (
    <div data-testid="account-page">
      <Space style={{ marginBottom: 12 }} align="center">
        <Typography.Title level={1} className="page-title" style={{ marginBottom: 0 }}>{t('account.title')}</Typography.Title>
        <Input.Search
          aria-label={t('account.lookup')}
          placeholder={t('account.lookupPlaceholder')}
          enterButton={t('account.open')}
          value={lookup}
          onChange={(e) => setLookup(e.target.value)}
          onSearch={(v) => v.trim() && navigate(`/accounts/${encodeURIComponent(v.trim())}`)}
          style={{ width: 320 }}
        />
      </Space>
      {id ? <Investigation key={id} id={id} /> : <EmptyState text={t('account.lookup')} />}
    </div>
  );
}

function Investigation({ id }: { id: string }) {
  const { t } = useTranslation();
  const enc = encodeURIComponent(id);
  const risk = useAsync((signal) => api<AccountRisk>('GET', `/accounts/${enc}/risk`, { signal, query: { days: 14 } }), [id]);
  const footprint = useAsync((signal) => api<Footprint>('GET', `/accounts/${enc}/footprint`, { signal }), [id]);
  const hours = useAsync((signal) => api<Hours>('GET', `/accounts/${enc}/hours`, { signal, query: { tz_offset_minutes: viewerOffsetMinutes() } }), [id]);
  const alerts = useAsync((signal) => api<{ alerts: Alert[] }>('GET', '/alerts', { signal, query: { account: id, limit: 50 } }), [id]);

  return (
    <>
      <Async state={risk} rows={4}>
        {(r) => (
          <Card size="small" style={{ marginBottom: 12 }}>
            <Descriptions size="small" column={3} title={<span data-testid="account-id">{r.account}</span>} extra={<ResponseButtons account={id} inForce={r.response?.action ?? null} onChanged={risk.reload} />}>
              <Descriptions.Item label={t('common.role')}>{t(`roles.${r.role}`, { defaultValue: r.role })}</Descriptions.Item>
              <Descriptions.Item label={t('common.site')}>{r.site ?? '—'}</Descriptions.Item>
              <Descriptions.Item label={t('common.city')}>{r.city ?? '—'}</Descriptions.Item>
              <Descriptions.Item label={t('common.status')}>
                <ToneTag tone={r.status === 'suspended' ? 'red' : 'green'} data-testid="account-status">{t(`account.${r.status}`)}</ToneTag>
                {r.status_reason && <Typography.Text type="secondary" style={{ marginLeft: 4 }}>{r.status_reason}</Typography.Text>}
              </Descriptions.Item>
              <Descriptions.Item label={t('account.riskNow')}><strong>{r.risk_now ?? '—'}</strong></Descriptions.Item>
              <Descriptions.Item label={t('account.responseDue')}>{r.response_due ? label(t, 'responses', r.response_due) : '—'}</Descriptions.Item>
              <Descriptions.Item label={t('account.inForce')} span={3}>
                <span data-testid="response-in-force">{r.response ? `${label(t, 'responses', r.response.action)} · ${formatTime(r.response.since)} · ${r.response.reason}` : t('account.none')}</span>
              </Descriptions.Item>
            </Descriptions>
          </Card>
        )}
      </Async>
      <section className="grid-2">
        <Card size="small" title={t('account.riskOverTime')}>
          <Async state={risk} empty={(r) => r.points.length === 0}>
            {(r) => <RiskChart r={r} />}
          </Async>
        </Card>
        <Card size="small" title={t('account.alerts')}>
          <Async state={alerts}>
            {(a) => (
              <Table
                size="small"
                rowKey="id"
                tableLayout="fixed"
                pagination={{ pageSize: 5, size: 'small', hideOnSinglePage: true }}
                dataSource={a.alerts}
                locale={{ emptyText: <EmptyState /> }}
                columns={[
                  { title: t('common.time'), dataIndex: 'ts', render: formatTime, width: 150 },
                  { title: t('alerts.severity'), dataIndex: 'severity', render: (s: Alert['severity'], a: Alert) => <><SeverityTag severity={s} /><StatusTag status={a.status} /></>, width: 140 },
                  { title: t('alerts.detector'), dataIndex: 'detector', width: 100, render: (d: string) => <span title={d}>{label(t, 'detectorNames', d)}</span> },
                  { title: t('alerts.summary'), dataIndex: 'summary', ellipsis: { showTitle: false }, render: (v: string, a: Alert) => <span title={v}>{alertSummary(t, a)}</span> },
                ]}
              />
            )}
          </Async>
          <Link to={`/alerts`}>{t('nav.alerts')} →</Link>
        </Card>
      </section>
      <Async state={footprint}>{(f) => <FootprintTables f={f} />}</Async>
      <Card size="small" title={t('account.hours')} style={{ marginBottom: 12 }}>
        <Async state={hours}>{(h) => <HoursHeatmaps h={h} />}</Async>
      </Card>
      <Timeline id={id} />
    </>
  );
}

function RiskChart({ r }: { r: AccountRisk }) {
  const { t } = useTranslation();
  const option = useMemo(() => {
    // Risk after each alert, then where it stands now (it decays between alerts).
    const pts: Array<{ ts: string; risk: number | null }> = r.points.filter((p) => p.risk !== null);
    if (r.risk_now !== null) pts.push({ ts: r.at, risk: r.risk_now });
    return {
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', min: 0, max: 100 },
      series: [{ type: 'line', step: 'end', data: pts.map((p) => [p.ts, p.risk]), itemStyle: { color: '#cf1322' }, markLine: { silent: true, symbol: 'none', data: [{ yAxis: 40 }, { yAxis: 65 }, { yAxis: 85 }], lineStyle: { type: 'dashed', color: '#999' } } }],
    };
  }, [r]);
  return <Chart option={option} label={`${t('account.riskOverTime')}: ${r.points.map((p) => p.risk).join(', ')}`} height={220} />;
}

function FootprintTables({ f }: { f: Footprint }) {
  const { t } = useTranslation();
  const seen = [
    { title: t('account.first'), dataIndex: 'first', render: formatTime },
    { title: t('account.last'), dataIndex: 'last', render: formatTime },
    { title: t('account.events'), dataIndex: 'events', width: 70 },
  ];
  const table = <T extends object>(title: string, key: keyof T & string, rows: T[], render?: (value: string, row: T) => ReactNode) => (
    <Card size="small" title={title}>
      <Table<T> size="small" rowKey={key} pagination={{ pageSize: 5, size: 'small', hideOnSinglePage: true }} dataSource={rows} locale={{ emptyText: <EmptyState /> }} columns={[{ title, dataIndex: key, className: 'mono', render }, ...seen] as never} />
    </Card>
  );
  // The trail names the enrolled device id; the client's label is shown beside it.
  const device = (id: string, row: Footprint['devices'][number]) => (row.label ? <>{row.label} <Typography.Text type="secondary" className="mono">{id}</Typography.Text></> : id);
  return (
    <section className="grid-3">
      {table(t('account.devices'), 'device', f.devices, device)}
      {table(t('account.networks'), 'network', f.networks)}
      {table(t('account.cities'), 'city', f.cities)}
    </section>
  );
}

function HoursHeatmaps({ h }: { h: Hours }) {
  const { t } = useTranslation();
  const days = t('account.weekdays', { returnObjects: true }) as string[];
  const option = (grid: number[][]) => {
    const data = grid.flatMap((row, d) => row.map((v, hr) => [hr, d, v]));
    const max = Math.max(1, ...grid.flat());
    return {
      grid: { left: 8, right: 8, top: 8, bottom: 48, containLabel: true },
      tooltip: { position: 'top' },
      xAxis: { type: 'category', data: Array.from({ length: 24 }, (_, i) => String(i)), splitArea: { show: true } },
      yAxis: { type: 'category', data: days, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, inRange: { color: ['#f0f5ff', '#0b57d0'] } },
      series: [{ type: 'heatmap', data }],
    };
  };
  const busiest = (grid: number[][]) => grid.flatMap((row, d) => row.map((v, hr) => ({ v, label: `${days[d]} ${hr}:00` }))).sort((a, b) => b.v - a.v).slice(0, 3).map((x) => `${x.label} ${x.v}`).join(', ');
  return (
    <>
      <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>{t('account.hoursNote', { days: 14 })}</Typography.Paragraph>
      <div className="grid-2" style={{ marginBottom: 0 }}>
        <div>
          <Typography.Text strong>{t('account.hoursAccount')}</Typography.Text>
          <Chart option={option(h.account_hours)} label={`${t('account.hoursAccount')}: ${busiest(h.account_hours)}`} height={240} />
        </div>
        <div>
          <Typography.Text strong>{t('account.hoursPeers', { active: h.peer_group.active, size: h.peer_group.size })}</Typography.Text>
          {h.peer_group.active ? <Chart option={option(h.peer_hours)} label={`${t('account.hoursPeers', { active: h.peer_group.active, size: h.peer_group.size })}: ${busiest(h.peer_hours)}`} height={240} /> : <EmptyState text={t('account.noPeers')} />}
        </div>
      </div>
    </>
  );
}

function Timeline({ id }: { id: string }) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<'all' | 'reveals' | 'unexplained'>('all');
  const [entries, setEntries] = useState<ActivityEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function load(after: string | null) {
    setLoading(true);
    setError(null);
    try {
      const r = await api<{ entries: ActivityEntry[]; next_cursor: string | null }>('GET', `/accounts/${encodeURIComponent(id)}/activity`, {
        query: { limit: 100, cursor: after, kind: mode === 'reveals' ? 'access.reveal' : undefined, unexplained: mode === 'unexplained' ? 'true' : undefined },
      });
      setEntries((prev) => [...(after ? prev ?? [] : []), ...r.entries]);
      setCursor(r.next_cursor);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  }
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => void load(null), [id, mode]);

  return (
    <Card
      size="small"
      title={t('account.timeline')}
      extra={<Segmented aria-label={t('account.timeline')} value={mode} onChange={(v) => setMode(v as typeof mode)} options={[{ value: 'all', label: t('common.all') }, { value: 'reveals', label: t('account.onlyReveals') }, { value: 'unexplained', label: t('account.onlyUnexplained') }]} />}
    >
      {error !== null && <ErrorState error={error} onRetry={() => void load(null)} />}
      <Table<ActivityEntry>
        size="small"
        rowKey="seq"
        data-testid="timeline"
        loading={entries === null || loading}
        dataSource={entries ?? []}
        pagination={false}
        locale={{ emptyText: <EmptyState /> }}
        columns={[
          { title: t('common.time'), dataIndex: 'ts', render: formatTime, width: 165 },
          { title: t('account.kind'), dataIndex: 'kind', render: (k: string) => <span title={k}>{label(t, 'kinds', k)}</span>, width: 120 },
          { title: t('account.waybill'), dataIndex: 'waybill', className: 'mono', width: 150, render: (w: string | null, e) => w ?? (e.matches !== null ? `${e.matches} ×` : '') },
          { title: t('account.fields'), dataIndex: 'fields', render: (f: string[]) => f.join(', '), width: 190 },
          { title: t('account.purpose'), dataIndex: 'purpose', width: 110, render: (p: string | null, e) => [p, e.ticket && `#${e.ticket}`, e.case && t('account.caseRef', { id: e.case })].filter(Boolean).join(' ') },
          { title: t('account.decision'), dataIndex: 'decision', width: 150, render: (d: string, e) => <span style={{ color: d === 'denied' ? '#a8071a' : undefined }}>{decisionText(t, d, e.reason)}</span> },
          { title: t('account.explainedBy'), key: 'explained', className: 'nowrap', width: 110, render: (_, e) => <ExplainedTag explained={e.explained} by={e.explained_by} /> },
          { title: t('common.device'), dataIndex: 'device', className: 'mono', render: (d: string | null, e) => [d, e.network].filter(Boolean).join(' · ') },
        ]}
      />
      <div style={{ textAlign: 'center', marginTop: 8 }}>
        {cursor ? <Button onClick={() => void load(cursor)} loading={loading}>{t('common.loadMore')}</Button> : entries?.length ? <Typography.Text type="secondary">{t('common.end')}</Typography.Text> : null}
      </div>
    </Card>
  );
}
