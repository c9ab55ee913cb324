/**
 * CEF (ArcSight Common Event Format, rev. 25) payloads in RFC 5424 syslog messages.
 *
 * CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
 * Header fields escape `\` and `|`; extension values escape `\`, `=` and line breaks (as \n / \r).
 * RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG, fields printable
 * US-ASCII without spaces (NILVALUE `-`), length limits 255/48/128/32; MSG is UTF-8 with a BOM.
 */
import type { SiemEvent } from './events.js';

const VERSION = '0.1.0';
const SEVERITY_CEF = { low: 3, medium: 5, high: 8, critical: 10 } as const;
/** syslog severities: notice, warning, error, critical. */
const SEVERITY_SYSLOG = { low: 5, medium: 4, high: 3, critical: 2 } as const;
/** authpriv (10): security/authorization messages. */
export const DEFAULT_FACILITY = 10;

const header = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
const extValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r/g, '\\r').replace(/\n/g, '\\n');

export function toCef(e: SiemEvent): string {
  const name = e.source === 'alert' ? `Alert: ${e.kind}` : `Audit: ${e.kind} ${e.outcome}`;
  const ext: Array<[string, string | number | null | undefined]> = [
    ['rt', Date.parse(e.ts)],
    ['externalId', e.id],
    ['cat', e.source === 'alert' ? 'warden/alert' : `warden/audit/${e.kind.split('.')[0]}`],
    ['act', e.kind],
    ['outcome', e.outcome],
    ['reason', e.reason],
    ['suser', e.account],
    ['spriv', e.role],
    ['deviceExternalId', e.device],
    ['src', e.ip],
    ['cs1Label', e.site ? 'site' : null],
    ['cs1', e.site],
    ['cs2Label', e.waybill ? 'waybill' : null],
    ['cs2', e.waybill],
    ['cs3Label', e.fields?.length ? 'fields' : null],
    ['cs3', e.fields?.join(',')],
    ['cs4Label', e.actor ? 'actor' : null],
    ['cs4', e.actor],
    ['cn1Label', e.seq !== null ? 'auditSeq' : null],
    ['cn1', e.seq],
  ];
  if (e.alert) {
    ext.push(['cn2Label', 'score'], ['cn2', e.alert.score], ['cn3Label', e.alert.risk !== null ? 'risk' : null], ['cn3', e.alert.risk]);
    ext.push(['cs5Label', e.alert.incident ? 'incident' : null], ['cs5', e.alert.incident], ['cs6Label', e.alert.response ? 'response' : null], ['cs6', e.alert.response]);
    ext.push(['msg', e.alert.summary]);
  }
  const extension = ext
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${extValue(String(v))}`)
    .join(' ');
  return `CEF:0|Warden|Warden|${VERSION}|${header(e.kind)}|${header(name)}|${SEVERITY_CEF[e.severity]}|${extension}`;
}

const field = (v: string | null | undefined, max: number): string => {
  const s = (v ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return s || '-';
};

/** One RFC 5424 message (no transport framing). */
export function toSyslog(e: SiemEvent, opts: { hostname: string; facility?: number; procId?: string }): string {
  const pri = (opts.facility ?? DEFAULT_FACILITY) * 8 + SEVERITY_SYSLOG[e.severity];
  const msgId = e.source === 'alert' ? 'alert' : e.kind.startsWith('watch.response') ? 'response' : 'audit';
  return `<${pri}>1 ${new Date(Date.parse(e.ts)).toISOString()} ${field(opts.hostname, 255)} warden ${field(opts.procId ?? String(process.pid), 128)} ${msgId} - \uFEFF${toCef(e)}`;
}

/** RFC 6587 octet counting, for syslog over TCP and TLS (RFC 5425). */
export const octetFrame = (msg: string): Buffer => {
  const body = Buffer.from(msg, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
};
