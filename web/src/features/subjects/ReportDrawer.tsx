/**
 * The access report of a request (PIPL Art. 45): the person's records as held (masked), and who
 * saw them in full, when and why; and the Chinese document the person may be given, downloaded as
 * Markdown. Each read is audited by the server.
 */
import { useState } from 'react';
import { Alert, Button, Descriptions, Drawer, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, download } from '../../api/client';
import type { AccessReport } from '../../api/types';
import { Async, EmptyState, errorText } from '../../components/States';
import { ToneTag } from '../../components/Tags';
import { useAsync } from '../../components/useAsync';
import { formatTime } from '../../format';

const STATUS_TONE = { held: 'green', partly_purged: 'gold', erased: 'grey' } as const;

export function ReportDrawer({ id, onClose }: { id: string | null; onClose(): void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  const report = useAsync((signal) => (id ? api<AccessReport>('GET', `/subjects/requests/${encodeURIComponent(id)}/report`, { signal }) : Promise.resolve(null)), [id]);

  async function save() {
    if (!id) return;
    setError(null);
    try {
      await download(`/subjects/requests/${encodeURIComponent(id)}/report`, { format: 'md' }, `access-report-${id}.md`);
    } catch (err) {
      setError(errorText(t, err));
    }
  }

  return (
    <Drawer
      open={id !== null}
      onClose={() => {
        setError(null);
        onClose();
      }}
      size={760}
      title={t('subjects.reportTitle')}
      extra={<Button onClick={() => void save()} data-testid="report-download">{t('subjects.download')}</Button>}
    >
      {error && <Alert type="error" showIcon role="alert" title={error} style={{ marginBottom: 12 }} />}
      <Async state={report}>
        {(r) =>
          r ? (
            <div data-testid="access-report">
              <Descriptions size="small" column={2} style={{ marginBottom: 12 }}>
                <Descriptions.Item label={t('subjects.received')}>{formatTime(r.request.received_at)}</Descriptions.Item>
                <Descriptions.Item label={t('subjects.due')}>{formatTime(r.request.due_at)}</Descriptions.Item>
                <Descriptions.Item label={t('subjects.generated')}>{formatTime(r.generated_at)}</Descriptions.Item>
              </Descriptions>
              {r.erased && <Alert type="info" showIcon title={t('subjects.erased')} style={{ marginBottom: 12 }} />}
              {r.truncated && <Alert type="warning" showIcon title={t('subjects.truncated')} style={{ marginBottom: 12 }} />}
              <Typography.Title level={2} style={{ fontSize: 14 }}>{t('subjects.records')}</Typography.Title>
              <Table
                size="small"
                rowKey={(x) => `${x.waybill}:${x.party}`}
                data-testid="report-records"
                dataSource={r.records}
                pagination={{ pageSize: 10, hideOnSinglePage: true }}
                locale={{ emptyText: <EmptyState text={t('subjects.noRecords')} /> }}
                columns={[
                  { title: t('account.waybill'), dataIndex: 'waybill', className: 'mono' },
                  { title: t('subjects.party'), dataIndex: 'party', render: (p: 'sender' | 'recipient') => t(`subjects.parties.${p}`) },
                  { title: t('common.time'), dataIndex: 'created_at', render: formatTime },
                  { title: t('subjects.maskedName'), key: 'name', render: (_v, x) => x.masked?.name ?? '—' },
                  { title: t('subjects.maskedPhone'), key: 'phone', render: (_v, x) => <span className="mono">{x.masked?.phone ?? '—'}</span> },
                  { title: t('subjects.maskedAddress'), key: 'address', render: (_v, x) => x.masked?.address ?? '—' },
                  { title: t('common.status'), dataIndex: 'status', render: (s: keyof typeof STATUS_TONE) => <ToneTag tone={STATUS_TONE[s]}>{t(`subjects.recordStatus.${s}`)}</ToneTag> },
                ]}
              />
              <Typography.Title level={2} style={{ fontSize: 14, marginTop: 16 }}>{t('subjects.reveals')}</Typography.Title>
              <Table
                size="small"
                rowKey={(x) => `${x.ts}:${x.account}:${x.waybill}`}
                data-testid="report-reveals"
                dataSource={r.reveals}
                pagination={{ pageSize: 10, hideOnSinglePage: true }}
                locale={{ emptyText: <EmptyState text={t('subjects.noReveals')} /> }}
                columns={[
                  { title: t('common.time'), dataIndex: 'ts', render: formatTime },
                  { title: t('common.account'), dataIndex: 'account', render: (a: string | null, x) => <Space size={4}>{a ?? '—'}{x.role && <Typography.Text type="secondary">{t(`roles.${x.role}`, { defaultValue: x.role })}</Typography.Text>}</Space> },
                  { title: t('common.site'), dataIndex: 'site', render: (s: string | null) => s ?? '—' },
                  { title: t('account.waybill'), dataIndex: 'waybill', className: 'mono' },
                  { title: t('account.fields'), dataIndex: 'fields', render: (f: string[]) => f.join(', ') },
                  { title: t('account.purpose'), dataIndex: 'purpose', render: (p: string | null) => p ?? '—' },
                  { title: t('subjects.basis'), dataIndex: 'basis', render: (b: string | null) => (b ? t(`basis.${b}`, { defaultValue: b }) : '—') },
                ]}
              />
            </div>
          ) : null
        }
      </Async>
    </Drawer>
  );
}
