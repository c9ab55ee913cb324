/**
 * Codes the server sends (detector names, response actions, decisions, reason codes, audit kinds,
 * error codes) shown in the viewer's language, with the raw code as the fallback for one the
 * catalogue does not know yet. Pure: no React, no antd (unit-tested in test/console).
 */
export type T = (key: string, opts?: Record<string, unknown>) => string;

/** `group.code` translated, or the code itself when the catalogue has no message for it. */
export function label(t: T, group: string, code: string | null | undefined): string {
  if (code === null || code === undefined || code === '') return '';
  const key = `${group}.${code}`;
  const text = t(key, { defaultValue: '' });
  return typeof text === 'string' && text !== '' && text !== key ? text : code;
}

/** A decision with its reason, both translated: "denied · no such waybill". */
export function decisionText(t: T, decision: string, reason: string | null | undefined): string {
  const d = label(t, 'decisions', decision);
  return reason ? `${d} · ${label(t, 'reasons', reason)}` : d;
}

/** An error as the viewer reads it: the translated code message; the server's own sentence apart (for a tooltip). */
export function errorParts(t: T, code: string, message: string): { text: string; detail: string | null } {
  // A 5xx without a code of its own (a proxy's page): the server failed, whatever its status line says.
  const key = `errors.${/^http_5\d\d$/.test(code) ? 'server' : code}`;
  const known = t(key, { message, defaultValue: '' });
  if (typeof known === 'string' && known !== '' && known !== key) {
    // validation_failed and generic already carry the server's sentence inside the message.
    return { text: known, detail: code === 'validation_failed' || code === 'generic' ? null : message };
  }
  return { text: t('errors.unknown', { code, defaultValue: message }), detail: message };
}

export interface BulkResult {
  id: string;
  ok: boolean;
  error?: { code: string; message: string };
}

/** What one bulk call did: how many were changed, and the refused ones grouped by error code. */
export function summarizeBulk(results: readonly BulkResult[] | undefined): { done: number; refused: number; byCode: Array<{ code: string; ids: string[]; message: string }> } {
  const byCode = new Map<string, { code: string; ids: string[]; message: string }>();
  let done = 0;
  for (const r of results ?? []) {
    if (r.ok) {
      done++;
      continue;
    }
    const code = r.error?.code ?? 'unknown';
    const g = byCode.get(code) ?? { code, ids: [], message: r.error?.message ?? '' };
    g.ids.push(r.id);
    byCode.set(code, g);
  }
  const groups = [...byCode.values()];
  return { done, refused: groups.reduce((n, g) => n + g.ids.length, 0), byCode: groups };
}

/** The one line that says what a bulk call did, translated: "2 done; 1 refused: You cannot act on …". */
export function bulkText(t: T, s: ReturnType<typeof summarizeBulk>): string {
  const refused = s.byCode.map((g) => t('alerts.bulkRefusedBy', { count: g.ids.length, reason: errorParts(t, g.code, g.message).text }));
  return [t('alerts.bulkDone', { count: s.done }), ...refused].join('; ');
}

interface AlertLike {
  detector: string;
  account: string | null;
  device?: string | null;
  summary: string;
  evidence?: Record<string, unknown> | null;
}
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * An alert's one-line summary in the viewer's language, built from its detector and evidence for
 * the detectors whose evidence says enough; else the server's own (English) summary.
 */
export function alertSummary(t: T, a: AlertLike): string {
  const e = a.evidence ?? {};
  const who = a.account ?? a.device ?? '';
  const vars = ((): Record<string, unknown> | null => {
    switch (a.detector) {
      case 'credential': {
        const before = num(e.failures_before);
        if (before !== undefined) return { variant: e.first_seen_device === true ? 'successNewDevice' : e.first_seen_network === true ? 'successNewNetwork' : 'success', n: before, minutes: num(e.window_minutes) ?? '?' };
        const n = num(e.failures);
        return n === undefined ? null : { variant: 'failures', n, minutes: num(e.window_minutes) ?? '?' };
      }
      case 'enumeration': {
        const n = num(e.near_sequential_hits);
        return n === undefined ? null : { variant: 'default', n, minutes: num(e.window_minutes) ?? '?' };
      }
      case 'harvesting': {
        const n = num(e.observed);
        const threshold = num(e.threshold);
        const share = num(e.explained_share);
        return n === undefined || threshold === undefined ? null : { variant: 'default', n, threshold, share: share === undefined ? '?' : Math.round(share * 100) };
      }
      case 'canary_touched': {
        const hits = Array.isArray(e.waybills) ? e.waybills.length : num(e.waybills);
        const action = str(e.action);
        return hits === undefined || !action ? null : { variant: 'default', n: hits, action: label(t, 'accessActions', action) };
      }
      default:
        return null;
    }
  })();
  if (!vars) return a.summary;
  const key = `summaries.${a.detector}.${String(vars.variant)}`;
  const text = t(key, { ...vars, who, defaultValue: '' });
  return typeof text === 'string' && text !== '' && text !== key ? text : a.summary;
}
