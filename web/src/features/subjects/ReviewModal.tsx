/**
 * The second analyst's review of a pending request before approving it: the person masked as
 * staff see them, how many records, and for a correction the new value in full — what the server
 * returns to an analyst who may approve (reading it is audited there). Approval sends the version
 * shown, so a request that changed since is refused (409) rather than approved unseen. The filer
 * gets no review: approving then goes to the server, which refuses it (`self_action`). A refusal
 * closes the dialog and is shown on the page, like the others.
 */
import { useState } from 'react';
import { Descriptions, Modal, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import type { SubjectRequest, SubjectReview } from '../../api/types';
import { Async } from '../../components/States';
import { useAsync } from '../../components/useAsync';

const list = (values: string[]) => (values.length ? values.join('、') : '—');

export function ReviewModal({ request, onClose, onDone }: { request: SubjectRequest | null; onClose(): void; onDone(err: unknown): void }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const seen = useAsync((signal) => (request ? api<SubjectRequest & { review?: SubjectReview }>('GET', `/subjects/requests/${encodeURIComponent(request.id)}`, { signal }) : Promise.resolve(null)), [request?.id]);

  async function approve() {
    if (!request) return;
    setBusy(true);
    try {
      const review = seen.value?.review;
      await api('POST', `/subjects/requests/${encodeURIComponent(request.id)}/approve`, { body: review ? { reviewed: review.version } : {} });
      onDone(null);
    } catch (err) {
      onDone(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={request !== null}
      title={request ? t(`subjects.approveKind.${request.kind}`) : ''}
      okText={request ? t(`subjects.approveKind.${request.kind}`) : ''}
      okButtonProps={{ danger: true, disabled: seen.loading, ...({ 'data-testid': 'review-approve' } as Record<`data-${string}`, string>) }}
      cancelText={t('common.cancel')}
      onOk={() => void approve()}
      onCancel={onClose}
      confirmLoading={busy}
      destroyOnHidden
    >
      <Async state={seen}>
        {(r) =>
          r?.review ? (
            <Descriptions size="small" column={1} bordered data-testid="subject-review">
              <Descriptions.Item label={t('subjects.review.records')}>{r.review.subject.records}</Descriptions.Item>
              <Descriptions.Item label={t('subjects.maskedPhone')}>{list(r.review.subject.phones)}</Descriptions.Item>
              <Descriptions.Item label={t('subjects.maskedName')}>{list(r.review.subject.names)}</Descriptions.Item>
              <Descriptions.Item label={t('subjects.maskedAddress')}>{list(r.review.subject.addresses)}</Descriptions.Item>
              {r.review.correction && (
                <Descriptions.Item label={t('subjects.review.newValue', { field: t(`subjects.fields.${r.review.correction.field}`, { defaultValue: r.review.correction.field }) })}>
                  <Typography.Text strong data-testid="review-new-value">{r.review.correction.value ?? '—'}</Typography.Text>
                </Descriptions.Item>
              )}
            </Descriptions>
          ) : (
            <Typography.Paragraph type="secondary">{t('subjects.review.none')}</Typography.Paragraph>
          )
        }
      </Async>
      {seen.value?.review?.subject.truncated && <Typography.Paragraph type="secondary">{t('subjects.truncated')}</Typography.Paragraph>}
    </Modal>
  );
}
