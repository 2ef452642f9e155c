import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Api, newIdempotencyKey } from '../shared/api.ts';
import { describeError } from '../shared/errors.ts';
import { I18nProvider, LanguageSwitch, useI18n } from '../shared/i18n.tsx';
import { formatCny } from '../shared/money.ts';
import { Chart } from './Chart.tsx';
import './console.css';

export const api = new Api({ storageKey: 'tuyere.console.session', onSignedOut: () => location.reload() });

const readHash = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);

function useHash(): string[] {
  const [parts, setParts] = useState(readHash);
  useEffect(() => {
    const onChange = () => setParts(readHash());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parts;
}

function ErrorBox({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <div className="error" role="alert" data-testid="error">
      {describeError(error, t)}
    </div>
  );
}

function useAsync() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

function Login({ onDone }: { onDone(): void }) {
  const { t } = useI18n();
  const [tab, setTab] = useState<'token' | 'staff'>('token');
  const [token, setToken] = useState('');
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState(false);
  const action = useAsync();
  const signInWithToken = () =>
    action.run(async () => {
      api.setTokens({ access_token: token.trim() });
      try {
        await api.get('/v1/operator/dashboard');
      } catch (error) {
        api.setTokens(null);
        throw error;
      }
      onDone();
    });
  const staff = () =>
    action.run(async () => {
      if (!sent) {
        await api.post('/v1/auth/sms-codes', { phone, purpose: 'staff_login' });
        setSent(true);
        return;
      }
      const session = await api.post<{ access_token: string; refresh_token: string }>(
        '/v1/auth/staff/login',
        { phone, code },
      );
      api.setTokens(session);
      onDone();
    });
  return (
    <div className="login">
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <h1 style={{ fontSize: 20, margin: 0 }}>{t('console.title')}</h1>
        <LanguageSwitch />
      </div>
      <form
        className="panel"
        onSubmit={(event) => {
          event.preventDefault();
          void (tab === 'token' ? signInWithToken() : staff());
        }}
      >
        <h2>{t('console.signIn')}</h2>
        <div className="tabs">
          <button type="button" className={tab === 'token' ? 'active' : ''} onClick={() => setTab('token')}>
            {t('console.tokenTab')}
          </button>
          <button type="button" className={tab === 'staff' ? 'active' : ''} onClick={() => setTab('staff')}>
            {t('console.staffTab')}
          </button>
        </div>
        {tab === 'token' ? (
          <>
            <input
              data-testid="operator-token"
              type="password"
              placeholder={t('console.token')}
              value={token}
              onChange={(e) => setToken(e.target.value)}
            />
            <div className="hint">{t('console.tokenHint')}</div>
          </>
        ) : (
          <>
            <input
              data-testid="staff-phone"
              placeholder={t('login.phone')}
              value={phone}
              maxLength={11}
              onChange={(e) => setPhone(e.target.value.replace(/\D/g, ''))}
            />
            {sent && (
              <input
                data-testid="staff-code"
                placeholder={t('login.code')}
                value={code}
                maxLength={6}
                onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
              />
            )}
          </>
        )}
        <ErrorBox error={action.error} />
        <button className="btn" type="submit" data-testid="console-login" disabled={action.busy}>
          {tab === 'staff' && !sent ? t('login.sendCode') : t('login.submit')}
        </button>
      </form>
    </div>
  );
}

interface Sample {
  at: string;
  payments_per_s: number;
  grabs_per_s: number;
  requests_per_s: number;
  success_rate: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  jobs_backlog: number;
}

function Dashboard() {
  const { t } = useI18n();
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const data = await api.get<{ samples: Sample[] }>('/v1/operator/dashboard');
        if (!stopped) {
          setSamples(data.samples);
          setError(null);
        }
      } catch (failure) {
        if (!stopped) setError(failure);
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  const times = samples.map((s) => Date.parse(s.at) / 1000);
  const last = samples.at(-1);
  const peakGrabs = Math.max(0, ...samples.map((s) => s.grabs_per_s));
  return (
    <>
      <h1>{t('console.dashboard')}</h1>
      <ErrorBox error={error} />
      <div className="stats">
        <Stat
          label={t('console.paymentsPerSecond')}
          value={last ? last.payments_per_s.toFixed(1) : '—'}
          testId="stat-payments"
        />
        <Stat
          label={t('console.grabsPerSecond')}
          value={last ? last.grabs_per_s.toFixed(1) : '—'}
          testId="stat-grabs"
        />
        <Stat
          label={`${t('console.grabsPerSecond')} (max)`}
          value={peakGrabs.toFixed(1)}
          testId="stat-grabs-peak"
        />
        <Stat
          label={t('console.successRate')}
          value={last?.success_rate != null ? `${(last.success_rate * 100).toFixed(1)}%` : '—'}
          testId="stat-success"
        />
        <Stat label={t('console.jobs')} value={last ? String(last.jobs_backlog) : '—'} testId="stat-jobs" />
      </div>
      <Storm />
      <div className="grid">
        <div className="panel">
          <Chart
            title={`${t('console.paymentsPerSecond')} · ${t('console.grabsPerSecond')}`}
            times={times}
            testId="chart-throughput"
            series={[
              {
                label: t('console.paymentsPerSecond'),
                color: '#c9302c',
                values: samples.map((s) => s.payments_per_s),
              },
              {
                label: t('console.grabsPerSecond'),
                color: '#e8a317',
                values: samples.map((s) => s.grabs_per_s),
              },
            ]}
          />
        </div>
        <div className="panel">
          <Chart
            title={t('console.successRate')}
            times={times}
            testId="chart-success"
            range={[0, 100]}
            series={[
              {
                label: '%',
                color: '#12805c',
                values: samples.map((s) => (s.success_rate === null ? null : s.success_rate * 100)),
              },
            ]}
          />
        </div>
        <div className="panel">
          <Chart
            title={t('console.latency')}
            times={times}
            testId="chart-latency"
            series={[
              { label: 'p50', color: '#2f5fc4', values: samples.map((s) => s.latency_p50_ms) },
              { label: 'p95', color: '#8e44ad', values: samples.map((s) => s.latency_p95_ms) },
            ]}
          />
        </div>
        <div className="panel">
          <Chart
            title={t('console.jobs')}
            times={times}
            testId="chart-jobs"
            series={[
              { label: t('console.jobs'), color: '#667085', values: samples.map((s) => s.jobs_backlog) },
            ]}
          />
        </div>
      </div>
    </>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="stat">
      <div className="label">{label}</div>
      <div className="value" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}

function Storm() {
  const { t } = useI18n();
  const [envelopes, setEnvelopes] = useState('20');
  const [shares, setShares] = useState('10');
  const [grabbers, setGrabbers] = useState('50');
  const [stormId, setStormId] = useState<string | null>(null);
  const [progress, setProgress] = useState<Record<string, unknown> | null>(null);
  const action = useAsync();
  useEffect(() => {
    if (!stormId) return;
    let stopped = false;
    const poll = async () => {
      try {
        const data = await api.get<Record<string, unknown>>(`/v1/operator/storms/${stormId}`);
        if (!stopped) setProgress(data);
      } catch {
        /* shown by the next successful poll */
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [stormId]);
  const start = () =>
    action.run(async () => {
      const started = await api.post<{ storm_id?: string; id?: string }>(
        '/v1/operator/storms',
        { envelopes: Number(envelopes), shares: Number(shares), grabbers: Number(grabbers) },
        newIdempotencyKey(),
      );
      setStormId(started.storm_id ?? started.id ?? null);
    });
  const shown = ['state', 'envelopes_sent', 'attempts', 'grabbed', 'grabbed_amount', 'grabs_per_s', 'error'];
  const summary = progress
    ? shown
        .filter((key) => progress[key] !== undefined && progress[key] !== null)
        .map(
          (key) =>
            `${key}: ${key === 'grabbed_amount' ? formatCny(String(progress[key])) : String(progress[key])}`,
        )
        .join(' · ')
    : '';
  return (
    <div className="panel">
      <div className="row">
        <label>
          {t('console.stormEnvelopes')}{' '}
          <input
            size={4}
            value={envelopes}
            onChange={(e) => setEnvelopes(e.target.value.replace(/\D/g, ''))}
            data-testid="storm-envelopes"
          />
        </label>
        <label>
          {t('console.stormShares')}{' '}
          <input
            size={4}
            value={shares}
            onChange={(e) => setShares(e.target.value.replace(/\D/g, ''))}
            data-testid="storm-shares"
          />
        </label>
        <label>
          {t('console.stormGrabbers')}{' '}
          <input
            size={4}
            value={grabbers}
            onChange={(e) => setGrabbers(e.target.value.replace(/\D/g, ''))}
            data-testid="storm-grabbers"
          />
        </label>
        <button
          type="button"
          className="btn"
          onClick={() => void start()}
          disabled={action.busy}
          data-testid="storm"
        >
          🧧 {t('console.storm')}
        </button>
      </div>
      <ErrorBox error={action.error} />
      {stormId && (
        <p className="mono" data-testid="storm-progress">
          {t('console.stormRunning', { id: stormId.slice(0, 8), progress: summary })}
        </p>
      )}
    </div>
  );
}

interface Account {
  id: string;
  code: number;
  flags: string[];
  debits_pending: string;
  debits_posted: string;
  credits_pending: string;
  credits_posted: string;
}

function Ledger() {
  const { t } = useI18n();
  const [known, setKnown] = useState<Array<{ kind: string; id: string; code: number }>>([]);
  const [accountId, setAccountId] = useState('');
  const [account, setAccount] = useState<Account | null>(null);
  const [transfers, setTransfers] = useState<Array<Record<string, unknown>>>([]);
  const [verify, setVerify] = useState<{
    ok: boolean;
    counts: Record<string, number>;
    violations: unknown[];
  } | null>(null);
  const action = useAsync();
  useEffect(() => {
    api.get<{ accounts: typeof known }>('/v1/operator/ledger-accounts').then(
      (r) => setKnown(r.accounts),
      () => undefined,
    );
  }, []);
  const lookup = (id: string) =>
    action.run(async () => {
      setAccountId(id);
      setAccount(await api.get<Account>(`/v1/ledger/accounts/${id}`));
      const page = await api.get<{ transfers?: Array<Record<string, unknown>> }>(
        `/v1/ledger/accounts/${id}/transfers?limit=50`,
      );
      setTransfers(page.transfers ?? []);
    });
  return (
    <>
      <h1>{t('console.ledger')}</h1>
      <div className="panel">
        <div className="row">
          <button
            type="button"
            className="btn"
            onClick={() => void action.run(async () => setVerify(await api.get('/v1/ledger/verify')))}
            data-testid="verify"
          >
            {t('console.verify')}
          </button>
          {verify && (
            <span className={verify.ok ? 'ok' : 'bad'} data-testid="verify-result">
              {verify.ok
                ? t('console.verifyOk', {
                    accounts: verify.counts.accounts ?? 0,
                    transfers: verify.counts.transfers ?? 0,
                  })
                : t('console.verifyBad', { n: verify.violations.length })}
            </span>
          )}
        </div>
      </div>
      <div className="panel">
        <h2>{t('console.account')}</h2>
        <div className="row">
          {known.map((entry) => (
            <button
              type="button"
              key={entry.id}
              className="btn secondary"
              onClick={() => void lookup(entry.id)}
            >
              {entry.kind}
            </button>
          ))}
        </div>
        <form
          className="row"
          style={{ marginTop: 8 }}
          onSubmit={(event) => {
            event.preventDefault();
            void lookup(accountId.trim());
          }}
        >
          <input
            className="mono"
            size={40}
            value={accountId}
            onChange={(e) => setAccountId(e.target.value)}
            placeholder="uuid"
            data-testid="account-id"
          />
          <button type="submit" className="btn secondary">
            {t('console.lookup')}
          </button>
        </form>
        <ErrorBox error={action.error} />
        {account && (
          <table style={{ marginTop: 12 }} data-testid="account">
            <tbody>
              <tr>
                <th>code</th>
                <td>{account.code}</td>
                <th>flags</th>
                <td>{account.flags.join(', ')}</td>
              </tr>
              <tr>
                <th>debits posted / pending</th>
                <td className="num">
                  {formatCny(account.debits_posted)} / {formatCny(account.debits_pending)}
                </td>
                <th>credits posted / pending</th>
                <td className="num">
                  {formatCny(account.credits_posted)} / {formatCny(account.credits_pending)}
                </td>
              </tr>
              <tr>
                <th>net (credits − debits)</th>
                <td className="num" colSpan={3}>
                  {formatCny(BigInt(account.credits_posted) - BigInt(account.debits_posted))}
                </td>
              </tr>
            </tbody>
          </table>
        )}
        {transfers.length > 0 && (
          <GenericTable
            rows={transfers}
            columns={['id', 'debit_account_id', 'credit_account_id', 'amount', 'code', 'flags']}
          />
        )}
      </div>
    </>
  );
}

function GenericTable({ rows, columns }: { rows: Array<Record<string, unknown>>; columns: string[] }) {
  return (
    <div style={{ overflowX: 'auto' }}>
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column}>{column}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={String(row.id ?? index)}>
              {columns.map((column) => (
                <td key={column} className={/amount|fee/.test(column) ? 'num' : 'mono'}>
                  {formatCell(column, row[column])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function formatCell(column: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (/amount|fee/.test(column) && typeof value === 'string' && /^-?\d+$/.test(value))
    return formatCny(value);
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

interface UserView {
  id: string;
  phone_masked: string;
  status: string;
  account_class: string;
  real_name_verified: boolean;
  real_name: string | null;
}
interface Device {
  id: string;
  name: string;
  kind: string;
  key_type: string;
  status: string;
  created_at: string;
  last_used_at: string | null;
}

function Users() {
  const { t } = useI18n();
  const [phone, setPhone] = useState('');
  const [user, setUser] = useState<UserView | null>(null);
  const [devices, setDevices] = useState<Device[]>([]);
  const [limits, setLimits] = useState<Array<Record<string, unknown>>>([]);
  const [audit, setAudit] = useState<Array<Record<string, unknown>>>([]);
  const action = useAsync();
  const load = async (found: UserView) => {
    setUser(found);
    setDevices((await api.get<{ devices: Device[] }>(`/v1/users/${found.id}/devices`)).devices);
    setLimits(
      (await api.get<{ limits: Array<Record<string, unknown>> }>(`/v1/users/${found.id}/limits`)).limits,
    );
    const entries = (
      await api.get<{ entries: Array<Record<string, unknown>> }>(
        `/v1/audit?subject=${encodeURIComponent(`user:${found.id}`)}&limit=100`,
      )
    ).entries;
    const deviceEntries = await Promise.all(
      (await api.get<{ devices: Device[] }>(`/v1/users/${found.id}/devices`)).devices.map(
        async (device) =>
          (
            await api.get<{ entries: Array<Record<string, unknown>> }>(
              `/v1/audit?subject=${encodeURIComponent(`device:${device.id}`)}&limit=50`,
            )
          ).entries,
      ),
    );
    setAudit(
      [...entries, ...deviceEntries.flat()].sort((a, b) =>
        Number(BigInt(String(a.seq)) - BigInt(String(b.seq))),
      ),
    );
  };
  const find = () =>
    action.run(async () =>
      load(await api.get<UserView>(`/v1/operator/users?phone=${encodeURIComponent(phone)}`)),
    );
  const disable = (deviceId: string) =>
    action.run(async () => {
      await api.post(`/v1/devices/${deviceId}/disable`, { reason: 'disabled by an operator' });
      await load(user!);
    });
  const setStatus = (status: 'active' | 'frozen') =>
    action.run(async () => {
      await api.post(`/v1/operator/users/${user!.id}/status`, { status, reason: 'operator console' });
      await load(await api.get<UserView>(`/v1/operator/users?phone=${encodeURIComponent(phone)}`));
    });
  return (
    <>
      <h1>{t('console.users')}</h1>
      <form
        className="panel row"
        onSubmit={(event) => {
          event.preventDefault();
          void find();
        }}
      >
        <label>
          {t('console.findUser')}{' '}
          <input
            value={phone}
            maxLength={11}
            onChange={(e) => setPhone(e.target.value.replace(/\D/g, ''))}
            data-testid="user-phone"
          />
        </label>
        <button type="submit" className="btn" data-testid="find-user" disabled={phone.length !== 11}>
          {t('console.lookup')}
        </button>
      </form>
      <ErrorBox error={action.error} />
      {user && (
        <>
          <div className="panel" data-testid="user">
            <div className="row" style={{ justifyContent: 'space-between' }}>
              <div>
                <strong>{user.real_name ?? user.phone_masked}</strong> · {user.phone_masked} · class{' '}
                {user.account_class} · <span className={`badge ${user.status}`}>{user.status}</span>
                <div className="mono muted">{user.id}</div>
              </div>
              <button
                type="button"
                className="btn secondary"
                onClick={() => void setStatus(user.status === 'frozen' ? 'active' : 'frozen')}
              >
                {user.status === 'frozen' ? t('console.unfreeze') : t('console.freeze')}
              </button>
            </div>
          </div>
          <div className="grid">
            <div className="panel">
              <h2>{t('console.devices')}</h2>
              <table data-testid="devices">
                <tbody>
                  {devices.map((device) => (
                    <tr key={device.id} data-testid="device-row">
                      <td>
                        {device.name}
                        <div className="muted">
                          {device.kind} · {device.key_type}
                        </div>
                      </td>
                      <td>
                        <span className={`badge ${device.status}`} data-testid="device-status">
                          {device.status}
                        </span>
                      </td>
                      <td>
                        {device.status === 'active' && (
                          <button
                            type="button"
                            className="btn secondary"
                            onClick={() => void disable(device.id)}
                            data-testid="disable-device"
                          >
                            {t('console.disableDevice')}
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="panel">
              <h2>{t('console.limits')}</h2>
              <GenericTable rows={limits} columns={['name', 'period', 'cap', 'used', 'remaining']} />
            </div>
          </div>
          <div className="panel">
            <h2>{t('console.audit')}</h2>
            <div data-testid="audit">
              <GenericTable rows={audit} columns={['seq', 'at', 'actor', 'action', 'subject', 'details']} />
            </div>
          </div>
        </>
      )}
    </>
  );
}

function Reconciliation() {
  const { t } = useI18n();
  const [date, setDate] = useState(() => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10));
  const [state, setState] = useState('open');
  const [items, setItems] = useState<Array<Record<string, unknown>>>([]);
  const [report, setReport] = useState<Record<string, unknown> | null>(null);
  const action = useAsync();
  const load = () =>
    action.run(async () => {
      const data = await api.get<{ items: Array<Record<string, unknown>> }>(
        `/v1/operator/reconciliation/items?state=${state}&limit=100`,
      );
      setItems(data.items ?? []);
    });
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the filter changes
  useEffect(() => {
    void load();
  }, [state]);
  const run = () =>
    action.run(async () => {
      setReport(await api.post('/v1/operator/reconciliation/runs', { date }, newIdempotencyKey()));
      await load();
    });
  const resolve = (id: string, resolution: string) =>
    action.run(async () => {
      await api.post(
        `/v1/operator/reconciliation/items/${id}/resolve`,
        { resolution, note: 'resolved in the console' },
        newIdempotencyKey(),
      );
      await load();
    });
  return (
    <>
      <h1>{t('console.reconciliation')}</h1>
      <div className="panel row">
        <label>
          {t('console.runDate')} <input type="date" value={date} onChange={(e) => setDate(e.target.value)} />
        </label>
        <button type="button" className="btn" onClick={() => void run()} disabled={action.busy}>
          {t('console.run')}
        </button>
        {report && <span className="mono">{JSON.stringify(report).slice(0, 300)}</span>}
      </div>
      <ErrorBox error={action.error} />
      <div className="panel">
        <div className="row" style={{ justifyContent: 'space-between' }}>
          <h2>{t('console.openItems')}</h2>
          <select value={state} onChange={(e) => setState(e.target.value)}>
            <option value="open">open</option>
            <option value="auto_resolved">auto_resolved</option>
            <option value="resolved">resolved</option>
          </select>
        </div>
        {items.length === 0 ? (
          <p className="muted">{t('common.empty')}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>date</th>
                <th>kind</th>
                <th>request</th>
                <th>amount</th>
                <th>state</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={String(item.id)}>
                  <td>{String(item.date ?? item.business_date ?? '')}</td>
                  <td>{String(item.kind ?? '')}</td>
                  <td className="mono">{String(item.request_id ?? '')}</td>
                  <td className="num">{formatCell('amount', item.amount ?? item.our_amount ?? null)}</td>
                  <td>
                    <span className={`badge ${String(item.state)}`}>{String(item.state)}</span>
                  </td>
                  <td>
                    {item.state === 'open' && (
                      <div className="row">
                        {['post_pending', 'void_pending', 'dismiss'].map((resolution) => (
                          <button
                            type="button"
                            key={resolution}
                            className="btn secondary"
                            onClick={() => void resolve(String(item.id), resolution)}
                          >
                            {resolution}
                          </button>
                        ))}
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </>
  );
}

function SmsInbox() {
  const { t } = useI18n();
  const [phone, setPhone] = useState('');
  const [messages, setMessages] = useState<Array<{ id: string; body: string; created_at: string }>>([]);
  const action = useAsync();
  const load = () =>
    action.run(async () =>
      setMessages((await api.get<{ messages: typeof messages }>(`/v1/sandbox/sms?phone=${phone}`)).messages),
    );
  return (
    <>
      <h1>{t('console.sms')}</h1>
      <form
        className="panel row"
        onSubmit={(event) => {
          event.preventDefault();
          void load();
        }}
      >
        <input
          value={phone}
          maxLength={11}
          placeholder={t('login.phone')}
          onChange={(e) => setPhone(e.target.value.replace(/\D/g, ''))}
          data-testid="sms-phone"
        />
        <button type="submit" className="btn" disabled={phone.length !== 11}>
          {t('console.lookup')}
        </button>
      </form>
      <ErrorBox error={action.error} />
      <div className="panel">
        <table>
          <tbody>
            {messages.map((message) => (
              <tr key={message.id}>
                <td className="mono">{new Date(message.created_at).toLocaleString()}</td>
                <td>{message.body}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Console() {
  const { t } = useI18n();
  const [signedIn, setSignedIn] = useState(api.signedIn);
  const [page] = useHash();
  if (!signedIn) return <Login onDone={() => setSignedIn(true)} />;
  const pages = [
    ['dashboard', t('console.dashboard')],
    ['ledger', t('console.ledger')],
    ['users', t('console.users')],
    ['reconciliation', t('console.reconciliation')],
    ['sms', t('console.sms')],
  ] as const;
  const current = page ?? 'dashboard';
  return (
    <div className="layout">
      <nav className="side">
        <div className="brand">
          <img src="/icon.svg" alt="" /> Tuyere Ops
        </div>
        {pages.map(([name, label]) => (
          <a
            key={name}
            href={`#/${name}`}
            className={current === name ? 'active' : ''}
            data-testid={`nav-${name}`}
          >
            {label}
          </a>
        ))}
        <div className="spacer" />
        <LanguageSwitch />
        <button
          type="button"
          onClick={() => {
            api.setTokens(null);
            setSignedIn(false);
          }}
        >
          {t('console.signOut')}
        </button>
      </nav>
      <main className="main">
        {current === 'ledger' ? (
          <Ledger />
        ) : current === 'users' ? (
          <Users />
        ) : current === 'reconciliation' ? (
          <Reconciliation />
        ) : current === 'sms' ? (
          <SmsInbox />
        ) : (
          <Dashboard />
        )}
      </main>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nProvider>
      <Console />
    </I18nProvider>
  </StrictMode>,
);
