/** Severity, status and explanation tags: colour plus text (never colour alone). */
import { Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Severity } from '../api/types';

const SEVERITY_COLOR: Record<Severity, string> = { critical: 'magenta', high: 'red', medium: 'orange', low: 'default' };

export function SeverityTag({ severity }: { severity: Severity }) {
  const { t } = useTranslation();
  return <Tag color={SEVERITY_COLOR[severity]}>{t(`severity.${severity}`)}</Tag>;
}

export function StatusTag({ status }: { status: string }) {
  const { t } = useTranslation();
  const color = status === 'open' ? 'gold' : status === 'acknowledged' ? 'blue' : 'green';
  return <Tag color={color}>{t(`alertStatus.${status}`, { defaultValue: status })}</Tag>;
}

export function ExplainedTag({ explained, by }: { explained: boolean | null; by: string | null }) {
  const { t } = useTranslation();
  if (explained === null) return null;
  const what = t(`basis.${by ?? 'none'}`);
  return <Tag color={explained ? 'green' : 'red'}>{explained ? `${t('account.explained')} · ${what}` : `${t('account.unexplained')} · ${what}`}</Tag>;
}

export const severityColor = (s: Severity) => ({ critical: '#c41d7f', high: '#cf1322', medium: '#d46b08', low: '#8c8c8c' })[s];
