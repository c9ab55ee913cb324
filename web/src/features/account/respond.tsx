/**
 * Response buttons on an account: step-up, throttle, suspend (with a reason), lift (after a
 * confirmation: DELETE /accounts/:id/response takes no reason). Each is audited by the server.
 */
import { useState } from 'react';
import { App, Button, type ButtonProps, Input, Modal, Space, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, session } from '../../api/client';
import { errorToast } from '../../components/States';
import { label } from '../../labels';

type Action = 'step_up' | 'throttle' | 'suspend';
const LABEL: Record<Action, string> = { step_up: 'account.stepUp', throttle: 'account.throttle', suspend: 'account.suspend' };

export function ResponseButtons({ account, inForce, onChanged }: { account: string; inForce: string | null; onChanged(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [action, setAction] = useState<Action | null>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [lifting, setLifting] = useState(false);
  const self = session.account() === account;

  async function run(fn: () => Promise<unknown>, done: string) {
    setBusy(true);
    try {
      await fn();
      void message.success(done);
      onChanged();
    } catch (err) {
      void message.error(errorToast(t, err));
    } finally {
      setBusy(false);
    }
  }

  const buttons = (
    <Space wrap>
      {(Object.keys(LABEL) as Action[]).map((a) => (
        <Button key={a} danger={a === 'suspend'} disabled={self || busy || inForce === a} onClick={() => setAction(a)} data-testid={`respond-${a}`}>
          {t(LABEL[a])}
        </Button>
      ))}
      <Button disabled={self || busy || !inForce} data-testid="respond-lift" onClick={() => setLifting(true)}>
        {t('account.lift')}
      </Button>
    </Space>
  );
  return (
    <>
      {self ? <Tooltip title={t('common.selfAction')}><span>{buttons}</span></Tooltip> : buttons}
      <Modal
        open={action !== null}
        title={action ? t('account.respondTitle', { action: t(LABEL[action]), account }) : ''}
        okText={t('common.confirm')}
        cancelText={t('common.cancel')}
        okButtonProps={{ disabled: reason.trim().length < 3, danger: action === 'suspend', 'data-testid': 'respond-ok' } as ButtonProps}
        onCancel={() => {
          setAction(null);
          setReason('');
        }}
        onOk={() => {
          const a = action!;
          const r = reason.trim();
          setAction(null);
          setReason('');
          void run(() => api('PUT', `/accounts/${encodeURIComponent(account)}/response`, { body: { action: a, reason: r } }), t('account.responseApplied', { account, action: t(LABEL[a]) }));
        }}
        destroyOnHidden
      >
        <Input.TextArea aria-label={t('common.reason')} data-testid="respond-reason" rows={3} maxLength={300} placeholder={t('account.reasonPlaceholder')} value={reason} onChange={(e) => setReason(e.target.value)} />
      </Modal>
      <Modal
        open={lifting}
        title={t('account.liftTitle', { account })}
        okText={t('account.lift')}
        cancelText={t('common.cancel')}
        okButtonProps={{ danger: true, 'data-testid': 'lift-ok' } as ButtonProps}
        cancelButtonProps={{ 'data-testid': 'lift-cancel' } as ButtonProps}
        onCancel={() => setLifting(false)}
        onOk={() => {
          setLifting(false);
          void run(() => api('DELETE', `/accounts/${encodeURIComponent(account)}/response`), t('account.responseLifted', { account }));
        }}
        destroyOnHidden
      >
        <p data-testid="lift-confirm">{t('account.liftConfirm', { account, action: label(t, 'responses', inForce) })}</p>
      </Modal>
    </>
  );
}
