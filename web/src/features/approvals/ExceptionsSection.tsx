/**
 * Detection exceptions ("this account / device / network / app build is fine until a date"):
 * listed as pending, active or expired; asked for (at most 90 days); approved by a second analyst;
 * removed (detection back on). Who may do what is the server's (nobody about themselves).
 */
import { useState } from 'react';
import { App, Button, Card, DatePicker, Form, Input, Popconfirm, Segmented, Select, Space, Table, Tooltip, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api, ApiError, session } from '../../api/client';
import { useCapabilities } from '../../api/capabilities';
import { exceptionState } from '../../api/approvals';
import { EXCEPTION_KINDS, type DetectionExceptionInfo, type ExceptionKind } from '../../api/types';
import { Async, EmptyState, Unavailable, errorToast } from '../../components/States';
import { FormModal } from '../../components/FormModal';
import { ToneTag } from '../../components/Tags';
import { useAsync } from '../../components/useAsync';
import { formatTime } from '../../format';

/** The server's limit (src/watch/exceptions.ts MAX_EXCEPTION_DAYS). */
export const MAX_EXCEPTION_DAYS = 90;
type Filter = 'all' | 'pending' | 'active' | 'expired';
const TONE = { pending: 'gold', active: 'green', expired: 'grey' } as const;

export function ExceptionsSection({ tick, onChanged }: { tick: number; onChanged(): void }) {
  const { t } = useTranslation();
  const caps = useCapabilities();
  const { message } = App.useApp();
  const [filter, setFilter] = useState<Filter>('all');
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const available = caps ? caps.has('GET', '/exceptions') : null;
  const list = useAsync(async (signal) => {
    if (!available) return null;
    try {
      return (await api<{ exceptions: DetectionExceptionInfo[] }>('GET', '/exceptions', { signal })).exceptions;
    } catch (err) {
      if (err instanceof ApiError && err.missingRoute) return null;
      throw err;
    }
  }, [available, tick]);
  const me = session.account();

  async function act(method: 'POST' | 'DELETE', path: string, done: string) {
    setBusy(true);
    try {
      await api(method, path);
      void message.success(t(done));
    } catch (err) {
      void message.error(errorToast(t, err));
    } finally {
      setBusy(false);
      onChanged();
    }
  }

  const aboutMe = (x: DetectionExceptionInfo) => me !== null && (x.account === me || (x.kind === 'account' && x.value === me));
  const columns = [
    { title: t('exceptions.state'), key: 'state', width: 100, render: (_: unknown, x: DetectionExceptionInfo) => <ToneTag tone={TONE[exceptionState(x)]}>{t(`exceptions.states.${exceptionState(x)}`)}</ToneTag> },
    { title: t('exceptions.kind'), dataIndex: 'kind', width: 110, render: (k: ExceptionKind) => t(`exceptions.kinds.${k}`) },
    { title: t('exceptions.value'), dataIndex: 'value', className: 'mono' },
    { title: t('common.account'), dataIndex: 'account', width: 110, render: (a: string | null) => a ?? '—' },
    { title: t('exceptions.until'), dataIndex: 'until', width: 165, render: formatTime },
    { title: t('common.reason'), dataIndex: 'reason' },
    { title: t('approvals.requestedBy'), dataIndex: 'created_by', width: 110 },
    { title: t('exceptions.approvedBy'), dataIndex: 'approved_by', width: 110, render: (a: string | null) => a ?? '—' },
    {
      title: t('common.actions'),
      key: 'actions',
      width: 200,
      render: (_: unknown, x: DetectionExceptionInfo) => {
        const blocked = aboutMe(x) ? 'about_you' : x.created_by === me ? 'own_request' : null;
        const approve = (
          <Button size="small" type="primary" disabled={busy || blocked !== null} data-testid={`exception-approve-${x.id}`} onClick={() => void act('POST', `/exceptions/${encodeURIComponent(x.id)}/approve`, 'exceptions.approved')}>
            {t('approvals.approve')}
          </Button>
        );
        return (
          <Space wrap>
            {exceptionState(x) === 'pending' && (blocked ? <Tooltip title={t(`approvals.blocked.${blocked}`)}><span>{approve}</span></Tooltip> : approve)}
            <Popconfirm title={t('exceptions.removeConfirm')} okText={t('common.confirm')} cancelText={t('common.cancel')} onConfirm={() => void act('DELETE', `/exceptions/${encodeURIComponent(x.id)}`, 'exceptions.removed')} disabled={aboutMe(x)}>
              <Button size="small" disabled={busy || aboutMe(x)} data-testid={`exception-remove-${x.id}`}>{t('exceptions.remove')}</Button>
            </Popconfirm>
          </Space>
        );
      },
    },
  ];

  return (
    <Card
      size="small"
      data-testid="exceptions"
      title={<Typography.Title level={2} style={{ fontSize: 15, margin: 0 }}>{t('exceptions.title')}</Typography.Title>}
      extra={<Button type="primary" disabled={!available} onClick={() => setAsking(true)} data-testid="exception-new">{t('exceptions.new')}</Button>}
    >
      <Typography.Paragraph type="secondary">{t('exceptions.note', { days: MAX_EXCEPTION_DAYS })}</Typography.Paragraph>
      {available === false || (list.value === null && !list.loading) ? (
        <Unavailable what={t('exceptions.title')} />
      ) : (
        <>
          <Segmented
            aria-label={t('exceptions.state')}
            value={filter}
            onChange={(v) => setFilter(v as Filter)}
            options={(['all', 'pending', 'active', 'expired'] as const).map((f) => ({ value: f, label: f === 'all' ? t('common.all') : t(`exceptions.states.${f}`) }))}
            style={{ marginBottom: 8 }}
          />
          <Async state={list}>
            {(l) => (
              <Table<DetectionExceptionInfo>
                size="small"
                rowKey="id"
                data-testid="exception-list"
                dataSource={(l ?? []).filter((x) => filter === 'all' || exceptionState(x) === filter)}
                pagination={{ pageSize: 20, hideOnSinglePage: true }}
                locale={{ emptyText: <EmptyState /> }}
                onRow={(x) => ({ 'data-exception': x.id } as React.HTMLAttributes<HTMLElement>)}
                columns={columns}
              />
            )}
          </Async>
        </>
      )}
      <NewException
        open={asking}
        onClose={() => setAsking(false)}
        onDone={() => {
          setAsking(false);
          void message.success(t('exceptions.requested'));
          onChanged();
        }}
      />
    </Card>
  );
}

interface ExceptionForm { kind: ExceptionKind; value: string; account?: string; until: Dayjs; reason: string }

function NewException({ open, onClose, onDone }: { open: boolean; onClose(): void; onDone(): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<ExceptionForm>();
  const kind = Form.useWatch('kind', form);
  const latest = () => dayjs().add(MAX_EXCEPTION_DAYS, 'day');
  return (
    <FormModal
      open={open}
      title={t('exceptions.new')}
      form={form}
      onClose={onClose}
      submit={(v) =>
        api('POST', '/exceptions', {
          body: { kind: v.kind, value: v.value.trim(), ...(v.kind !== 'account' && v.account?.trim() ? { account: v.account.trim() } : {}), until: v.until.toDate().toISOString(), reason: v.reason.trim() },
        })
      }
      onDone={onDone}
    >
      <Form form={form} layout="vertical" initialValues={{ kind: 'account', until: dayjs().add(7, 'day') }} data-testid="exception-form">
        <Form.Item label={t('exceptions.kind')} name="kind" rules={[{ required: true, message: t('login.required') }]}>
          <Select options={EXCEPTION_KINDS.map((k) => ({ value: k, label: t(`exceptions.kinds.${k}`) }))} />
        </Form.Item>
        <Form.Item label={kind === 'account' ? t('common.account') : t('exceptions.value')} name="value" extra={t(`exceptions.valueHint.${kind ?? 'account'}`)} rules={[{ required: true, whitespace: true, message: t('login.required') }, { max: 200 }]}>
          <Input data-testid="exception-value" />
        </Form.Item>
        {kind !== 'account' && (
          <Form.Item label={t('exceptions.onlyAccount')} name="account" extra={t('exceptions.onlyAccountHint')} rules={[{ max: 64 }]}>
            <Input />
          </Form.Item>
        )}
        <Form.Item
          label={t('exceptions.until')}
          name="until"
          extra={t('exceptions.untilHint', { days: MAX_EXCEPTION_DAYS })}
          rules={[
            { required: true, message: t('login.required') },
            { validator: (_r, v: Dayjs | null) => (!v || (v.isAfter(dayjs()) && !v.isAfter(latest())) ? Promise.resolve() : Promise.reject(new Error(t('exceptions.untilHint', { days: MAX_EXCEPTION_DAYS })))) },
          ]}
        >
          <DatePicker showTime disabledDate={(d) => d.isBefore(dayjs(), 'day') || d.isAfter(latest(), 'day')} style={{ width: 240 }} data-testid="exception-until" />
        </Form.Item>
        <Form.Item label={t('common.reason')} name="reason" rules={[{ required: true, whitespace: true, message: t('login.required') }, { min: 3, max: 500 }]}>
          <Input.TextArea rows={2} maxLength={500} data-testid="exception-reason" />
        </Form.Item>
      </Form>
    </FormModal>
  );
}
