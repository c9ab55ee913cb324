/** The frame around every page: navigation, live status, language, who is signed in, sign out. */
import type { ReactNode } from 'react';
import { Badge, Button, Layout, Menu, Space, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useLocation, useNavigate } from 'react-router';
import { useApprovalCount } from '../api/approvals';
import { useCapabilities } from '../api/capabilities';
import { session } from '../api/client';
import { signOut } from '../api/login';
import { useOverviewStream } from '../api/stream';
import { formatClock, viewerTimeZone } from '../format';
import { LanguageSwitch } from './LanguageSwitch';

/**
 * Every page is for security analysts (the only role the console signs in). A page whose API the
 * server does not offer to them (`needs`, read from its OpenAPI document) is left out of the menu.
 */
const PAGES: Array<{ key: string; label: string; needs?: [string, string] }> = [
  { key: '/', label: 'nav.overview' },
  { key: '/alerts', label: 'nav.alerts' },
  { key: '/accounts', label: 'nav.accounts' },
  { key: '/audit', label: 'nav.audit' },
  { key: '/detectors', label: 'nav.detectors' },
  { key: '/approvals', label: 'nav.approvals' },
  { key: '/cases', label: 'nav.cases' },
  { key: '/leaks', label: 'nav.leaks', needs: ['POST', '/attributions'] },
  { key: '/canaries', label: 'nav.canaries', needs: ['GET', '/canaries'] },
  { key: '/subjects', label: 'nav.subjects', needs: ['GET', '/subjects/requests'] },
];

export function LiveBadge() {
  const { t } = useTranslation();
  const s = useOverviewStream();
  const status = s.status === 'live' ? 'success' : s.status === 'ended' ? 'error' : s.status === 'idle' ? 'default' : 'processing';
  return (
    <span role="status" aria-live="polite" data-testid="live-status" data-status={s.status}>
      <Badge status={status} text={`${t(`stream.${s.status}`)}${s.receivedAt ? ` · ${t('stream.updated', { time: formatClock(s.receivedAt) })}` : ''}`} />
    </span>
  );
}

/** The menu entry of the inbox, with the count of what waits for the signed-in analyst. */
function ApprovalsLabel() {
  const { t } = useTranslation();
  const n = useApprovalCount();
  return (
    <span data-testid="nav-approvals">
      {t('nav.approvals')}
      {n !== null && n > 0 && (
        <Badge count={n} size="small" color="#c41d1d" style={{ marginLeft: 6 }} data-testid="approvals-count" aria-hidden="true" />
      )}
      {n !== null && n > 0 && <span className="sr-only">{t('approvals.navCount', { count: n })}</span>}
    </span>
  );
}

export function Shell({ children, onSignedOut }: { children: ReactNode; onSignedOut(): void }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const location = useLocation();
  const caps = useCapabilities();
  const pages = PAGES.filter((p) => !p.needs || caps?.has(...p.needs));
  const selected = PAGES.slice(1).find((p) => location.pathname.startsWith(p.key))?.key ?? '/';
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <a className="skip-link" href="#content" onClick={(e) => { e.preventDefault(); document.getElementById('content')?.focus(); }}>
        {t('app.skip')}
      </a>
      <Layout.Sider width={184} theme="light" className="sider">
        <div className="brand">
          <span className="brand-name">{t('app.name')}</span>
          <span className="brand-sub">{t('app.subtitle')}</span>
        </div>
        <nav aria-label={t('app.subtitle')}>
          <Menu mode="inline" selectedKeys={[selected]} onClick={(e) => navigate(e.key)} items={pages.map((p) => ({ key: p.key, label: p.key === '/approvals' ? <ApprovalsLabel /> : t(p.label) }))} />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header className="header">
          <LiveBadge />
          <Space size="middle">
            <Typography.Text type="secondary">{t('app.timeZone', { tz: viewerTimeZone() })}</Typography.Text>
            <LanguageSwitch />
            <Typography.Text>{t('app.signedInAs', { account: session.account() ?? '' })}</Typography.Text>
            <Button
              size="small"
              onClick={() => {
                void signOut().then(onSignedOut);
              }}
            >
              {t('app.signOut')}
            </Button>
          </Space>
        </Layout.Header>
        {/* Layout.Content is the page's one <main> landmark (no second one inside it). */}
        <Layout.Content id="content" tabIndex={-1} className="content">
          {children}
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
