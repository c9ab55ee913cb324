/** Loading, empty and error states, the same everywhere. */
import type { ReactNode } from 'react';
import { Alert, Button, Empty, Skeleton } from 'antd';
import i18next from 'i18next';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import { errorParts } from '../labels';

type T = (k: string, o?: Record<string, unknown>) => string;

/** The error's translated message and, apart, the server's own (English) sentence. */
function parts(t: T, err: unknown): { text: string; detail: string | null } {
  if (err instanceof ApiError) return errorParts(t, err.code, err.message);
  return { text: (err as Error)?.message ?? String(err), detail: null };
}
/** English readers get the server's sentence inline; others only in a tooltip or details (it is English). */
const inline = () => i18next.language === 'en';

export function errorText(t: T, err: unknown): string {
  const { text, detail } = parts(t, err);
  return detail && inline() ? `${text} (${detail})` : text;
}

/** A toast's content: the translated message, the server's sentence as its tooltip (or inline in English). */
export function errorToast(t: T, err: unknown): ReactNode {
  const { text, detail } = parts(t, err);
  if (!detail) return text;
  return inline() ? `${text} (${detail})` : <span title={t('common.serverSays', { message: detail })} data-testid="error-toast">{text}</span>;
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const { detail } = parts(t, error);
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      title={t('common.error', { message: errorText(t, error) })}
      description={detail && !inline() ? <details><summary>{t('common.details')}</summary>{detail}</details> : undefined}
      action={onRetry ? <Button size="small" onClick={onRetry}>{t('common.retry')}</Button> : undefined}
    />
  );
}

export function Loading({ rows = 3 }: { rows?: number }) {
  const { t } = useTranslation();
  return (
    <div role="status" aria-live="polite" aria-busy="true">
      <span className="sr-only">{t('common.loading')}</span>
      <Skeleton active paragraph={{ rows }} title={false} />
    </div>
  );
}

export function EmptyState({ text }: { text?: string }) {
  const { t } = useTranslation();
  return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={text ?? t('common.empty')} />;
}

/** Renders loading, error, or empty in place of `children` until there is something to show. */
export function Async<T>({ state, empty, children, rows }: { state: { loading: boolean; error: Error | null; value: T | undefined; reload(): void }; empty?: (v: T) => boolean; children: (v: T) => ReactNode; rows?: number }) {
  if (state.error && state.value === undefined) return <ErrorState error={state.error} onRetry={state.reload} />;
  if (state.value === undefined) return <Loading rows={rows ?? 3} />;
  if (empty?.(state.value)) return <EmptyState />;
  return <>{children(state.value)}</>;
}

export function Unavailable({ what }: { what: string }) {
  const { t } = useTranslation();
  return <Alert type="info" showIcon title={t('common.notAvailable')} description={t('common.notAvailableHint', { what })} />;
}
