/**
 * Leak attribution: upload a leaked file as found in the wild (CSV or XLSX) and see which rows
 * matched our waybills, the accounts whose access history best explains it (ranked by score,
 * with when and from which devices), and the window in which the leak must have happened.
 * Security analysts only (the server decides; each run is audited). The file goes to the server
 * as it is and is kept nowhere in the browser.
 */
import { useState } from 'react';
import { Alert, Button, Card, Descriptions, Space, Statistic, Table, Typography, Upload } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { useCapabilities } from '../../api/capabilities';
import type { AttributionResult, AttributionSuspect } from '../../api/types';
import { EmptyState, Unavailable, errorText } from '../../components/States';
import { ToneTag } from '../../components/Tags';
import { formatNumber, formatTime } from '../../format';

/** What the server takes (POST /api/v1/attributions). */
const MAX_BYTES = 32 * 1024 * 1024;
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const mediaType = (f: File) => (/\.xlsx$/i.test(f.name) ? XLSX : 'text/csv');

export default function LeakPage() {
  const { t } = useTranslation();
  const caps = useCapabilities();
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<AttributionResult | null>(null);
  const available = caps ? caps.has('POST', '/attributions') : null;

  async function run() {
    if (!file) return;
    if (file.size > MAX_BYTES) {
      setError(t('leaks.tooLarge', { mib: MAX_BYTES / 1024 / 1024 }));
      return;
    }
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api<AttributionResult>('POST', '/attributions', { raw: { body: file, type: mediaType(file) } }));
    } catch (err) {
      setError(errorText(t, err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div data-testid="leaks-page">
      <Typography.Title level={1} className="page-title">{t('leaks.title')}</Typography.Title>
      {available === false ? (
        <Unavailable what={t('leaks.title')} />
      ) : (
        <Card size="small" title={t('leaks.upload')} style={{ marginBottom: 12 }}>
          <Typography.Paragraph type="secondary">{t('leaks.hint')}</Typography.Paragraph>
          <Upload.Dragger
            accept=".csv,.xlsx,text/csv"
            maxCount={1}
            multiple={false}
            beforeUpload={(f) => {
              setFile(f);
              setResult(null);
              setError(null);
              return false;
            }}
            onRemove={() => setFile(null)}
            fileList={file ? [{ uid: 'leak', name: file.name, status: 'done' }] : []}
            data-testid="leak-upload"
          >
            <p className="ant-upload-text">{t('leaks.drop')}</p>
            <p className="ant-upload-hint">{t('leaks.formats', { mib: MAX_BYTES / 1024 / 1024 })}</p>
          </Upload.Dragger>
          <Space style={{ marginTop: 12 }}>
            <Button type="primary" disabled={!file} loading={busy} onClick={() => void run()} data-testid="leak-run">
              {t('leaks.run')}
            </Button>
            <Typography.Text type="secondary">{t('leaks.audited')}</Typography.Text>
          </Space>
          {error && <Alert type="error" showIcon role="alert" title={error} style={{ marginTop: 12 }} data-testid="leak-error" />}
        </Card>
      )}
      {result && <Result r={result} />}
    </div>
  );
}

function Result({ r }: { r: AttributionResult }) {
  const { t } = useTranslation();
  return (
    <div data-testid="leak-result">
      <div className="stat-grid">
        <Card size="small"><Statistic title={t('leaks.matched')} value={r.matched} formatter={(v) => <span data-testid="leak-matched">{formatNumber(Number(v))}</span>} /></Card>
        <Card size="small"><Statistic title={t('leaks.unmatched')} value={r.unmatched} formatter={(v) => <span data-testid="leak-unmatched">{formatNumber(Number(v))}</span>} /></Card>
        <Card size="small"><Statistic title={t('leaks.records')} value={r.records} formatter={(v) => formatNumber(Number(v))} /></Card>
        <Card size="small"><Statistic title={t('leaks.junk')} value={r.junk} formatter={(v) => formatNumber(Number(v))} /></Card>
      </div>
      <Card size="small" style={{ marginBottom: 12 }}>
        <Descriptions size="small" column={1}>
          <Descriptions.Item label={t('leaks.window')}>
            <span data-testid="leak-window">{t('leaks.windowText', { from: r.window.from ? formatTime(r.window.from) : t('leaks.unknown'), to: formatTime(r.window.to) })}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('leaks.sources')}>
            {r.sources.length ? r.sources.map((s) => <ToneTag key={s} tone="red">{s}</ToneTag>) : t('leaks.noSource')}
          </Descriptions.Item>
          <Descriptions.Item label={t('leaks.matchedBy')}>
            {Object.entries(r.by).map(([k, n]) => (
              <ToneTag key={k} tone={k === 'none' ? 'grey' : 'blue'}>{`${t(`leaks.by.${k}`, { defaultValue: k })}: ${formatNumber(n)}`}</ToneTag>
            ))}
          </Descriptions.Item>
        </Descriptions>
        {r.exports.length > 0 && (
          <Alert
            type="warning"
            showIcon
            style={{ marginTop: 8 }}
            title={t('leaks.exportsFound')}
            description={r.exports.map((x) => <div key={x.id}>{t('leaks.exportLine', { id: x.id, account: x.account, time: formatTime(x.created_at), canaries: x.canaries })}</div>)}
          />
        )}
      </Card>
      <Card size="small" title={t('leaks.suspects')}>
        <Table<AttributionSuspect>
          size="small"
          rowKey="account"
          data-testid="leak-suspects"
          dataSource={r.suspects}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          locale={{ emptyText: <EmptyState text={t('leaks.noSuspects')} /> }}
          columns={[
            { title: t('leaks.rank'), key: 'rank', width: 56, render: (_v, _s, i) => i + 1 },
            {
              title: t('common.account'),
              dataIndex: 'account',
              render: (a: string, s) => (
                <Space size={4}>
                  <Link to={`/accounts/${encodeURIComponent(a)}`} data-account={a}>{a}</Link>
                  {s.source && <ToneTag tone="red">{t('leaks.source')}</ToneTag>}
                </Space>
              ),
            },
            { title: t('leaks.score'), dataIndex: 'score', render: (v: number) => v.toFixed(1) },
            { title: t('leaks.matchedRecords'), dataIndex: 'matched', render: (v: number, s) => t('leaks.ofVolume', { matched: formatNumber(v), volume: formatNumber(s.volume) }) },
            { title: t('account.first'), dataIndex: 'first', render: formatTime },
            { title: t('account.last'), dataIndex: 'last', render: formatTime },
            { title: t('account.devices'), dataIndex: 'devices', render: (d: string[]) => <span className="mono">{d.join(', ') || '—'}</span> },
            { title: t('account.networks'), dataIndex: 'networks', render: (d: string[]) => <span className="mono">{d.join(', ') || '—'}</span> },
          ]}
        />
      </Card>
    </div>
  );
}
