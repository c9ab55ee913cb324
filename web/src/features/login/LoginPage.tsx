/** Sign-in: account and password, then a one-time code when the server asks for one. */
import { useState } from 'react';
import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, session } from '../../api/client';
import { deviceId, needsOtp, signIn } from '../../api/login';
import { errorText } from '../../components/States';
import { LanguageSwitch } from '../../components/LanguageSwitch';

export function LoginPage({ onSignedIn }: { onSignedIn(): void }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [otp, setOtp] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(values: { account: string; password: string; otp?: string }) {
    setBusy(true);
    setError(null);
    try {
      await signIn(values);
      try {
        await api('GET', '/overview');
      } catch (err) {
        session.clear();
        setError(t('login.notAnalyst', { account: values.account }));
        return;
      }
      onSignedIn();
    } catch (err) {
      if (needsOtp(err) && !values.otp) setOtp(true);
      else setError(errorText(t, err));
    } finally {
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
        {error && <Alert type="error" showIcon role="alert" title={error} style={{ marginBottom: 16 }} />}
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
        <Typography.Paragraph type="secondary" style={{ marginTop: 16, marginBottom: 0, fontSize: 12 }}>
          {t('login.device', { device: deviceId() })}
        </Typography.Paragraph>
      </Card>
    </main>
  );
}
