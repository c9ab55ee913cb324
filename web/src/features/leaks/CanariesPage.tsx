/**
 * Canary records: the protected list (security analysts; every read audited by the server), and
 * planting or rotating them. Canaries look like any other waybill everywhere else; only here are
 * they told apart.
 */
import { useState } from 'react';
import { App, Button, Card, Form, InputNumber, Input, Popconfirm, Space, Switch, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../../api/client';
import { useCapabilities } from '../../api/capabilities';
import type { Canary } from '../../api/types';
import { Async, EmptyState, Unavailable, errorToast } from '../../components/States';
import { FormModal } from '../../components/FormModal';
import { ToneTag } from '../../components/Tags';
import { useAsync } from '../../components/useAsync';
import { formatTime } from '../../format';

export default function CanariesPage() {
  const { t } = useTranslation();
  const caps = useCapabilities();
  const { message } = App.useApp();
  const [retired, setRetired] = useState(false);
  const [planting, setPlanting] = useState(false);
  const available = caps ? caps.has('GET', '/canaries') : null;
  const list = useAsync(async (signal) => {
    if (!available) return null;
    try {
      return await api<{ canaries: Canary[] }>('GET', '/canaries', { signal, query: { include_retired: retired ? 'true' : undefined, limit: 1000 } });
    } catch (err) {
      if (err instanceof ApiError && err.missingRoute) return null;
      throw err;
    }
  }, [available, retired]);

  async function rotate() {
    try {
      const r = await api<{ retired: number; planted: number }>('POST', '/canaries/rotate', { body: {} });
      void message.success(t('canaries.rotated', { retired: r.retired, planted: r.planted }));
      list.reload();
    } catch (err) {
      void message.error(errorToast(t, err));
    }
  }

  return (
    <div data-testid="canaries-page">
      <Typography.Title level={1} className="page-title">{t('canaries.title')}</Typography.Title>
      {available === false || (list.value === null && !list.loading) ? (
        <Unavailable what={t('canaries.title')} />
      ) : (
        <Card
          size="small"
          title={
            <Space>
              <Switch checked={retired} onChange={setRetired} aria-label={t('canaries.includeRetired')} />
              <span>{t('canaries.includeRetired')}</span>
            </Space>
          }
          extra={
            <Space>
              <Popconfirm title={t('canaries.rotateConfirm')} okText={t('common.confirm')} cancelText={t('common.cancel')} onConfirm={() => void rotate()}>
                <Button>{t('canaries.rotate')}</Button>
              </Popconfirm>
              <Button type="primary" onClick={() => setPlanting(true)} data-testid="canary-plant">{t('canaries.plant')}</Button>
            </Space>
          }
        >
          <Typography.Paragraph type="secondary">{t('canaries.note')}</Typography.Paragraph>
          <Async state={list}>
            {(l) => (
              <Table<Canary>
                size="small"
                rowKey="waybill"
                data-testid="canary-list"
                dataSource={l?.canaries ?? []}
                pagination={{ pageSize: 20, hideOnSinglePage: true }}
                locale={{ emptyText: <EmptyState text={t('canaries.none')} /> }}
                columns={[
                  { title: t('account.waybill'), dataIndex: 'waybill', className: 'mono' },
                  { title: t('canaries.batch'), dataIndex: 'batch', className: 'mono' },
                  { title: t('canaries.kind'), dataIndex: 'export_id', render: (x: string | null) => (x ? t('canaries.forExport', { id: x }) : t('canaries.vault')) },
                  { title: t('canaries.plantedAt'), dataIndex: 'planted_at', render: formatTime },
                  { title: t('canaries.plantedBy'), dataIndex: 'planted_by' },
                  { title: t('common.status'), dataIndex: 'retired_at', render: (x: string | null) => (x ? <ToneTag tone="grey">{t('canaries.retiredAt', { time: formatTime(x) })}</ToneTag> : <ToneTag tone="green">{t('canaries.live')}</ToneTag>) },
                ]}
              />
            )}
          </Async>
        </Card>
      )}
      <Plant open={planting} onClose={() => setPlanting(false)} onPlanted={(n) => { setPlanting(false); void message.success(t('canaries.planted', { count: n })); list.reload(); }} />
    </div>
  );
}

function Plant({ open, onClose, onPlanted }: { open: boolean; onClose(): void; onPlanted(n: number): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ count: number; phone_range?: string }>();
  return (
    <FormModal
      open={open}
      title={t('canaries.plant')}
      form={form}
      onClose={onClose}
      submit={(v) => api<{ planted: number }>('POST', '/canaries', { body: { count: v.count, ...(v.phone_range ? { phone_range: v.phone_range } : {}) } })}
      onDone={(r) => onPlanted(r.planted)}
    >
      <Form form={form} layout="vertical" initialValues={{ count: 5 }}>
        <Form.Item label={t('canaries.count')} name="count" rules={[{ required: true, message: t('login.required') }]}>
          <InputNumber min={1} max={1000} precision={0} />
        </Form.Item>
        <Form.Item label={t('canaries.phoneRange')} name="phone_range" extra={t('canaries.phoneRangeHint')} rules={[{ pattern: /^1[3-9][0-9]{1,8}$/, message: t('canaries.phoneRangeFormat') }]}>
          <Input inputMode="numeric" maxLength={10} />
        </Form.Item>
      </Form>
    </FormModal>
  );
}
