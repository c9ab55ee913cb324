/** The console: sign-in gate, the shell, and one route per page (each page a lazy chunk). */
import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import { ConfigProvider, App as AntApp } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import enUS from 'antd/locale/en_US';
import { HashRouter, Navigate, Route, Routes } from 'react-router';
import { useTranslation } from 'react-i18next';
import { publishApprovalCount } from './api/approvals';
import { session } from './api/client';
import { takeSsoReturn } from './api/login';
import { stopStream } from './api/stream';
import { Shell } from './components/Shell';
import { Loading } from './components/States';
import { LoginPage } from './features/login/LoginPage';
import { OverviewPage } from './features/overview/OverviewPage';

const AlertsPage = lazy(() => import('./features/alerts/AlertsPage'));
const AccountPage = lazy(() => import('./features/account/AccountPage'));
const AuditPage = lazy(() => import('./features/audit/AuditPage'));
const DetectorsPage = lazy(() => import('./features/detectors/DetectorsPage'));
const CasesPage = lazy(() => import('./features/cases/CasesPage'));
const LeakPage = lazy(() => import('./features/leaks/LeakPage'));
const CanariesPage = lazy(() => import('./features/leaks/CanariesPage'));
const SubjectsPage = lazy(() => import('./features/subjects/SubjectsPage'));
const ApprovalsPage = lazy(() => import('./features/approvals/ApprovalsPage'));

// Before the router reads the URL: a single sign-on the server sent back in the fragment.
const ssoReturn = takeSsoReturn();
if (ssoReturn?.kind === 'refused') session.clear();

// Contrast: the primary colour meets WCAG AA (4.5:1) on white for text and on buttons.
const theme = { token: { colorPrimary: '#0b57d0', colorPrimaryHover: '#0842a0', colorPrimaryActive: '#06357f', colorLink: '#0b57d0', colorLinkHover: '#0842a0', colorErrorHover: '#a8071a', colorTextSecondary: 'rgba(0,0,0,0.65)', colorTextTertiary: 'rgba(0,0,0,0.6)', colorTextDescription: 'rgba(0,0,0,0.62)', colorTextPlaceholder: 'rgba(0,0,0,0.58)', colorTextQuaternary: 'rgba(0,0,0,0.58)', colorError: '#c41d1d', colorErrorText: '#a8071a', colorWarningText: '#7c4a03', colorSuccessText: '#135200', borderRadius: 4, fontFamily: "-apple-system, BlinkMacSystemFont, 'Segoe UI', 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif" } };

export function App() {
  const { i18n } = useTranslation();
  const [signedIn, setSignedIn] = useState(() => session.token() !== null && ssoReturn?.kind !== 'signed_in');
  // The sign-in the page was opened with is used once.
  const [sso, setSso] = useState(ssoReturn);
  // Why the last session ended, when the analyst did not sign out: shown on the sign-in page.
  const [ended, setEnded] = useState<string | null>(null);
  const inside = useRef(signedIn);
  inside.current = signedIn;
  useEffect(
    () =>
      session.onUnauthorised((reason) => {
        // Everything shown is dropped with the shell: the stream's last snapshot and the inbox count too.
        stopStream();
        publishApprovalCount(null);
        if (inside.current && reason === 'not_analyst') setEnded('login.demoted');
        setSignedIn(false);
      }),
    [],
  );
  return (
    <ConfigProvider locale={i18n.language === 'zh-CN' ? zhCN : enUS} theme={theme}>
      <AntApp>
        {!signedIn ? (
          <LoginPage
            sso={sso}
            notice={ended}
            onSignedIn={() => {
              setSso(null);
              setEnded(null);
              setSignedIn(true);
            }}
          />
        ) : (
          <HashRouter>
            <Shell
              onSignedOut={() => {
                stopStream();
                publishApprovalCount(null);
                setSignedIn(false);
              }}
            >
              <Suspense fallback={<Loading rows={8} />}>
                <Routes>
                  <Route path="/" element={<OverviewPage />} />
                  <Route path="/alerts" element={<AlertsPage />} />
                  <Route path="/accounts" element={<AccountPage />} />
                  <Route path="/accounts/:id" element={<AccountPage />} />
                  <Route path="/audit" element={<AuditPage />} />
                  <Route path="/detectors" element={<DetectorsPage />} />
                  <Route path="/cases" element={<CasesPage />} />
                  <Route path="/leaks" element={<LeakPage />} />
                  <Route path="/canaries" element={<CanariesPage />} />
                  <Route path="/subjects" element={<SubjectsPage />} />
                  <Route path="/approvals" element={<ApprovalsPage />} />
                  <Route path="*" element={<Navigate to="/" replace />} />
                </Routes>
              </Suspense>
            </Shell>
          </HashRouter>
        )}
      </AntApp>
    </ConfigProvider>
  );
}
