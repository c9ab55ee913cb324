/**
 * Audit: the hash chain's state (verify on demand), the last signed tree head and the witnesses,
 * a search of the trail by waybill, account, kind and time (never PII: entries hold none), and a
 * CSV export for an auditor. Routes the server does not offer yet are shown as unavailable.
 */
import { useState } from 'react';
import { App, Button, Card, DatePicker, Descriptions, Form, Input, Result, Table, Typography } from 'antd';
import { ToneTag } from '../../components/Tags';
import type { Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api, download } from '../../api/client';
import { useCapabilities } from '../../api/capabilities';
import type { AuditEntry } from '../../api/types';
import { Async, EmptyState, ErrorState, Unavailable, errorToast } from '../../components/States';
import { useAsync } from '../../components/useAsync';
import { formatTime } from '../../format';
import { decisionText, label } from '../../labels';

interface Head { tree_size: number; root_hash: string; timestamp: string; key_id: string; signature: string }
interface Status { head: Head | null; witnesses: Array<{ sink: string; last_size: number; last_at: string; ok: boolean; error?: string }>; last_verify?: unknown }
interface Verify { ok: boolean; last_seq?: number; entries?: number; checked?: number; first_bad_seq?: number; reason?: string; [k: string]: unknown }
interface Search { account?: string; waybill?: string; kind?: string; range?: [Dayjs | null, Dayjs | null] | null }

export default function AuditPage() {
  const { t } = useTranslation();
  const caps = useCapabilities();
  return (
    <div data-testid="audit-page">
      <Typography.Title level={1} className="page-title">{t('audit.title')}</Typography.Title>
      <div className="grid-2">
        <ChainCard />
        <HeadCard available={caps ? caps.has('GET', '/audit/status') || caps.has('GET', '/audit/head') : null} hasStatus={caps?.has('GET', '/audit/status') ?? false} />
      </div>
      <SearchCard available={caps ? caps.has('GET', '/audit/entries') : null} csv={caps?.has('GET', '/audit/entries.csv') ?? false} />
    </div>
  );
}

function ChainCard() {
  const { t } = useTranslation();
  const [state, setState] = useState<{ busy: boolean; result: Verify | null; error: unknown }>({ busy: false, result: null, error: null });
  async function verify() {
    setState({ busy: true, result: null, error: null });
    try {
      setState({ busy: false, result: await api<Verify>('GET', '/audit/verify', { answerStatuses: [409] }), error: null });
    } catch (err) {
      // A broken chain answers 409 with the same body.
      setState({ busy: false, result: null, error: err });
    }
  }
  const r = state.result;
  const count = r ? (r.entries ?? r.last_seq ?? 0) : 0;
  return (
    <Card size="small" title={t('audit.chain')} extra={<Button onClick={() => void verify()} loading={state.busy} type="primary">{state.busy ? t('audit.verifying') : t('audit.verify')}</Button>}>
      {state.error !== null ? (
        <ErrorState error={state.error} />
      ) : r ? (
        r.ok ? <Result status="success" title={t('audit.chainOk', { count })} /> : <Result status="error" title={t('audit.chainBad', { seq: r.first_bad_seq ?? '?', reason: r.reason ?? '' })} />
      ) : (
        <Typography.Text type="secondary">{t('audit.notVerified')}</Typography.Text>
      )}
    </Card>
  );
}

function HeadCard({ available, hasStatus }: { available: boolean | null; hasStatus: boolean }) {
  const { t } = useTranslation();
  const status = useAsync(async (signal) => {
    if (!available) return null;
    if (hasStatus) return api<Status>('GET', '/audit/status', { signal });
    return { head: await api<Head>('GET', '/audit/head', { signal }), witnesses: [] } as Status;
  }, [available, hasStatus]);
  if (available === false) return <Card size="small" title={t('audit.head')}><Unavailable what={t('audit.head')} /></Card>;
  return (
    <Card size="small" title={t('audit.head')}>
      <Async state={status}>
        {(s) =>
          s?.head ? (
            <>
              <Descriptions size="small" column={1}>
                <Descriptions.Item label={t('audit.treeSize')}>{s.head.tree_size}</Descriptions.Item>
                <Descriptions.Item label={t('audit.rootHash')}><span className="mono">{s.head.root_hash}</span></Descriptions.Item>
                <Descriptions.Item label={t('audit.keyId')}><span className="mono">{s.head.key_id}</span></Descriptions.Item>
                <Descriptions.Item label={t('audit.signedAt')}>{formatTime(s.head.timestamp)}</Descriptions.Item>
              </Descriptions>
              <Table
                size="small"
                rowKey="sink"
                pagination={false}
                dataSource={s.witnesses}
                locale={{ emptyText: <EmptyState /> }}
                columns={[
                  { title: t('audit.sink'), dataIndex: 'sink' },
                  { title: t('audit.lastSize'), dataIndex: 'last_size' },
                  { title: t('audit.lastAt'), dataIndex: 'last_at', render: formatTime },
                  { title: t('common.status'), dataIndex: 'ok', render: (ok: boolean, w) => <ToneTag tone={ok ? 'green' : 'red'}>{ok ? t('audit.ok') : `${t('audit.failing')}${w.error ? `: ${w.error}` : ''}`}</ToneTag> },
                ]}
              />
            </>
          ) : (
            <EmptyState />
          )
        }
      </Async>
    </Card>
  );
}

function SearchCard({ available, csv }: { available: boolean | null; csv: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [filters, setFilters] = useState<Record<string, string | undefined> | null>(null);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const toQuery = (s: Search) => ({ account: s.account || undefined, waybill: s.waybill || undefined, kind: s.kind || undefined, since: s.range?.[0]?.toDate().toISOString(), until: s.range?.[1]?.toDate().toISOString() });
  async function load(q: Record<string, string | undefined>, before: number | null) {
    setLoading(true);
    setError(null);
    try {
      const r = await api<{ entries: AuditEntry[]; next_before_seq: number | null }>('GET', '/audit/entries', { query: { ...q, limit: 100, before_seq: before ?? undefined } });
      setEntries((prev) => [...(before ? prev : []), ...r.entries]);
      setNext(r.next_before_seq);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  }
  if (available === false) return <Card size="small" title={t('audit.search')}><Unavailable what={t('audit.search')} /></Card>;
  return (
    <Card size="small" title={t('audit.search')} extra={<Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('audit.noPii')}</Typography.Text>}>
      <Form<Search>
        layout="inline"
        onFinish={(s) => {
          const q = toQuery(s);
          setFilters(q);
          void load(q, null);
        }}
        style={{ marginBottom: 12 }}
      >
        <Form.Item label={t('audit.waybill')} name="waybill"><Input allowClear style={{ width: 160 }} /></Form.Item>
        <Form.Item label={t('audit.account')} name="account"><Input allowClear style={{ width: 120 }} /></Form.Item>
        <Form.Item label={t('audit.kind')} name="kind"><Input allowClear style={{ width: 130 }} placeholder="access.reveal" /></Form.Item>
        <Form.Item label={t('common.time')} name="range"><DatePicker.RangePicker showTime style={{ width: 330 }} /></Form.Item>
        <Button type="primary" htmlType="submit" loading={loading}>{t('common.search')}</Button>
        <Button
          style={{ marginLeft: 8 }}
          disabled={!csv || !filters}
          onClick={() => void download('/audit/entries.csv', filters ?? {}, 'warden-audit.csv').catch((err: unknown) => message.error(errorToast(t, err)))}
        >
          {t('audit.exportCsv')}
        </Button>
      </Form>
      {error !== null && <ErrorState error={error} />}
      <Table<AuditEntry>
        size="small"
        rowKey="seq"
        loading={loading}
        dataSource={entries}
        pagination={false}
        locale={{ emptyText: <EmptyState /> }}
        columns={[
          { title: '#', dataIndex: 'seq', width: 80 },
          { title: t('common.time'), dataIndex: 'ts', render: formatTime, width: 170 },
          { title: t('audit.kind'), dataIndex: 'kind', width: 140, render: (k: string) => <span title={k}>{label(t, 'kinds', k)}</span> },
          { title: t('audit.account'), dataIndex: 'account', width: 110 },
          { title: t('audit.waybill'), dataIndex: 'waybill', className: 'mono', width: 150 },
          { title: t('audit.fields'), dataIndex: 'fields', render: (f: AuditEntry['fields']) => (Array.isArray(f) ? f.join(', ') : f ?? '') },
          { title: t('audit.decision'), dataIndex: 'decision', render: (d: string, e) => decisionText(t, d, e.reason) },
        ]}
      />
      {next && <div style={{ textAlign: 'center', marginTop: 8 }}><Button onClick={() => void load(filters ?? {}, next)} loading={loading}>{t('common.loadMore')}</Button></div>}
    </Card>
  );
}
