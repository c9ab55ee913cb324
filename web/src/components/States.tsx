/** Loading, empty and error states, the same everywhere. */
import type { ReactNode } from 'react';
import { Alert, Button, Empty, Skeleton } from 'antd';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';

export function errorText(t: (k: string, o?: Record<string, unknown>) => string, err: unknown): string {
  if (err instanceof ApiError) {
    const known = t(`errors.${err.code}`, { message: err.message, defaultValue: '' });
    return known && known !== `errors.${err.code}` ? (err.code === 'validation_failed' || err.code === 'generic' ? known : `${known} (${err.message})`) : err.message;
  }
  return (err as Error)?.message ?? String(err);
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      title={t('common.error', { message: errorText(t, error) })}
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
