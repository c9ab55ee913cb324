/**
 * Approvals: one inbox of everything waiting for a second analyst, grouped by kind, each row
 * showing what approving applies exactly as the server will apply it, who asked and when; and the
 * detection exceptions. An item the signed-in analyst asked for (or that is about them) is shown
 * with the reason they may not approve it; the server refuses it anyway.
 */
import { useState } from 'react';
import { Alert, App, Badge, Button, Card, Space, Table, Tooltip, Typography } from 'antd';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { useCapabilities } from '../../api/capabilities';
import { APPROVAL_KINDS, loadApprovals, type ApprovalItem, type ApprovalKind, type KindResult } from '../../api/approvals';
import { Async, ErrorState, Unavailable, errorText } from '../../components/States';
import { useAsync } from '../../components/useAsync';
import { formatTime } from '../../format';
import { RejectRequest } from '../subjects/RejectRequest';
import { ReviewModal } from '../subjects/ReviewModal';
import type { SubjectRequest } from '../../api/types';
import { ItemSummary } from './ItemSummary';
import { ExceptionsSection } from './ExceptionsSection';
import { InitialPasswordModal, type IssuedPassword } from './InitialPasswordModal';

/** The approve call of an item: the exact thing read (accounts: the role and site shown; detectors: the request's requested_at). */
function approveCall(i: ApprovalItem): { path: string; body?: unknown } {
  const id = (s: string) => encodeURIComponent(s);
  switch (i.kind) {
    // The role and site shown: a request its requester changed after this was read is a 409.
    case 'accounts': return { path: `/accounts/${id(i.raw.id)}/approve`, body: { role: i.raw.pending_approval!.role, site: i.raw.pending_approval!.site } };
    case 'tokens': return { path: `/accounts/${id(i.raw.account)}/tokens/${id(i.raw.id)}/approve` };
    case 'cases': return { path: `/cases/${id(i.raw.id)}/approve` };
    case 'subjects': return { path: `/subjects/requests/${id(i.raw.id)}/approve` }; // through ReviewModal, which sends the version reviewed
    case 'exceptions': return { path: `/exceptions/${id(i.raw.id)}/approve` };
    case 'detectors': return { path: `/detectors/${id(i.raw.name)}/approve`, body: { requested_at: i.raw.request!.requested_at } };
  }
}

/** The discard (reject) call where the API has one; a subject request is rejected through its form. */
function discardCall(i: ApprovalItem): { method: 'POST' | 'DELETE'; path: string; body?: unknown } | null {
  const id = (s: string) => encodeURIComponent(s);
  switch (i.kind) {
    case 'cases': return { method: 'POST', path: `/cases/${id(i.raw.id)}/close`, body: {} };
    case 'exceptions': return { method: 'DELETE', path: `/exceptions/${id(i.raw.id)}` };
    case 'detectors': return { method: 'DELETE', path: `/detectors/${id(i.raw.name)}/request` };
    default: return null;
  }
}

export default function ApprovalsPage() {
  const { t } = useTranslation();
  const caps = useCapabilities();
  const { message } = App.useApp();
  const [tick, setTick] = useState(0);
  const [busy, setBusy] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState<string | null>(null);
  /** A subject request is approved after its review (the person masked, a correction's new value), naming the version read. */
  const [reviewing, setReviewing] = useState<SubjectRequest | null>(null);
  /** The one-time initial password an account approval answered (attack review 11 F3): shown once, then forgotten. */
  const [issued, setIssued] = useState<IssuedPassword | null>(null);
  const inbox = useAsync((signal) => (caps ? loadApprovals(caps, signal) : new Promise<KindResult[]>(() => undefined)), [caps, tick]);
  const reload = () => setTick((n) => n + 1);

  async function act(i: ApprovalItem, call: { method: string; path: string; body?: unknown }, done: string) {
    setBusy(i.key);
    setRefusal(null);
    try {
      const answer = await api<{ initial_password?: unknown } | undefined>(call.method, call.path, call.body === undefined ? {} : { body: call.body });
      void message.success(t(done));
      if (i.kind === 'accounts' && typeof answer?.initial_password === 'string') setIssued({ account: i.raw.id, password: answer.initial_password });
    } catch (err) {
      setRefusal(t('approvals.refused', { reason: errorText(t, err) }));
    } finally {
      setBusy(null);
      reload();
    }
  }

  const row = (i: ApprovalItem) => {
    const discard = discardCall(i);
    const approve = (
      <Button type="primary" size="small" disabled={i.blocked !== null || busy !== null} loading={busy === i.key} data-testid={`approve-${i.key}`} onClick={() => (i.kind === 'subjects' ? setReviewing(i.raw) : void act(i, { method: 'POST', ...approveCall(i) }, 'approvals.approved'))}>
        {t('approvals.approve')}
      </Button>
    );
    return (
      <Space direction="vertical" size={4}>
        <Space wrap>
          {i.blocked ? <Tooltip title={t(`approvals.blocked.${i.blocked}`)}><span>{approve}</span></Tooltip> : approve}
          {discard && (
            <Button size="small" disabled={busy !== null || (i.kind === 'exceptions' && i.blocked === 'about_you')} data-testid={`discard-${i.key}`} onClick={() => void act(i, discard, 'approvals.discarded')}>
              {t(`approvals.discard.${i.kind}`)}
            </Button>
          )}
          {i.kind === 'subjects' && (
            <Button size="small" disabled={i.blocked !== null || busy !== null} data-testid={`discard-${i.key}`} onClick={() => setRejecting(i.raw.id)}>
              {t('subjects.reject')}
            </Button>
          )}
          {i.kind === 'detectors' && <Link to="/detectors">{t('approvals.openDetectors')}</Link>}
        </Space>
        {i.blocked && <Typography.Text type="secondary" data-testid={`blocked-${i.key}`}>{t(`approvals.blocked.${i.blocked}`)}</Typography.Text>}
      </Space>
    );
  };

  const group = (r: KindResult) => (
    <Card
      key={r.kind}
      size="small"
      style={{ marginBottom: 12 }}
      data-testid={`inbox-${r.kind}`}
      title={
        <Space>
          <Typography.Title level={2} style={{ fontSize: 15, margin: 0 }}>{t(`approvals.kinds.${r.kind}`)}</Typography.Title>
          <Badge count={r.items.length} showZero color={r.items.length ? '#0b57d0' : '#595959'} title={t('approvals.waiting', { count: r.items.length })} />
        </Space>
      }
    >
      {r.error ? (
        <ErrorState error={r.error} onRetry={reload} />
      ) : r.items.length === 0 ? (
        <Typography.Text type="secondary">{t('approvals.none')}</Typography.Text>
      ) : (
        <>
          {r.truncated && <Alert type="warning" showIcon title={t('approvals.truncated')} style={{ marginBottom: 8 }} />}
          <Table<ApprovalItem>
            size="small"
            rowKey="key"
            dataSource={r.items}
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            onRow={(i) => ({ 'data-item': i.key } as React.HTMLAttributes<HTMLElement>)}
            columns={[
              { title: t('approvals.what'), key: 'what', render: (_, i) => <ItemSummary item={i} /> },
              { title: t('approvals.requestedBy'), key: 'by', width: 140, render: (_, i) => i.requestedBy ?? '—' },
              { title: t('approvals.requestedAt'), key: 'at', width: 170, render: (_, i) => formatTime(i.requestedAt) },
              { title: t('common.actions'), key: 'actions', width: 260, render: (_, i) => row(i) },
            ]}
          />
        </>
      )}
    </Card>
  );

  const shown = (inbox.value ?? []).filter((r) => r.available);
  const missing = (inbox.value ?? []).filter((r) => !r.available).map((r) => t(`approvals.kinds.${r.kind}`));
  return (
    <div data-testid="approvals-page">
      <Typography.Title level={1} className="page-title">{t('approvals.title')}</Typography.Title>
      <Typography.Paragraph type="secondary">{t('approvals.note')}</Typography.Paragraph>
      {refusal && <Alert type="error" showIcon role="alert" title={refusal} closable onClose={() => setRefusal(null)} style={{ marginBottom: 12 }} data-testid="approvals-refusal" />}
      <Async state={inbox} rows={6}>
        {() => (
          <>
            {shown.length === 0 && <Unavailable what={t('approvals.title')} />}
            {APPROVAL_KINDS.map((k: ApprovalKind) => shown.find((r) => r.kind === k)).filter((r): r is KindResult => r !== undefined).map(group)}
            {missing.length > 0 && shown.length > 0 && <Typography.Paragraph type="secondary">{t('approvals.missing', { kinds: missing.join(', ') })}</Typography.Paragraph>}
          </>
        )}
      </Async>
      <ExceptionsSection tick={tick} onChanged={reload} />
      <ReviewModal
        request={reviewing}
        onClose={() => setReviewing(null)}
        onDone={(err) => {
          setReviewing(null);
          if (err) setRefusal(t('approvals.refused', { reason: errorText(t, err) }));
          else void message.success(t('approvals.approved'));
          reload();
        }}
      />
      <InitialPasswordModal issued={issued} onClose={() => setIssued(null)} />
      <RejectRequest
        id={rejecting}
        onClose={() => setRejecting(null)}
        onDone={(err) => {
          setRejecting(null);
          if (err) setRefusal(t('approvals.refused', { reason: errorText(t, err) }));
          else void message.success(t('subjects.rejected'));
          reload();
        }}
      />
    </div>
  );
}
