/** Refusing a pending data-subject request (deletion or correction), shared by the Subjects and Approvals pages. */
import { useState } from 'react';
import { Form, Input, Modal, Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';

const REJECT_REASONS = ['identity_not_verified', 'legal_retention', 'duplicate', 'withdrawn_by_subject', 'other'] as const;

/** Refusing a pending deletion or correction: a reason code (audited) and a note kept on the request only. */
export function RejectRequest({ id, onClose, onDone }: { id: string | null; onClose: () => void; onDone: (err: unknown) => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ reason: (typeof REJECT_REASONS)[number]; note?: string }>();
  const [busy, setBusy] = useState(false);
  async function submit() {
    const v = await form.validateFields();
    setBusy(true);
    try {
      await api('POST', `/subjects/requests/${encodeURIComponent(id!)}/reject`, { body: { reason: v.reason, ...(v.note ? { note: v.note } : {}) } });
      form.resetFields();
      onDone(null);
    } catch (err) {
      onDone(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal open={id !== null} title={t('subjects.rejectTitle')} onCancel={onClose} onOk={() => void submit()} okText={t('subjects.reject')} confirmLoading={busy} destroyOnHidden>
      <Form form={form} layout="vertical" data-testid="reject-form">
        <Form.Item name="reason" label={t('subjects.reason')} rules={[{ required: true, message: t('subjects.reasonRequired') }]}>
          <Select options={REJECT_REASONS.map((r) => ({ value: r, label: t(`subjects.reasons.${r}`) }))} />
        </Form.Item>
        <Form.Item name="note" label={t('subjects.rejectNote')} extra={t('subjects.rejectNoteHint')} rules={[{ max: 400 }]}>
          <Input.TextArea rows={3} maxLength={400} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
