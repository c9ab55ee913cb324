/**
 * The alert queue: filters (severity, status, detector, site, city, account, time), incidents
 * grouped, triage one by one or in bulk. New alerts arrive over the overview stream. Filters and
 * actions the server does not offer yet are applied in the console (when the data allows it) or
 * shown disabled, never faked.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { Alert as Banner, AutoComplete, Button, Card, DatePicker, Descriptions, Drawer, Form, Input, Select, Space, Switch, Table, Tooltip, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, session } from '../../api/client';
import { useCapabilities } from '../../api/capabilities';
import { useOverviewStream } from '../../api/stream';
import { SEVERITIES, type Alert } from '../../api/types';
import { EmptyState, ErrorState } from '../../components/States';
import { SeverityTag, StatusTag } from '../../components/Tags';
import { formatTime } from '../../format';
import { alertSummary, label } from '../../labels';
import { AlertActions, NoteModal, useTriage, type Verdict } from './triage';

interface Filters {
  min_severity?: string;
  status?: string;
  detector?: string;
  site?: string;
  city?: string;
  account?: string;
  assignee?: string;
  range?: [Dayjs | null, Dayjs | null] | null;
}
const PAGE = 100;

export default function AlertsPage() {
  const { t } = useTranslation();
  const caps = useCapabilities();
  const stream = useOverviewStream();
  const [filters, setFilters] = useState<Filters>({ status: 'open' });
  const [alerts, setAlerts] = useState<Alert[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [more, setMore] = useState(false);
  const [grouped, setGrouped] = useState(false);
  const [selected, setSelected] = useState<string[]>([]);
  const [detail, setDetail] = useState<Alert | null>(null);
  const [bulkModal, setBulkModal] = useState<Verdict | null>(null);
  const [detectors, setDetectors] = useState<string[]>([]);
  const [tick, setTick] = useState(0);

  const serverFilter = (name: string) => caps?.queryParam('GET', '/alerts', name) ?? false;
  const localFilters = caps ? (['detector', 'assignee'] as const).filter((f) => filters[f] && !serverFilter(f)) : [];
  const canAssign = caps?.bodyField('PATCH', '/alerts/{id}', 'assignee') ?? false;
  const canBulk = caps?.has('POST', '/alerts/bulk') ?? false;

  function query(until?: string) {
    const q: Record<string, string | undefined> = { limit: String(PAGE), status: filters.status, min_severity: filters.min_severity, account: filters.account || undefined };
    for (const f of ['detector', 'site', 'city', 'assignee'] as const) if (filters[f] && serverFilter(f)) q[f] = filters[f];
    const [from, to] = filters.range ?? [];
    if (from) q.since = from.toDate().toISOString();
    if (until) q.until = until;
    else if (to) q.until = to.toDate().toISOString();
    return q;
  }
  const keep = (a: Alert) => !localFilters.some((f) => (a[f] ?? undefined) !== filters[f]);
  const me = session.account();
  const assignees = [...new Set((alerts ?? []).map((a) => a.assignee).filter((a): a is string => !!a && a !== me))].sort();

  // Answers can arrive out of order (a filter typed while the first page loads): only the latest counts.
  const latest = useRef(0);
  async function load(append: boolean) {
    if (!caps) return;
    const mine = ++latest.current;
    setLoading(true);
    setError(null);
    try {
      const last = append && alerts?.length ? alerts[alerts.length - 1] : undefined;
      // Paging by time: `until` just past the oldest shown, de-duplicated by id (ties at one instant).
      const until = last ? new Date(Date.parse(last.ts) + 1).toISOString() : undefined;
      const res = await api<{ alerts: Alert[] }>('GET', '/alerts', { query: query(until) });
      if (mine !== latest.current) return;
      const seen = new Set((append ? alerts ?? [] : []).map((a) => a.id));
      const fresh = res.alerts.filter((a) => !seen.has(a.id));
      setAlerts([...(append ? alerts ?? [] : []), ...fresh]);
      setMore(res.alerts.length === PAGE && fresh.length > 0);
      if (!append) setSelected([]);
    } catch (err) {
      if (mine === latest.current) setError(err);
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  }

  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => void load(false), [caps, filters, tick]);
  useEffect(() => {
    void api<{ detectors: Array<{ name: string }> }>('GET', '/detectors').then((r) => setDetectors(r.detectors.map((d) => d.name)), () => undefined);
  }, []);

  // Live: new alerts in the stream reload the first page unless the analyst is mid-selection.
  const newIds = useMemo(() => {
    if (!alerts) return [];
    const known = new Set(alerts.map((a) => a.id));
    return (stream.snapshot?.latest_alerts ?? []).filter((a) => !known.has(a.id) && (!filters.status || a.status === filters.status) && (!filters.account || a.account === filters.account)).map((a) => a.id);
  }, [stream.snapshot, alerts, filters.status, filters.account]);
  useEffect(() => {
    if (newIds.length && selected.length === 0 && !detail && !loading) setTick((x) => x + 1);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [newIds.join(',')]);

  const triage = useTriage(() => setTick((x) => x + 1));
  const shown = (alerts ?? []).filter(keep);
  const rows = grouped ? groupByIncident(shown) : shown;

  const columns = [
    { title: t('common.time'), dataIndex: 'ts', width: 120, render: (v: string, r: Row) => ('children' in r ? <strong>{t('alerts.incident', { id: r.incident?.slice(-8) })}</strong> : formatTime(v)) },
    { title: t('alerts.severity'), dataIndex: 'severity', width: 75, render: (v: Alert['severity'], r: Row) => ('children' in r ? t('alerts.incidentCount', { count: r.children.length }) : <SeverityTag severity={v} />) },
    { title: t('alerts.account'), dataIndex: 'account', width: 95, render: (v: string | null, r: Row) => (v ? <Link to={`/accounts/${encodeURIComponent(v)}`}>{v}</Link> : 'children' in r ? '' : r.device) },
    { title: t('alerts.detector'), dataIndex: 'detector', width: 105, ellipsis: true, render: (v: string | undefined) => (v ? <span title={v}>{label(t, 'detectorNames', v)}</span> : null) },
    { title: t('alerts.summary'), dataIndex: 'summary', render: (v: string, r: Row) => ('children' in r ? null : <Button type="link" className="summary-link" title={v} onClick={() => setDetail(r)}>{alertSummary(t, r)}</Button>) },
    { title: t('alerts.assignee'), dataIndex: 'assignee', width: 95, ellipsis: true, render: (v: string | null | undefined, r: Row) => ('children' in r ? null : v ? <span data-testid={`assignee-${r.id}`}>{v}</span> : <Typography.Text type="secondary">{t('alerts.unassigned')}</Typography.Text>) },
    { title: t('alerts.status'), dataIndex: 'status', width: 80, render: (v: string, r: Row) => ('children' in r ? null : <StatusTag status={v} />) },
    { title: t('common.actions'), key: 'actions', width: 335, render: (_: unknown, r: Row) => ('children' in r ? null : <AlertActions alert={r} canAssign={canAssign} triage={triage} compact />) },
  ];

  return (
    <div data-testid="alerts-page">
      <Typography.Title level={1} className="page-title">{t('alerts.title')}</Typography.Title>
      <Card size="small" style={{ marginBottom: 12 }}>
        <Form layout="inline" onValuesChange={(_, all: Filters) => setFilters(all)} initialValues={filters}>
          <Form.Item label={t('alerts.minSeverity')} name="min_severity">
            <Select allowClear style={{ width: 110 }} options={SEVERITIES.map((s) => ({ value: s, label: t(`severity.${s}`) }))} placeholder={t('common.all')} />
          </Form.Item>
          <Form.Item label={t('alerts.status')} name="status">
            <Select allowClear style={{ width: 120 }} options={['open', 'acknowledged', 'resolved'].map((s) => ({ value: s, label: t(`alertStatus.${s}`) }))} placeholder={t('common.all')} />
          </Form.Item>
          <Form.Item label={t('alerts.detector')} name="detector">
            <Select allowClear style={{ width: 150 }} options={detectors.map((d) => ({ value: d, label: label(t, 'detectorNames', d) }))} placeholder={t('common.all')} />
          </Form.Item>
          {(['site', 'city'] as const).map((f) => (
            <Form.Item key={f} label={t(`alerts.${f}`)} name={f}>
              {caps && !serverFilter(f) ? (
                <Tooltip title={t('common.notAvailable')}><Input style={{ width: 100 }} disabled aria-label={t(`alerts.${f}`)} /></Tooltip>
              ) : (
                <Input style={{ width: 100 }} allowClear />
              )}
            </Form.Item>
          ))}
          <Form.Item label={t('alerts.account')} name="account">
            <Input style={{ width: 110 }} allowClear />
          </Form.Item>
          <Form.Item label={t('alerts.assigneeFilter')} name="assignee">
            <AutoComplete
              style={{ width: 150 }}
              allowClear
              placeholder={t('alerts.anyAssignee')}
              aria-label={t('alerts.assigneeFilter')}
              options={[...(me ? [{ value: me, label: `${t('alerts.assignedToMe')} (${me})` }] : []), ...assignees.map((a) => ({ value: a, label: a }))]}
            />
          </Form.Item>
          <Form.Item label={t('alerts.timeRange')} name="range">
            <DatePicker.RangePicker showTime size="middle" style={{ width: 330 }} />
          </Form.Item>
        </Form>
      </Card>
      {localFilters.length > 0 && <Banner type="info" showIcon title={t('common.filtersLocal', { fields: localFilters.join(', ') })} style={{ marginBottom: 12 }} />}
      {newIds.length > 0 && selected.length > 0 && (
        <Banner type="warning" showIcon title={t('alerts.newAlerts', { count: newIds.length })} action={<Button size="small" onClick={() => setTick((x) => x + 1)}>{t('alerts.showNew')}</Button>} style={{ marginBottom: 12 }} />
      )}
      <Space style={{ marginBottom: 8 }} wrap>
        <Switch checked={grouped} onChange={setGrouped} aria-label={t('alerts.groupIncidents')} /> <span>{t('alerts.groupIncidents')}</span>
        <Typography.Text type="secondary">{t('alerts.bulk', { count: selected.length })}</Typography.Text>
        <Tooltip title={canBulk ? null : t('common.notAvailable')}>
          <Button disabled={!canBulk || !selected.length || triage.busy === 'bulk'} loading={triage.busy === 'bulk'} onClick={() => void triage.bulk(selected, { status: 'acknowledged' })}>{t('alerts.bulkAck')}</Button>
        </Tooltip>
        <Tooltip title={canBulk ? null : t('common.notAvailable')}>
          <Button disabled={!canBulk || !selected.length || triage.busy === 'bulk'} onClick={() => setBulkModal('true_positive')}>{t('alerts.bulkResolve')}</Button>
        </Tooltip>
        <Button onClick={() => setTick((x) => x + 1)} loading={loading}>{t('common.refresh')}</Button>
      </Space>
      {error !== null && <ErrorState error={error} onRetry={() => setTick((x) => x + 1)} />}
      <Table<Row>
        size="small"
        tableLayout="fixed"
        rowKey={(r) => ('children' in r ? `incident:${r.incident}` : r.id)}
        onRow={(r) => ({ 'data-account': r.account ?? undefined }) as object}
        loading={alerts === null || loading}
        dataSource={rows}
        columns={columns as never}
        pagination={false}
        locale={{ emptyText: <EmptyState /> }}
        rowSelection={{
          selectedRowKeys: selected,
          onChange: (keys) => setSelected(keys.map(String).filter((k) => !k.startsWith('incident:'))),
          getCheckboxProps: (r) => ({ 'aria-label': 'children' in r ? r.incident ?? '' : t('alerts.selectAlert', { id: r.id }) }) as object,
        }}
        expandable={grouped ? { defaultExpandAllRows: true } : { childrenColumnName: '__none' }}
      />
      <div style={{ textAlign: 'center', marginTop: 8 }}>
        {more ? <Button onClick={() => void load(true)} loading={loading}>{t('common.loadMore')}</Button> : alerts?.length ? <Typography.Text type="secondary">{t('common.end')}</Typography.Text> : null}
      </div>
      <Drawer open={detail !== null} onClose={() => setDetail(null)} size={560} title={detail ? alertSummary(t, detail) : null}>
        {detail && (
          <>
            <Descriptions size="small" column={1} bordered>
              <Descriptions.Item label={t('common.time')}>{formatTime(detail.ts)}</Descriptions.Item>
              <Descriptions.Item label={t('alerts.severity')}><SeverityTag severity={detail.severity} /> {t('alerts.score')} {detail.score}</Descriptions.Item>
              <Descriptions.Item label={t('alerts.detector')}>{label(t, 'detectorNames', detail.detector)} <Typography.Text type="secondary">({detail.detector})</Typography.Text></Descriptions.Item>
              <Descriptions.Item label={t('alerts.assignee')}><span data-testid="drawer-assignee">{detail.assignee ?? t('alerts.unassigned')}</span></Descriptions.Item>
              <Descriptions.Item label={t('alerts.account')}>{detail.account ? <Link to={`/accounts/${encodeURIComponent(detail.account)}`}>{t('alerts.openAccount')}: {detail.account}</Link> : detail.device}</Descriptions.Item>
              <Descriptions.Item label={t('alerts.status')}><StatusTag status={detail.status} /> {detail.verdict ? t(`verdict.${detail.verdict}`) : ''}</Descriptions.Item>
              {alertSummary(t, detail) !== detail.summary && <Descriptions.Item label={t('alerts.summary')}><Typography.Text type="secondary">{t('alerts.serverSummary', { summary: detail.summary })}</Typography.Text></Descriptions.Item>}
              {detail.note && <Descriptions.Item label={t('alerts.noteLabel')}>{detail.note}</Descriptions.Item>}
              {detail.updated_by && <Descriptions.Item label="">{t('alerts.updated', { who: detail.updated_by, time: formatTime(detail.updated_at) })}</Descriptions.Item>}
            </Descriptions>
            <Typography.Title level={2} style={{ fontSize: 14, marginTop: 16 }}>{t('alerts.evidence')}</Typography.Title>
            <pre className="evidence">{JSON.stringify(detail.evidence, null, 2)}</pre>
            <AlertActions alert={detail} canAssign={canAssign} triage={triage} after={() => setDetail(null)} />
          </>
        )}
      </Drawer>
      {triage.dialog}
      <NoteModal
        open={bulkModal !== null}
        title={t('alerts.resolveTitle', { verdict: t('verdict.true_positive') })}
        onCancel={() => setBulkModal(null)}
        onOk={(note) => {
          setBulkModal(null);
          void triage.bulk(selected, { verdict: 'true_positive', ...(note ? { note } : {}) });
        }}
      />
    </div>
  );
}

type Row = Alert | { incident: string | null; children: Alert[]; ts: string; account: string | null; severity: Alert['severity'] };

function groupByIncident(alerts: Alert[]): Row[] {
  const groups = new Map<string, Alert[]>();
  const out: Row[] = [];
  for (const a of alerts) {
    if (!a.incident) {
      out.push(a);
      continue;
    }
    let g = groups.get(a.incident);
    if (!g) {
      g = [];
      groups.set(a.incident, g);
      out.push({ incident: a.incident, children: g, ts: a.ts, account: a.account, severity: a.severity });
    }
    g.push(a);
  }
  return out.map((r) => ('children' in r && r.children.length === 1 ? r.children[0]! : r));
}

