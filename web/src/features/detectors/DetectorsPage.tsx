/**
 * Detectors: each detector's settings and how often it fired; edit settings, backtest them over
 * the stored last N days (running vs candidate), and only then ask for them (audited); a second
 * analyst approves or anyone discards the waiting change; approved settings apply at the next
 * restart, which the page says plainly.
 */
import { useMemo, useState } from 'react';
import { Alert as Banner, App, Button, Card, Collapse, Descriptions, Input, InputNumber, Space, Statistic, Switch, Table, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, session } from '../../api/client';
import type { BacktestResult, DetectorInfo } from '../../api/types';
import { Async, ErrorState, errorToast } from '../../components/States';
import { SeverityTag, ToneTag } from '../../components/Tags';
import { useAsync } from '../../components/useAsync';
import { formatTime } from '../../format';
import { label } from '../../labels';

type Settings = Record<string, number | boolean>;

export default function DetectorsPage() {
  const { t } = useTranslation();
  const list = useAsync((signal) => api<{ applies: string; detection: boolean; detectors: DetectorInfo[] }>('GET', '/detectors', { signal }), []);
  return (
    <div data-testid="detectors-page">
      <Typography.Title level={1} className="page-title">{t('detectors.title')}</Typography.Title>
      <Banner type="info" showIcon title={t('detectors.restartNote')} style={{ marginBottom: 12 }} />
      <Async state={list} rows={8}>
        {(l) => (
          <Collapse
            items={l.detectors.map((d) => ({
              key: d.name,
              label: (
                <Space>
                  <strong>{label(t, 'detectorNames', d.name)}</strong> <Typography.Text type="secondary" className="mono">{d.name}</Typography.Text>
                  <ToneTag tone={d.enabled ? 'green' : 'grey'}>{d.enabled ? t('detectors.enabled') : t('detectors.disabled')}</ToneTag>
                  <span>{t('detectors.fired24h')}: {d.fired.last_24h}</span>
                  <span>{t('detectors.fired7d')}: {d.fired.last_7d}</span>
                  {d.pending_restart && <ToneTag tone="gold">{t('detectors.pending')}</ToneTag>}
                  {d.request && <ToneTag tone="orange">{t('detectors.awaiting')}</ToneTag>}
                </Space>
              ),
              children: <DetectorEditor d={d} onSaved={list.reload} />,
            }))}
          />
        )}
      </Async>
    </div>
  );
}

function DetectorEditor({ d, onSaved }: { d: DetectorInfo; onSaved(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const base = d.saved?.settings ?? d.settings;
  const [draft, setDraft] = useState<Settings>(base);
  const [days, setDays] = useState(7);
  const [result, setResult] = useState<{ key: string; r: BacktestResult } | null>(null);
  const [busy, setBusy] = useState<'backtest' | 'save' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reason, setReason] = useState('');
  const changed = useMemo(() => Object.fromEntries(Object.entries(draft).filter(([k, v]) => d.settings[k] !== v)), [draft, d.settings]);
  const key = JSON.stringify(changed);
  const tested = result?.key === key;

  async function backtest() {
    setBusy('backtest');
    setError(null);
    try {
      const r = await api<BacktestResult>('POST', '/detectors/backtest', { body: { detector: d.name, settings: Object.keys(changed).length ? changed : { enabled: draft.enabled ?? true }, days } });
      setResult({ key, r });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }
  async function save() {
    setBusy('save');
    try {
      await api('PUT', `/detectors/${encodeURIComponent(d.name)}`, { body: { settings: draft, reason: reason.trim() } });
      void message.success(t('detectors.requested'));
      setReason('');
      onSaved();
    } catch (err) {
      void message.error(errorToast(t, err));
    } finally {
      setBusy(null);
    }
  }

  return (
    <div>
      <Descriptions size="small" column={4} style={{ marginBottom: 12 }}>
        <Descriptions.Item label={t('detectors.fired24h')}>{d.fired.last_24h}</Descriptions.Item>
        <Descriptions.Item label={t('detectors.fired7d')}>{Object.entries(d.fired.by_severity_7d).map(([s, n]) => `${t(`severity.${s}`)} ${n}`).join(' · ') || 0}</Descriptions.Item>
        <Descriptions.Item label={t('detectors.sinceStart')}>{d.fired.since_start} ({t('detectors.folded')} {d.fired.folded_since_start})</Descriptions.Item>
        <Descriptions.Item label={t('detectors.lastFired')}>{formatTime(d.fired.last)}</Descriptions.Item>
      </Descriptions>
      {d.request && <RequestBanner d={d} onDone={onSaved} />}
      {d.saved && <Typography.Paragraph style={{ color: '#7c4a03' }}>{t('detectors.pending')} · {t('detectors.savedBy', { who: d.saved.updated_by, time: formatTime(d.saved.updated_at) })}</Typography.Paragraph>}
      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(4, minmax(0, 1fr))', gap: '8px 16px', marginBottom: 12 }}>
        {Object.entries(draft).map(([k, v]) => {
          const id = `${d.name}-${k}`;
          return (
            <div key={k}>
              <label htmlFor={id} style={{ display: 'block', fontSize: 12 }}>
                {k} {d.settings[k] !== v && <ToneTag tone="orange">{t('detectors.changed')}: {String(d.settings[k])}</ToneTag>}
              </label>
              {typeof v === 'boolean' ? (
                <Switch id={id} checked={v} onChange={(x) => setDraft({ ...draft, [k]: x })} />
              ) : (
                <InputNumber id={id} value={v} min={0} step={v % 1 === 0 ? 1 : 0.01} style={{ width: '100%' }} onChange={(x) => x !== null && setDraft({ ...draft, [k]: x })} />
              )}
            </div>
          );
        })}
      </div>
      <Space wrap style={{ marginBottom: 12 }}>
        <label htmlFor={`${d.name}-days`}>{t('detectors.backtestDays')}</label>
        <InputNumber id={`${d.name}-days`} min={1} max={30} value={days} onChange={(x) => x && setDays(x)} style={{ width: 70 }} />
        <span>{t('detectors.days')}</span>
        <Button type="primary" onClick={() => void backtest()} loading={busy === 'backtest'} data-testid={`backtest-${d.name}`}>{t('detectors.backtest')}</Button>
        <Button onClick={() => { setDraft(base); setResult(null); }}>{t('common.reset')}</Button>
      </Space>
      {error !== null && <ErrorState error={error} />}
      {result && <BacktestView r={result.r} stale={!tested} />}
      <Space.Compact style={{ width: '100%', marginTop: 12 }}>
        <Input aria-label={t('detectors.saveReason')} placeholder={t('detectors.saveReason')} value={reason} onChange={(e) => setReason(e.target.value)} maxLength={300} />
        <Button type="primary" danger disabled={!tested || reason.trim().length < 3 || Object.keys(changed).length === 0} loading={busy === 'save'} onClick={() => void save()}>
          {t('detectors.save')}
        </Button>
      </Space.Compact>
      {!tested && Object.keys(changed).length > 0 && <Typography.Text type="secondary">{t('detectors.backtestFirst')}</Typography.Text>}
    </div>
  );
}

/** The waiting settings change: who asked, why, what it changes; a second analyst approves it, anyone discards it. */
function RequestBanner({ d, onDone }: { d: DetectorInfo; onDone(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [busy, setBusy] = useState(false);
  const r = d.request!;
  const own = r.requested_by === session.account();
  const changes = Object.entries(r.settings).filter(([k, v]) => d.settings[k] !== v).map(([k, v]) => `${k}: ${String(d.settings[k])} → ${String(v)}`);
  async function act(method: 'POST' | 'DELETE', path: string, done: string) {
    setBusy(true);
    try {
      // An approval names the request shown here: one replaced since is refused (409), not approved blind.
      await api(method, `/detectors/${encodeURIComponent(d.name)}/${path}`, method === 'POST' ? { body: { requested_at: r.requested_at } } : {});
      void message.success(t(done));
      onDone();
    } catch (err) {
      void message.error(errorToast(t, err));
    } finally {
      setBusy(false);
    }
  }
  const approve = <Button type="primary" danger size="small" disabled={own || busy} onClick={() => void act('POST', 'approve', 'detectors.approved')} data-testid={`approve-${d.name}`}>{t('detectors.approveRequest')}</Button>;
  return (
    <Banner
      type="warning"
      showIcon
      style={{ marginBottom: 12 }}
      data-testid={`request-${d.name}`}
      title={`${t('detectors.awaiting')} · ${t('detectors.requestBy', { who: r.requested_by, time: formatTime(r.requested_at), reason: r.reason })}`}
      description={changes.join(' · ') || null}
      action={
        <Space>
          {own ? <Tooltip title={t('detectors.ownRequest')}><span>{approve}</span></Tooltip> : approve}
          <Button size="small" disabled={busy} onClick={() => void act('DELETE', 'request', 'detectors.discarded')}>{t('detectors.discardRequest')}</Button>
        </Space>
      }
    />
  );
}

function BacktestView({ r, stale }: { r: BacktestResult; stale: boolean }) {
  const { t } = useTranslation();
  const cols = [
    { title: '', dataIndex: 'severity', width: 80, render: (s: BacktestResult['added'][number]['severity']) => <SeverityTag severity={s} /> },
    { title: t('common.time'), dataIndex: 'ts', width: 165, render: formatTime },
    { title: t('common.account'), dataIndex: 'account', width: 110, render: (a: string | undefined, x: BacktestResult['added'][number]) => a ?? x.device },
    { title: t('alerts.summary'), dataIndex: 'summary' },
  ];
  return (
    <Card size="small" style={{ opacity: stale ? 0.6 : 1 }} data-testid="backtest-result">
      <Typography.Paragraph type="secondary">{t('detectors.eventsReplayed', { count: r.events, ms: r.ms })} ({formatTime(r.from)} – {formatTime(r.to)})</Typography.Paragraph>
      {r.truncated && <Banner type="warning" showIcon title={t('detectors.truncated')} style={{ marginBottom: 8 }} />}
      <div className="grid-2">
        <Statistic title={t('detectors.currentRaise')} value={r.current.alerts} suffix={` · ${t('detectors.accountsAffected', { count: r.current.accounts })}`} />
        <Statistic title={t('detectors.wouldRaise')} value={r.candidate.alerts} suffix={` · ${t('detectors.accountsAffected', { count: r.candidate.accounts })}`} />
      </div>
      {r.added.length > 0 && (
        <>
          <Typography.Text strong>{t('detectors.added')}</Typography.Text>
          <Table size="small" rowKey="id" pagination={{ pageSize: 5, size: 'small', hideOnSinglePage: true }} dataSource={r.added} columns={cols} />
        </>
      )}
      {r.removed.length > 0 && (
        <>
          <Typography.Text strong>{t('detectors.removed')}</Typography.Text>
          <Table size="small" rowKey="id" pagination={{ pageSize: 5, size: 'small', hideOnSinglePage: true }} dataSource={r.removed} columns={cols} />
        </>
      )}
    </Card>
  );
}

