/**
 * Attack review 11 (F3): approving a privileged role of an account an it_admin set up discards the
 * password its creator chose; the server answers a one-time initial password, to this analyst only.
 * Shown here once, never stored by the console; closing the modal forgets it.
 */
import { Alert, Button, Modal, Typography } from 'antd';
import { useTranslation } from 'react-i18next';

export interface IssuedPassword {
  account: string;
  password: string;
}

export function InitialPasswordModal({ issued, onClose }: { issued: IssuedPassword | null; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Modal
      open={issued !== null}
      title={issued ? t('approvals.initialPassword.title', { account: issued.account }) : ''}
      closable={false}
      maskClosable={false}
      keyboard={false}
      onCancel={onClose}
      footer={<Button type="primary" data-testid="initial-password-done" onClick={onClose}>{t('approvals.initialPassword.done')}</Button>}
      destroyOnHidden
    >
      {issued && (
        <div data-testid="initial-password">
          <Typography.Paragraph>{t('approvals.initialPassword.handOver', { account: issued.account })}</Typography.Paragraph>
          <Typography.Paragraph>
            <Typography.Text code copyable style={{ fontSize: 16 }} data-testid="initial-password-value">{issued.password}</Typography.Text>
          </Typography.Paragraph>
          <Alert type="warning" showIcon title={t('approvals.initialPassword.once')} />
        </div>
      )}
    </Modal>
  );
}
