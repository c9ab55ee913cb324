/**
 * Data-subject requests (PIPL Art. 44–47): the list with state and deadline, filing a request for
 * a person named by phone or ID number (after checking their identity), approving a pending
 * request after its review (ReviewModal), and an approved access request's report. Who may do what is the server's to decide (a deletion is
 * approved by someone other than who filed it): a refusal is shown as it is, in place.
 */
import { useState } from 'react';
import { Alert, App, Button, Card, Checkbox, Form, Input, Modal, Radio, Segmented, Select, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../../api/client';
import { useCapabilities } from '../../api/capabilities';
import type { SubjectRequest } from '../../api/types';
import { Async, EmptyState, Unavailable, errorText } from '../../components/States';
import { ToneTag } from '../../components/Tags';
import { useAsync } from '../../components/useAsync';
import { formatTime } from '../../format';
import { ReportDrawer } from './ReportDrawer';
import { RejectRequest } from './RejectRequest';
import { ReviewModal } from './ReviewModal';

type StateFilter = 'all' | SubjectRequest['state'];
const STATE_TONE = { pending_approval: 'gold', completed: 'green', rejected: 'grey' } as const;

export default function SubjectsPage() {
  const { t } = useTranslation();
  const caps = useCapabilities();
  const { message } = App.useApp();
  const [state, setState] = useState<StateFilter>('all');
  const [filing, setFiling] = useState(false);
  const [report, setReport] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState<string | null>(null);
  const [reviewing, setReviewing] = useState<SubjectRequest | null>(null);
  const available = caps ? caps.has('GET', '/subjects/requests') : null;
  const list = useAsync(async (signal) => {
    if (!available) return null;
    try {
      return await api<{ requests: SubjectRequest[] }>('GET', '/subjects/requests', { signal, query: { state: state === 'all' ? undefined : state } });
    } catch (err) {
      if (err instanceof ApiError && err.missingRoute) return null;
      throw err;
    }
  }, [available, state]);


  return (
    <div data-testid="subjects-page">
      <Typography.Title level={1} className="page-title">{t('subjects.title')}</Typography.Title>
      {available === false || (list.value === null && !list.loading) ? (
        <Unavailable what={t('subjects.title')} />
      ) : (
        <Card
          size="small"
          title={<Segmented aria-label={t('subjects.state')} value={state} onChange={(v) => setState(v as StateFilter)} options={(['all', 'pending_approval', 'completed', 'rejected'] as const).map((s) => ({ value: s, label: s === 'all' ? t('common.all') : t(`subjects.states.${s}`) }))} />}
          extra={<Button type="primary" onClick={() => setFiling(true)} data-testid="subject-new">{t('subjects.new')}</Button>}
        >
          <Typography.Paragraph type="secondary">{t('subjects.note')}</Typography.Paragraph>
          {refusal && <Alert type="error" showIcon role="alert" closable onClose={() => setRefusal(null)} title={refusal} style={{ marginBottom: 12 }} data-testid="subject-refusal" />}
          <Async state={list}>
            {(l) => (
              <Table<SubjectRequest>
                size="small"
                rowKey="id"
                data-testid="subject-list"
                dataSource={l?.requests ?? []}
                pagination={{ pageSize: 20, hideOnSinglePage: true }}
                locale={{ emptyText: <EmptyState /> }}
                onRow={(r) => ({ 'data-request': r.id }) as React.HTMLAttributes<HTMLElement>}
                columns={[
                  { title: t('subjects.kind'), dataIndex: 'kind', render: (k: SubjectRequest['kind'], r) => `${t(`subjects.kinds.${k}`)}${r.correction ? ` (${t(`subjects.fields.${r.correction.field}`, { defaultValue: r.correction.field })})` : ''}` },
                  { title: t('subjects.lookup'), dataIndex: 'lookup', render: (k: SubjectRequest['lookup']) => t(`subjects.lookups.${k}`) },
                  { title: t('subjects.state'), dataIndex: 'state', render: (s: SubjectRequest['state']) => <ToneTag tone={STATE_TONE[s]} data-testid="subject-state">{t(`subjects.states.${s}`)}</ToneTag> },
                  { title: t('subjects.received'), dataIndex: 'received_at', render: formatTime },
                  {
                    title: t('subjects.due'),
                    dataIndex: 'due_at',
                    render: (d: string, r) => (r.overdue ? <ToneTag tone="red">{t('subjects.overdue', { time: formatTime(d) })}</ToneTag> : r.state === 'pending_approval' ? formatTime(d) : <Typography.Text type="secondary">{formatTime(d)}</Typography.Text>),
                  },
                  { title: t('subjects.requestedBy'), dataIndex: 'requested_by' },
                  { title: t('subjects.approvedBy'), dataIndex: 'approved_by', render: (v: string | null) => v ?? '—' },
                  {
                    title: t('common.actions'),
                    key: 'actions',
                    render: (_v, r) => (
                      <Space size={4}>
                        {r.state === 'pending_approval' && (
                          <>
                            <Button size="small" danger onClick={() => { setRefusal(null); setReviewing(r); }} data-testid={`approve-${r.id}`}>{t(`subjects.approveKind.${r.kind}`)}</Button>
                            <Button size="small" onClick={() => setRejecting(r.id)} data-testid={`reject-${r.id}`}>{t('subjects.reject')}</Button>
                          </>
                        )}
                        {r.kind === 'access' && r.state === 'completed' && (
                          <Button size="small" onClick={() => setReport(r.id)} data-testid={`report-${r.id}`}>{t('subjects.report')}</Button>
                        )}
                      </Space>
                    ),
                  },
                ]}
              />
            )}
          </Async>
        </Card>
      )}
      <RejectRequest
        id={rejecting}
        onClose={() => setRejecting(null)}
        onDone={(err) => {
          setRejecting(null);
          if (err) setRefusal(t('subjects.refused', { reason: errorText(t, err) }));
          else {
            void message.success(t('subjects.rejected'));
            list.reload();
          }
        }}
      />
      <NewRequest
        open={filing}
        onClose={() => setFiling(false)}
        onFiled={(r) => {
          setFiling(false);
          void message.success(r.state === 'pending_approval' ? t('subjects.filedPending') : t('subjects.filed'));
          list.reload();
        }}
      />
      <ReviewModal
        request={reviewing}
        onClose={() => setReviewing(null)}
        onDone={(err) => {
          if (err) setRefusal(t('subjects.refused', { reason: errorText(t, err) }));
          else if (reviewing) void message.success(t(`subjects.approvedKind.${reviewing.kind}`));
          setReviewing(null);
          list.reload();
        }}
      />
      <ReportDrawer id={report} onClose={() => setReport(null)} />
    </div>
  );
}

interface NewRequestValues {
  kind: SubjectRequest['kind'];
  by: 'phone' | 'id_number';
  value: string;
  identity_verified: boolean;
  field?: string;
  correction?: string;
}

function NewRequest({ open, onClose, onFiled }: { open: boolean; onClose(): void; onFiled(r: SubjectRequest): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<NewRequestValues>();
  const [error, setError] = useState<string | null>(null);
  const kind = Form.useWatch('kind', form);
  const by = Form.useWatch('by', form);
  return (
    <Modal
      open={open}
      title={t('subjects.new')}
      okText={t('subjects.file')}
      cancelText={t('common.cancel')}
      onCancel={() => {
        setError(null);
        onClose();
      }}
      okButtonProps={{ 'data-testid': 'subject-file' } as Record<`data-${string}`, string>}
      destroyOnHidden
      onOk={() =>
        void form.validateFields().then(async (v) => {
          try {
            const r = await api<SubjectRequest>('POST', '/subjects/requests', {
              body: {
                kind: v.kind,
                [v.by]: v.value.trim(),
                identity_verified: v.identity_verified === true,
                ...(v.kind === 'correction' ? { correction: { field: v.field, value: v.correction ?? '' } } : {}),
              },
            });
            form.resetFields();
            setError(null);
            onFiled(r);
          } catch (err) {
            setError(errorText(t, err));
          }
        })
      }
    >
      {error && <Alert type="error" showIcon role="alert" title={error} style={{ marginBottom: 12 }} data-testid="subject-file-error" />}
      <Form form={form} layout="vertical" initialValues={{ kind: 'access', by: 'phone', identity_verified: false }} autoComplete="off">
        <Form.Item label={t('subjects.kind')} name="kind">
          <Radio.Group optionType="button" options={(['access', 'correction', 'deletion'] as const).map((k) => ({ value: k, label: t(`subjects.kinds.${k}`) }))} />
        </Form.Item>
        <Form.Item label={t('subjects.lookup')} name="by">
          <Radio.Group options={(['phone', 'id_number'] as const).map((k) => ({ value: k, label: t(`subjects.lookups.${k}`) }))} />
        </Form.Item>
        <Form.Item label={by === 'id_number' ? t('subjects.lookups.id_number') : t('subjects.lookups.phone')} name="value" rules={[{ required: true, whitespace: true, message: t('login.required') }]}>
          <Input maxLength={40} inputMode={by === 'phone' ? 'tel' : 'text'} data-testid="subject-value" />
        </Form.Item>
        {kind === 'correction' && (
          <>
            <Form.Item label={t('subjects.field')} name="field" rules={[{ required: true, message: t('login.required') }]}>
              <Select options={(['name', 'address'] as const).map((f) => ({ value: f, label: t(`subjects.fields.${f}`) }))} />
            </Form.Item>
            <Form.Item label={t('subjects.newValue')} name="correction" rules={[{ required: true, whitespace: true, message: t('login.required') }]}>
              <Input maxLength={400} />
            </Form.Item>
          </>
        )}
        {kind === 'deletion' && <Alert type="warning" showIcon title={t('subjects.deletionNote')} style={{ marginBottom: 12 }} />}
        <Form.Item name="identity_verified" valuePropName="checked" rules={[{ validator: (_r, v) => (v ? Promise.resolve() : Promise.reject(new Error(t('subjects.verifyFirst')))) }]}>
          <Checkbox data-testid="subject-verified">{t('subjects.verified')}</Checkbox>
        </Form.Item>
      </Form>
    </Modal>
  );
}
