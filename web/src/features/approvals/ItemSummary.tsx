/**
 * What approving an inbox item applies, as the server will apply it: the account's role and site
 * it will hold, the token's registration and why it needs a second person, the case's scope, the request's kind, the exception's
 * subject and end, the detector's whole waiting settings set (changes against the running ones).
 */
import { Space, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import type { ApprovalItem } from '../../api/approvals';
import { ToneTag } from '../../components/Tags';
import { formatTime } from '../../format';

const Text = Typography.Text;

export function ItemSummary({ item }: { item: ApprovalItem }) {
  const { t } = useTranslation();
  const role = (r: string) => t(`roles.${r}`, { defaultValue: r });
  const where = (role: string, site: string | null) => (site ? t('approvals.roleAtSite', { role, site }) : role);
  switch (item.kind) {
    case 'accounts': {
      const a = item.raw;
      const p = a.pending_approval!;
      return a.status === 'pending' ? (
        <Text>{t('approvals.account.new', { id: a.id, to: where(role(p.role), p.site) })}</Text>
      ) : (
        <Text>{t('approvals.account.change', { id: a.id, from: where(role(a.role), a.site), to: where(role(p.role), p.site) })}</Text>
      );
    }
    case 'tokens': {
      const x = item.raw;
      const r = x.registration;
      const accounts = r.accounts_prefix ? t('approvals.token.prefix', { prefix: r.accounts_prefix }) : r.accounts ? r.accounts.join(', ') : null;
      return (
        <Space direction="vertical" size={0}>
          <Text>{t('approvals.token.for', { account: x.account })} <Text className="mono">{x.id}</Text></Text>
          {(x.needs_approval_because ?? []).map((why) => (
            <Text key={why} data-testid={`token-why-${why}`}>
              <ToneTag tone={why === 'telephony' ? 'red' : 'gold'}>{t(`approvals.token.why.${why}`)}</ToneTag>
              {t(`approvals.token.whyNote.${why}`)}
            </Text>
          ))}
          <Text type="secondary">{t('approvals.token.events', { events: r.events.join(', ') })}</Text>
          <Text type="secondary">{t('approvals.token.sites', { sites: r.sites ? r.sites.join(', ') : t('approvals.token.anySite') })}</Text>
          {accounts && <Text type="secondary">{t('approvals.token.accounts', { accounts })}</Text>}
          {r.backfill && <Text type="secondary">{t('approvals.token.backfill')}</Text>}
        </Space>
      );
    }
    case 'cases': {
      const c = item.raw;
      return (
        <Space direction="vertical" size={0}>
          <Text strong>{c.title}</Text>
          {c.reason && <Text type="secondary">{c.reason}</Text>}
          <Text type="secondary">{t('approvals.case.scope', { waybills: c.waybills.length, accounts: c.accounts.length ? c.accounts.join(', ') : '—' })}</Text>
        </Space>
      );
    }
    case 'subjects': {
      const s = item.raw;
      return (
        <Space direction="vertical" size={0}>
          <Text>{t('approvals.subject.what', { kind: t(`subjects.kinds.${s.kind}`), lookup: t(`subjects.lookups.${s.lookup}`) })}</Text>
          {s.kind === 'deletion' && <Text type="secondary">{t('subjects.deletionNote')}</Text>}
          {s.correction && <Text type="secondary">{t('approvals.subject.correction', { field: t(`subjects.fields.${s.correction.field}`, { defaultValue: s.correction.field }) })}</Text>}
          <Text type="secondary">{t('approvals.subject.due', { time: formatTime(s.due_at) })}</Text>
          {s.overdue && <ToneTag tone="red">{t('subjects.overdue', { time: formatTime(s.due_at) })}</ToneTag>}
        </Space>
      );
    }
    case 'exceptions': {
      const x = item.raw;
      return (
        <Space direction="vertical" size={0}>
          <Text>{t('approvals.exception.what', { kind: t(`exceptions.kinds.${x.kind}`), value: x.value, until: formatTime(x.until) })}</Text>
          {x.account && x.kind !== 'account' && <Text type="secondary">{t('approvals.exception.account', { account: x.account })}</Text>}
          <Text type="secondary">{t('approvals.reasonIs', { reason: x.reason })}</Text>
        </Space>
      );
    }
    case 'detectors': {
      const d = item.raw;
      const r = d.request!;
      const changes = Object.entries(r.settings).filter(([k, v]) => d.settings[k] !== v).map(([k, v]) => `${k}: ${String(d.settings[k] ?? '—')} → ${String(v)}`);
      return (
        <Space direction="vertical" size={0}>
          <Text strong>{d.name}</Text>
          <Text>{changes.length ? changes.join(' · ') : t('approvals.detector.noChange')}</Text>
          <Text type="secondary">{t('approvals.reasonIs', { reason: r.reason })}</Text>
          <Text type="secondary">{t('detectors.restartNote')}</Text>
        </Space>
      );
    }
  }
}
