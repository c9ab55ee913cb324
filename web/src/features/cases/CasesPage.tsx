/**
 * Cases: open a case naming what it covers, approve another analyst's case, close one, and see
 * the reveals each case backed. Built on the planned /cases API; shown as unavailable until the
 * server offers it.
 */
import { useEffect, useState } from 'react';
import { Alert as Banner, App, Button, Card, Drawer, Form, Input, Segmented, Table, Tooltip, Typography } from 'antd';
import { ToneTag } from '../../components/Tags';
import { useTranslation } from 'react-i18next';
import { api, ApiError, session } from '../../api/client';
import { useCapabilities } from '../../api/capabilities';
import type { CaseInfo } from '../../api/types';
import { Async, EmptyState, Unavailable, errorToast } from '../../components/States';
import { useAsync } from '../../components/useAsync';
import { formatTime } from '../../format';
import { FormModal } from '../../components/FormModal';

/** What GET /cases answers: a page, with `next_cursor` once the server pages (null on the last page). */
interface CasePage {
  cases: CaseInfo[];
  next_cursor?: string | null;
}
/** The server's page when no limit is sent. */
const SERVER_PAGE = 100;

const lines = (s: string | undefined) => (s ?? '').split(/\s+/).map((x) => x.trim()).filter(Boolean);

export default function CasesPage() {
  const { t } = useTranslation();
  const caps = useCapabilities();
  const { message } = App.useApp();
  const [status, setStatus] = useState<'all' | 'pending' | 'open' | 'closed'>('all');
  const [creating, setCreating] = useState(false);
  const [detail, setDetail] = useState<string | null>(null);
  const available = caps ? caps.has('GET', '/cases') : null;
  const list = useAsync(async (signal) => {
    if (!available) return null;
    try {
      return await api<CasePage>('GET', '/cases', { signal, query: { status: status === 'all' ? undefined : status } });
    } catch (err) {
      if (err instanceof ApiError && err.missingRoute) return null;
      throw err;
    }
  }, [available, status]);
  const me = session.account();
  // Older pages, appended by "load more" while the server hands out a cursor.
  const [older, setOlder] = useState<{ cases: CaseInfo[]; next: string | null } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  useEffect(() => setOlder(null), [list.value]);
  const first = list.value ?? null;
  const next = older ? older.next : first?.next_cursor ?? null;
  // The cursor goes back under the name the server's OpenAPI gives it (the alerts take `before`).
  const cursorParam = (['cursor', 'before', 'after'] as const).find((p) => caps?.queryParam('GET', '/cases', p)) ?? 'cursor';
  // No cursor field at all: the server does not page, so a full answer may leave older cases out.
  const capped = first !== null && first.next_cursor === undefined && first.cases.length >= SERVER_PAGE;
  const shown = first ? dedupe([...first.cases, ...(older?.cases ?? [])]) : [];
  async function loadMore() {
    if (!next) return;
    setLoadingMore(true);
    try {
      const r = await api<CasePage>('GET', '/cases', { query: { status: status === 'all' ? undefined : status, [cursorParam]: next } });
      setOlder({ cases: [...(older?.cases ?? []), ...r.cases], next: r.next_cursor ?? null });
    } catch (err) {
      void message.error(errorToast(t, err));
    } finally {
      setLoadingMore(false);
    }
  }

  async function act(path: string, body?: unknown) {
    try {
      await api('POST', path, body === undefined ? {} : { body });
      void message.success(t('common.actionDone'));
      list.reload();
    } catch (err) {
      void message.error(errorToast(t, err));
    }
  }

  return (
    <div data-testid="cases-page">
      <Typography.Title level={1} className="page-title">{t('cases.title')}</Typography.Title>
      {available === false || (list.value === null && !list.loading) ? (
        <>
          <Unavailable what={t('cases.title')} />
          <Button style={{ marginTop: 12 }} disabled>{t('cases.open')}</Button>
        </>
      ) : (
        <Card
          size="small"
          title={<Segmented aria-label={t('cases.status')} value={status} onChange={(v) => setStatus(v as typeof status)} options={[{ value: 'all', label: t('common.all') }, { value: 'pending', label: t('cases.pending') }, { value: 'open', label: t('cases.opened') }, { value: 'closed', label: t('cases.closed') }]} />}
          extra={<Button type="primary" onClick={() => setCreating(true)}>{t('cases.open')}</Button>}
        >
          {capped && <Banner type="info" showIcon title={t('cases.newestOnly', { count: SERVER_PAGE })} style={{ marginBottom: 8 }} data-testid="cases-capped" />}
          <Async state={list}>
            {() => (
              <Table<CaseInfo>
                size="small"
                rowKey="id"
                dataSource={shown}
                pagination={{ pageSize: 20, hideOnSinglePage: true }}
                locale={{ emptyText: <EmptyState /> }}
                columns={[
                  { title: t('cases.caseTitle'), dataIndex: 'title', render: (v: string, c) => <Button type="link" style={{ padding: 0 }} onClick={() => setDetail(c.id)}>{v}</Button> },
                  { title: t('cases.status'), dataIndex: 'status', render: (s: CaseInfo['status']) => <ToneTag tone={s === 'open' ? 'green' : s === 'pending' ? 'gold' : 'grey'}>{t(`cases.${s === 'open' ? 'opened' : s}`)}</ToneTag> },
                  { title: t('cases.openedBy'), dataIndex: 'opened_by' },
                  { title: t('cases.approvedBy'), dataIndex: 'approved_by', render: (v: string | null) => v ?? '—' },
                  { title: t('cases.waybills'), dataIndex: 'waybills', render: (w: string[]) => w.length },
                  { title: t('cases.created'), dataIndex: 'created_at', render: formatTime },
                  {
                    title: t('common.actions'),
                    key: 'actions',
                    render: (_, c) => (
                      <>
                        {c.status === 'pending' && (
                          <Tooltip title={c.opened_by === me ? t('cases.ownCase') : null}>
                            <Button size="small" disabled={c.opened_by === me} onClick={() => void act(`/cases/${encodeURIComponent(c.id)}/approve`)}>{t('cases.approve')}</Button>
                          </Tooltip>
                        )}
                        {c.status !== 'closed' && <Button size="small" style={{ marginLeft: 4 }} onClick={() => void act(`/cases/${encodeURIComponent(c.id)}/close`, {})}>{t('cases.close')}</Button>}
                      </>
                    ),
                  },
                ]}
              />
            )}
          </Async>
          {next && <div style={{ textAlign: 'center', marginTop: 8 }}><Button onClick={() => void loadMore()} loading={loadingMore} data-testid="cases-more">{t('common.loadMore')}</Button></div>}
        </Card>
      )}
      <NewCase open={creating} onClose={() => setCreating(false)} onCreated={() => { setCreating(false); void message.success(t('cases.created_ok')); list.reload(); }} />
      <CaseDrawer id={detail} onClose={() => setDetail(null)} />
    </div>
  );
}

function NewCase({ open, onClose, onCreated }: { open: boolean; onClose(): void; onCreated(): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ title: string; reason: string; waybills?: string; accounts?: string }>();
  return (
    <FormModal
      open={open}
      title={t('cases.open')}
      form={form}
      onClose={onClose}
      submit={(v) => api('POST', '/cases', { body: { title: v.title, reason: v.reason, waybills: lines(v.waybills), accounts: lines(v.accounts) } })}
      onDone={onCreated}
    >
      <Form form={form} layout="vertical">
        <Form.Item label={t('cases.caseTitle')} name="title" rules={[{ required: true, message: t('login.required') }]}><Input maxLength={200} /></Form.Item>
        <Form.Item label={t('cases.reason')} name="reason" rules={[{ required: true, message: t('login.required') }]}><Input.TextArea rows={2} maxLength={1000} /></Form.Item>
        <Form.Item label={t('cases.waybills')} name="waybills"><Input.TextArea rows={3} /></Form.Item>
        <Form.Item label={t('cases.accounts')} name="accounts"><Input.TextArea rows={2} /></Form.Item>
      </Form>
    </FormModal>
  );
}

function CaseDrawer({ id, onClose }: { id: string | null; onClose(): void }) {
  const { t } = useTranslation();
  const c = useAsync((signal) => (id ? api<CaseInfo>('GET', `/cases/${encodeURIComponent(id)}`, { signal }) : Promise.resolve(null)), [id]);
  return (
    <Drawer open={id !== null} onClose={onClose} size={560} title={c.value?.title}>
      <Async state={c}>
        {(x) =>
          x ? (
            <>
              <Typography.Paragraph>{x.reason}</Typography.Paragraph>
              <Typography.Paragraph className="mono">{x.waybills.join(' ')}</Typography.Paragraph>
              <Typography.Title level={2} style={{ fontSize: 14 }}>{t('cases.reveals')}</Typography.Title>
              <Table
                size="small"
                rowKey="seq"
                dataSource={x.reveals ?? []}
                pagination={{ pageSize: 10, hideOnSinglePage: true }}
                locale={{ emptyText: <EmptyState /> }}
                columns={[
                  { title: t('common.time'), dataIndex: 'ts', render: formatTime },
                  { title: t('common.account'), dataIndex: 'account' },
                  { title: t('account.waybill'), dataIndex: 'waybill', className: 'mono' },
                  { title: t('account.fields'), dataIndex: 'fields', render: (f: string[] | string) => (Array.isArray(f) ? f.join(', ') : f) },
                ]}
              />
            </>
          ) : null
        }
      </Async>
    </Drawer>
  );
}

/** Pages may overlap when cases arrive between two loads: each case once, first seen kept. */
function dedupe(cases: CaseInfo[]): CaseInfo[] {
  const seen = new Set<string>();
  return cases.filter((c) => !seen.has(c.id) && (seen.add(c.id), true));
}
