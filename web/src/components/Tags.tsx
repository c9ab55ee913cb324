/**
 * Severity, status and explanation tags: colour plus text (never colour alone), in colours whose
 * text meets WCAG AA contrast (4.5:1) on their own background.
 */
import type { CSSProperties } from 'react';
import { Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Severity } from '../api/types';

/** Text and background pairs, each at least 4.5:1. */
export const TONES = {
  magenta: { color: '#9e1068', background: '#fff0f6', borderColor: '#ffadd2' },
  red: { color: '#a8071a', background: '#fff1f0', borderColor: '#ffa39e' },
  orange: { color: '#873800', background: '#fff7e6', borderColor: '#ffd591' },
  gold: { color: '#7c4a03', background: '#fffbe6', borderColor: '#ffe58f' },
  blue: { color: '#003eb3', background: '#e6f4ff', borderColor: '#91caff' },
  green: { color: '#135200', background: '#f6ffed', borderColor: '#b7eb8f' },
  grey: { color: '#434343', background: '#f5f5f5', borderColor: '#d9d9d9' },
} satisfies Record<string, CSSProperties>;
export type Tone = keyof typeof TONES;

export function ToneTag({ tone, children, ...rest }: { tone: Tone; children: React.ReactNode; 'data-testid'?: string }) {
  return <Tag style={TONES[tone]} {...rest}>{children}</Tag>;
}

const SEVERITY_TONE: Record<Severity, Tone> = { critical: 'magenta', high: 'red', medium: 'orange', low: 'grey' };

export function SeverityTag({ severity }: { severity: Severity }) {
  const { t } = useTranslation();
  return <ToneTag tone={SEVERITY_TONE[severity]}>{t(`severity.${severity}`)}</ToneTag>;
}

export function StatusTag({ status }: { status: string }) {
  const { t } = useTranslation();
  return <ToneTag tone={status === 'open' ? 'gold' : status === 'acknowledged' ? 'blue' : 'green'}>{t(`alertStatus.${status}`, { defaultValue: status })}</ToneTag>;
}

export function ExplainedTag({ explained, by }: { explained: boolean | null; by: string | null }) {
  const { t } = useTranslation();
  if (explained === null) return null;
  const what = t(`basis.${by ?? 'none'}`);
  return <ToneTag tone={explained ? 'green' : 'red'}>{explained ? `${t('account.explained')} · ${what}` : `${t('account.unexplained')} · ${what}`}</ToneTag>;
}

export const riskTone = (r: number): Tone => (r >= 85 ? 'magenta' : r >= 65 ? 'red' : r >= 40 ? 'orange' : 'grey');
export const severityColor = (s: Severity) => TONES[SEVERITY_TONE[s]].color;
