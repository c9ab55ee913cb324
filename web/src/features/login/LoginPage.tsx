/**
 * Sign-in: single sign-on through the organisation's identity provider when the server offers it,
 * and account and password (then a one-time code when asked) unless local passwords are off.
 */
import { useEffect, useState } from 'react';
import { Alert, Button, Card, Divider, Form, Input, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../../api/client';
import { deviceId, needsOtp, signIn, signInMethods, signOut, startSso, type SignInMethods, type SsoReturn } from '../../api/login';
import { errorText, Loading } from '../../components/States';
import { LanguageSwitch } from '../../components/LanguageSwitch';

type T = (k: string, o?: Record<string, unknown>) => string;

/** A refused single sign-on, in the viewer's language: by the audited reason, else by the error code. */
function ssoRefusalText(t: T, r: { code: string; reason: string | null }): string {
  const known = (key: string, o?: Record<string, unknown>) => {
    const text = t(key, { ...o, defaultValue: '' });
    return typeof text === 'string' && text !== key ? text : '';
  };
  return (r.reason ? known(`login.ssoReasons.${r.reason}`) : '') || known(`errors.${r.code}`, { message: '' }) || t('login.ssoFailed');
}

export function LoginPage({ onSignedIn, sso, notice }: { onSignedIn(): void; sso?: SsoReturn; notice?: string | null }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [otp, setOtp] = useState(false);
  const [methods, setMethods] = useState<SignInMethods | null>(null);
  const [error, setError] = useState<string | null>(sso?.kind === 'refused' ? ssoRefusalText(t, sso) : notice ? t(notice) : null);

  useEffect(() => {
    let live = true;
    void signInMethods().then((m) => live && setMethods(m));
    return () => {
      live = false;
    };
  }, []);

  /**
   * Signed in: only security analysts may use the console (the overview is theirs). Any other
   * answer ends the session just opened, on the server too: a role refusal says "not an analyst"
   * (the client already signed it out), anything else (network, 5xx, …) is shown as what it is.
   */
  async function enter(account: string): Promise<void> {
    try {
      await api('GET', '/overview');
    } catch (err) {
      if (err instanceof ApiError && err.notAnalyst) setError(t('login.notAnalyst', { account }));
      else {
        await signOut();
        setError(t('login.checkFailed', { account, error: errorText(t, err) }));
      }
      return;
    }
    onSignedIn();
  }

  useEffect(() => {
    if (sso?.kind !== 'signed_in') return;
    setBusy(true);
    void enter(sso.account).finally(() => setBusy(false));
    // Once, for the sign-in the page was opened with.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  async function submit(values: { account: string; password: string; otp?: string }) {
    setBusy(true);
    setError(null);
    try {
      await signIn(values);
      await enter(values.account);
    } catch (err) {
      if (needsOtp(err) && !values.otp) setOtp(true);
      else setError(errorText(t, err));
    } finally {
      setBusy(false);
    }
  }

  async function single() {
    setBusy(true);
    setError(null);
    try {
      await startSso();
    } catch (err) {
      setError(errorText(t, err));
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <Card className="login-card">
        <div className="login-head">
          <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
            {t('app.name')} · {t('app.subtitle')}
          </Typography.Title>
          <LanguageSwitch />
        </div>
        <Typography.Paragraph type="secondary">{t('login.title')}</Typography.Paragraph>
        {error && <Alert type="error" showIcon role="alert" title={error} style={{ marginBottom: 16 }} data-testid="login-error" />}
        {methods === null ? (
          <Loading rows={4} />
        ) : (
          <>
            {methods.sso && (
              <Button type={methods.password ? 'default' : 'primary'} block loading={busy && !otp} disabled={busy} onClick={() => void single()} data-testid="sso">
                {t('login.sso')}
              </Button>
            )}
            {methods.sso && methods.password && <Divider plain>{t('login.or')}</Divider>}
            {methods.password && (
              <Form layout="vertical" onFinish={submit} requiredMark={false} disabled={busy}>
                <Form.Item label={t('login.account')} name="account" rules={[{ required: true, message: t('login.required') }]}>
                  <Input autoComplete="username" autoFocus />
                </Form.Item>
                <Form.Item label={t('login.password')} name="password" rules={[{ required: true, message: t('login.required') }]}>
                  <Input.Password autoComplete="current-password" />
                </Form.Item>
                {otp && (
                  <Form.Item label={t('login.otp')} name="otp" extra={t('login.otpHint')} rules={[{ required: true, pattern: /^\d{6}$/, message: t('login.otpFormat') }]}>
                    <Input inputMode="numeric" autoComplete="one-time-code" maxLength={6} autoFocus />
                  </Form.Item>
                )}
                <Button type="primary" htmlType="submit" block loading={busy}>
                  {t('login.submit')}
                </Button>
              </Form>
            )}
            {!methods.password && <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0 }}>{t('login.passwordsOff')}</Typography.Paragraph>}
          </>
        )}
        <Typography.Paragraph type="secondary" style={{ marginTop: 16, marginBottom: 0, fontSize: 12 }}>
          {t('login.device', { device: deviceId() })}
        </Typography.Paragraph>
      </Card>
    </main>
  );
}
