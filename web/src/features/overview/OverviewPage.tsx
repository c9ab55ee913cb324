/**
 * Overview, live over server-sent events: events/s, reveals by role, explained vs unexplained,
 * refusals by reason, open alerts by severity, riskiest accounts, latest alerts, 24-hour trend.
 */
import { useEffect, useMemo } from 'react';
import { Alert, Card, List, Statistic, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useOverviewStream } from '../../api/stream';
import { SEVERITIES, type OverviewSnapshot } from '../../api/types';
import { Chart } from '../../components/Chart';
import { EmptyState, Loading } from '../../components/States';
import { SeverityTag, ToneTag, riskTone, severityColor } from '../../components/Tags';
import { formatHour, formatNumber, formatTime } from '../../format';
import { alertSummary, label } from '../../labels';

const entries = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1]);

function useCharts(s: OverviewSnapshot | null) {
  const { t } = useTranslation();
  return useMemo(() => {
    if (!s) return null;
    const h = s.last_hour;
    const roles = entries(h.by_role);
    const reasons = entries(h.by_reason);
    const bar = (rows: Array<[string, number]>, color: string, label: (k: string) => string) => ({
      grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: rows.map(([k]) => label(k)), inverse: true },
      series: [{ type: 'bar', data: rows.map(([, v]) => v), itemStyle: { color }, barMaxWidth: 22 }],
    });
    return {
      roles: bar(roles, '#0b57d0', (k) => t(`roles.${k}`, { defaultValue: k })),
      reasons: bar(reasons, '#cf1322', (k) => t(`reasons.${k}`, { defaultValue: k })),
      explained: {
        tooltip: { trigger: 'item' },
        legend: { bottom: 0 },
        series: [{
          type: 'pie',
          radius: ['45%', '70%'],
          center: ['50%', '45%'],
          label: { formatter: '{b}: {c}' },
          data: [
            { name: t('overview.explained'), value: h.explained, itemStyle: { color: '#389e0d' } },
            { name: t('overview.unexplained'), value: h.unexplained, itemStyle: { color: '#cf1322' } },
          ],
        }],
      },
      trend: {
        grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        xAxis: { type: 'category', data: s.trend.map((p) => formatHour(p.hour)) },
        yAxis: [{ type: 'value', minInterval: 1 }, { type: 'value', minInterval: 1, splitLine: { show: false } }],
        series: [
          { name: t('overview.events'), type: 'line', yAxisIndex: 1, data: s.trend.map((p) => p.events), itemStyle: { color: '#8c8c8c' }, showSymbol: false },
          { name: t('overview.reveals'), type: 'line', data: s.trend.map((p) => p.reveals), itemStyle: { color: '#0b57d0' }, showSymbol: false },
          { name: t('overview.unexplained'), type: 'line', data: s.trend.map((p) => p.unexplained), itemStyle: { color: '#cf1322' }, showSymbol: false },
          { name: t('overview.refusals'), type: 'line', data: s.trend.map((p) => p.refusals), itemStyle: { color: '#d46b08' }, showSymbol: false },
          { name: t('overview.alerts'), type: 'bar', data: s.trend.map((p) => p.alerts), itemStyle: { color: '#c41d7f' }, barMaxWidth: 10 },
        ],
      },
    };
  }, [s, t]);
}

export function OverviewPage() {
  const { t } = useTranslation();
  const { snapshot: s, status } = useOverviewStream();
  const charts = useCharts(s);
  useEffect(() => {
    if (s && performance.getEntriesByName('warden:overview-data').length === 0) performance.mark('warden:overview-data');
  }, [s]);

  if (!s) return status === 'ended' ? <Alert type="warning" title={t('stream.ended')} /> : <Loading rows={10} />;
  const h = s.last_hour;
  const summary = (m: Record<string, number>) => entries(m).map(([k, v]) => `${k} ${v}`).join(', ') || t('common.empty');
  return (
    <div data-testid="overview">
      <Typography.Title level={1} className="page-title">{t('nav.overview')}</Typography.Title>
      {!s.detection && <Alert type="warning" showIcon title={t('overview.noDetection')} style={{ marginBottom: 12 }} />}
      <section className="stat-grid" aria-label={t('nav.overview')}>
        <Card size="small"><Statistic title={t('overview.eventsPerSecond')} value={s.events_per_second} precision={1} /></Card>
        <Card size="small">
          <Statistic title={t('overview.revealsHour')} value={h.reveals} formatter={(v) => formatNumber(Number(v))} />
          <Typography.Text type="secondary">{t('overview.explained')} {formatNumber(h.explained)} · </Typography.Text>
          <Typography.Text style={{ color: '#a8071a' }}>{t('overview.unexplained')} {formatNumber(h.unexplained)}</Typography.Text>
        </Card>
        <Card size="small"><Statistic title={t('overview.refusalsHour')} value={h.refusals} formatter={(v) => formatNumber(Number(v))} /></Card>
        <Card size="small" data-testid="open-alerts">
          <Statistic title={t('overview.openAlerts')} value={SEVERITIES.reduce((n, k) => n + s.alerts_open[k], 0)} />
          <div className="sev-counts">
            {SEVERITIES.map((k) => (
              <span key={k} style={{ color: severityColor(k) }}>{t(`severity.${k}`)} {s.alerts_open[k]}</span>
            ))}
          </div>
        </Card>
      </section>
      <section className="grid-3">
        <Card size="small" title={t('overview.revealsByRole')}>
          {Object.keys(h.by_role).length ? <Chart option={charts!.roles} label={t('overview.chartSummary', { title: t('overview.revealsByRole'), summary: summary(h.by_role) })} height={200} /> : <EmptyState />}
        </Card>
        <Card size="small" title={t('overview.explainedVsUnexplained')}>
          {h.reveals ? <Chart option={charts!.explained} label={`${t('overview.explained')} ${h.explained}, ${t('overview.unexplained')} ${h.unexplained}`} height={200} /> : <EmptyState />}
          <Typography.Paragraph type="secondary" style={{ fontSize: 12, margin: 0 }}>{t('overview.basisNote')}</Typography.Paragraph>
        </Card>
        <Card size="small" title={t('overview.refusalsByReason')}>
          {Object.keys(h.by_reason).length ? <Chart option={charts!.reasons} label={t('overview.chartSummary', { title: t('overview.refusalsByReason'), summary: summary(h.by_reason) })} height={200} /> : <EmptyState />}
        </Card>
      </section>
      <section className="grid-2">
        <Card size="small" title={t('overview.riskiest')}>
          <Table
            size="small"
            rowKey="account"
            pagination={false}
            dataSource={s.riskiest}
            locale={{ emptyText: <EmptyState /> }}
            columns={[
              { title: t('common.account'), dataIndex: 'account', render: (a: string) => <Link to={`/accounts/${encodeURIComponent(a)}`}>{a}</Link> },
              { title: t('common.role'), dataIndex: 'role', render: (r: string | null) => (r ? t(`roles.${r}`, { defaultValue: r }) : '—') },
              { title: t('common.site'), dataIndex: 'site' },
              { title: t('overview.risk'), dataIndex: 'risk', render: (r: number) => <ToneTag tone={riskTone(r)}>{r}</ToneTag> },
              { title: t('overview.inForce'), dataIndex: 'in_force', render: (v: string | null) => (v ? label(t, 'responses', v) : '—') },
              { title: t('overview.alerts'), dataIndex: 'alerts' },
            ]}
          />
        </Card>
        <Card size="small" title={t('overview.latestAlerts')}>
          <List
            size="small"
            data-testid="latest-alerts"
            dataSource={s.latest_alerts}
            locale={{ emptyText: <EmptyState /> }}
            renderItem={(a) => (
              <List.Item key={a.id} data-account={a.account ?? ''}>
                <div style={{ width: '100%' }}>
                  <SeverityTag severity={a.severity} />
                  {a.account ? <Link to={`/accounts/${encodeURIComponent(a.account)}`}>{a.account}</Link> : <span>{a.device}</span>}
                  <Typography.Text type="secondary"> · <span title={a.detector}>{label(t, 'detectorNames', a.detector)}</span> · {formatTime(a.ts)}</Typography.Text>
                  <div style={{ fontSize: 12 }} title={a.summary}>{alertSummary(t, a)}</div>
                </div>
              </List.Item>
            )}
          />
        </Card>
      </section>
      <Card size="small" title={t('overview.trend')}>
        <Chart option={charts!.trend} label={t('overview.chartSummary', { title: t('overview.trend'), summary: s.trend.map((p) => `${formatHour(p.hour)} ${p.reveals}`).join(', ') })} height={260} />
      </Card>
    </div>
  );
}
