/** Triage actions on one alert or several: acknowledge, resolve with a verdict and a note, assign. */
import { useState } from 'react';
import { App, Button, type ButtonProps, Input, Modal, Space, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, session } from '../../api/client';
import type { Alert } from '../../api/types';
import { errorToast } from '../../components/States';
import { bulkText, summarizeBulk, type BulkResult } from '../../labels';

export type Verdict = 'true_positive' | 'false_positive';

interface Ask {
  id: string;
  mode: Verdict | 'assign';
  after?: () => void;
}

/**
 * Triage calls plus the one note dialog of the page. The dialog lives with the page, not with a row:
 * a live reload that re-renders or drops the row while the analyst types keeps the dialog and the note.
 */
export function useTriage(onDone: () => void) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [busy, setBusy] = useState<string | null>(null);
  const [ask, setAsk] = useState<Ask | null>(null);
  async function run(key: string, fn: () => Promise<unknown>) {
    setBusy(key);
    try {
      await fn();
      void message.success(t('common.actionDone'));
      onDone();
    } catch (err) {
      void message.error(errorToast(t, err));
    } finally {
      setBusy(null);
    }
  }
  /**
   * One change to many alerts: the server answers 200 with a result per alert, and refuses some on
   * their own (self_action, not_found). Say how many were done and why the others were not; the
   * refused alerts are left as they are.
   */
  async function bulk(ids: string[], body: Record<string, unknown>) {
    setBusy('bulk');
    try {
      const res = await api<{ results?: BulkResult[] } | undefined>('POST', '/alerts/bulk', { body: { ids, ...body } });
      if (!Array.isArray(res?.results)) void message.success(t('common.actionDone'));
      else {
        const s = summarizeBulk(res.results);
        const text = bulkText(t, s);
        const detail = s.byCode.map((g) => `${g.code}: ${g.ids.join(', ')}`).join('\n');
        const content = s.refused ? <span data-testid="bulk-outcome" title={detail}>{text}</span> : <span data-testid="bulk-outcome">{text}</span>;
        if (s.refused === 0) void message.success(content);
        else if (s.done === 0) void message.error({ content, duration: 8 });
        else void message.warning({ content, duration: 8 });
      }
      onDone();
    } catch (err) {
      void message.error(errorToast(t, err));
    } finally {
      setBusy(null);
    }
  }
  const patch = (id: string, body: Record<string, unknown>) => run(id, () => api('PATCH', `/alerts/${encodeURIComponent(id)}`, { body }));
  const dialog = (
    <NoteModal
      open={ask !== null}
      assignee={ask?.mode === 'assign'}
      title={ask?.mode === 'assign' ? t('alerts.assignTo') : t('alerts.resolveTitle', { verdict: t(`verdict.${ask?.mode ?? 'true_positive'}`) })}
      onCancel={() => setAsk(null)}
      onOk={(v) => {
        const a = ask;
        setAsk(null);
        if (!a) return;
        const body = a.mode === 'assign' ? { assignee: v } : { verdict: a.mode, ...(v ? { note: v } : {}) };
        void patch(a.id, body).then(() => a.after?.());
      }}
    />
  );
  return {
    busy,
    patch,
    bulk,
    /** Opens the page's note dialog for one alert; `after` runs once the change is sent. */
    ask: (id: string, mode: Verdict | 'assign', after?: () => void) => setAsk({ id, mode, ...(after ? { after } : {}) }),
    dialog,
  };
}

/** Asks for the note that goes with a verdict (or an assignee), then calls `onOk`. */
export function NoteModal({ open, title, assignee, onOk, onCancel }: { open: boolean; title: string; assignee?: boolean; onOk(value: string): void; onCancel(): void }) {
  const { t } = useTranslation();
  const [value, setValue] = useState('');
  return (
    <Modal
      open={open}
      title={title}
      okText={t('common.confirm')}
      cancelText={t('common.cancel')}
      okButtonProps={{ disabled: assignee ? value.trim().length === 0 : false, 'data-testid': 'note-ok' } as ButtonProps}
      onOk={() => {
        onOk(value.trim());
        setValue('');
      }}
      onCancel={() => {
        setValue('');
        onCancel();
      }}
      destroyOnHidden
    >
      {assignee ? (
        <Input aria-label={t('alerts.assignTo')} placeholder={t('alerts.assignTo')} value={value} onChange={(e) => setValue(e.target.value)} />
      ) : (
        <Input.TextArea aria-label={t('alerts.noteLabel')} data-testid="note" rows={4} maxLength={2000} placeholder={t('alerts.notePlaceholder')} value={value} onChange={(e) => setValue(e.target.value)} />
      )}
    </Modal>
  );
}

/** The buttons of one alert; the note dialog they open is the page's (`triage.dialog`). */
export function AlertActions({ alert, canAssign, triage, compact, after }: { alert: Alert; canAssign: boolean; triage: ReturnType<typeof useTriage>; compact?: boolean; after?: () => void }) {
  const { t } = useTranslation();
  const setModal = (mode: Verdict | 'assign') => triage.ask(alert.id, mode, after);
  const self = alert.account !== null && alert.account === session.account();
  const disabled = self || triage.busy === alert.id;
  const wrap = (node: React.ReactNode, reason: string | null) => (reason ? <Tooltip title={reason}><span>{node}</span></Tooltip> : node);
  const size = compact ? 'small' : 'middle';
  return (
    <Space size={4} wrap={!compact}>
      {alert.status === 'open' && wrap(<Button size={size} disabled={disabled} onClick={() => void triage.patch(alert.id, { status: 'acknowledged' }).then(() => after?.())}>{t('alerts.ack')}</Button>, self ? t('common.selfAction') : null)}
      {alert.status !== 'resolved' && (
        <>
          {wrap(<Button size={size} danger disabled={disabled} onClick={() => setModal('true_positive')} data-testid={`tp-${alert.id}`}>{t('alerts.resolveTp')}</Button>, self ? t('common.selfAction') : null)}
          {wrap(<Button size={size} disabled={disabled} onClick={() => setModal('false_positive')}>{t('alerts.resolveFp')}</Button>, self ? t('common.selfAction') : null)}
        </>
      )}
      {!compact && wrap(<Button size={size} disabled={disabled || !canAssign} onClick={() => setModal('assign')}>{t('alerts.assign')}</Button>, !canAssign ? t('common.notAvailable') : self ? t('common.selfAction') : null)}
    </Space>
  );
}
