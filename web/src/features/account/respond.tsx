/**
 * Response buttons on an account: step-up, throttle, suspend (with a reason), lift (after a
 * confirmation, with a reason). Each is audited by the server. A response only rises by these
 * buttons (step-up < throttle < suspend): one lower than the response in force is disabled with a
 * "lift first" hint, since the server refuses it (409 `lift_first`, attack review 11); the lift,
 * with its warning, is the one way down.
 */
import { useState } from 'react';
import { App, Button, type ButtonProps, Input, Modal, Space, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, session } from '../../api/client';
import { errorToast } from '../../components/States';
import { label } from '../../labels';

type Action = 'step_up' | 'throttle' | 'suspend';
const LABEL: Record<Action, string> = { step_up: 'account.stepUp', throttle: 'account.throttle', suspend: 'account.suspend' };
/** The server's order (src/watch/responses.ts RANK). */
const RANK: Record<string, number> = { step_up: 1, throttle: 2, suspend: 3 };
const MIN_REASON = 3;

/** Whether `action` would lower the response in force (the server refuses it: lift first). */
export const lowers = (action: Action, inForce: string | null): boolean => inForce !== null && (RANK[inForce] ?? 0) > RANK[action]!;

export function ResponseButtons({ account, inForce, onChanged }: { account: string; inForce: string | null; onChanged(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [action, setAction] = useState<Action | null>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [lifting, setLifting] = useState(false);
  const [liftReason, setLiftReason] = useState('');
  const self = session.account() === account;
  const inForceLabel = label(t, 'responses', inForce);

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

  const actionButton = (a: Action) => {
    const below = lowers(a, inForce);
    const button = (
      <Button key={a} danger={a === 'suspend'} disabled={self || busy || inForce === a || below} onClick={() => setAction(a)} data-testid={`respond-${a}`}>
        {t(LABEL[a])}
      </Button>
    );
    return below && !self ? (
      <Tooltip key={a} title={t('account.liftFirst', { action: inForceLabel })}>
        <span data-testid={`respond-${a}-lift-first`}>{button}</span>
      </Tooltip>
    ) : button;
  };
  const buttons = (
    <Space wrap>
      {(Object.keys(LABEL) as Action[]).map(actionButton)}
      <Button disabled={self || busy || !inForce} data-testid="respond-lift" onClick={() => setLifting(true)}>
        {t('account.lift')}
      </Button>
    </Space>
  );
  const closeLift = () => {
    setLifting(false);
    setLiftReason('');
  };
  return (
    <>
      {self ? <Tooltip title={t('common.selfAction')}><span>{buttons}</span></Tooltip> : buttons}
      <Modal
        open={action !== null}
        title={action ? t('account.respondTitle', { action: t(LABEL[action]), account }) : ''}
        okText={t('common.confirm')}
        cancelText={t('common.cancel')}
        okButtonProps={{ disabled: reason.trim().length < MIN_REASON, danger: action === 'suspend', 'data-testid': 'respond-ok' } as ButtonProps}
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
        okButtonProps={{ danger: true, disabled: liftReason.trim().length < MIN_REASON, 'data-testid': 'lift-ok' } as ButtonProps}
        cancelButtonProps={{ 'data-testid': 'lift-cancel' } as ButtonProps}
        onCancel={closeLift}
        onOk={() => {
          const r = liftReason.trim();
          closeLift();
          void run(() => api('DELETE', `/accounts/${encodeURIComponent(account)}/response`, { body: { reason: r } }), t('account.responseLifted', { account }));
        }}
        destroyOnHidden
      >
        <p data-testid="lift-confirm">{t('account.liftConfirm', { account, action: inForceLabel })}</p>
        <Input.TextArea aria-label={t('common.reason')} data-testid="lift-reason" rows={3} maxLength={300} placeholder={t('account.liftReasonPlaceholder')} value={liftReason} onChange={(e) => setLiftReason(e.target.value)} />
      </Modal>
    </>
  );
}
