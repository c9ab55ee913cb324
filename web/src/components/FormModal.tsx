/**
 * A modal holding one form: OK validates the form and runs `submit`; on success the form is reset,
 * the modal's error cleared and `onDone` called with submit's answer; on failure the server's answer is shown above the form (role
 * alert). OK shows as loading while submit runs, so a second click cannot send the form twice.
 * The pattern several pages had copied (plant canaries, open a case, …).
 */
import { useState, type ReactNode } from 'react';
import { Modal, Typography, type FormInstance } from 'antd';
import { useTranslation } from 'react-i18next';
import { errorText } from './States';

export interface FormModalProps<T, R> {
  open: boolean;
  title: ReactNode;
  form: FormInstance<T>;
  onClose(): void;
  /** Runs with the validated values; a thrown error is shown in the modal. */
  submit(values: T): Promise<R>;
  onDone(result: R): void;
  children: ReactNode;
}

export function FormModal<T, R>({ open, title, form, onClose, submit, onDone, children }: FormModalProps<T, R>) {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Modal
      open={open}
      title={title}
      okText={t('common.confirm')}
      cancelText={t('common.cancel')}
      onCancel={onClose}
      destroyOnHidden
      confirmLoading={busy}
      onOk={() =>
        void form.validateFields().then(async (v) => {
          setBusy(true);
          try {
            const r = await submit(v);
            form.resetFields();
            setError(null);
            onDone(r);
          } catch (err) {
            setError(errorText(t, err));
          } finally {
            setBusy(false);
          }
        })
      }
    >
      {error && <Typography.Paragraph type="danger" role="alert">{error}</Typography.Paragraph>}
      {children}
    </Modal>
  );
}
