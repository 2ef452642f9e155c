import { useState } from 'react';
import { type MessageKey, useI18n } from '../shared/i18n.tsx';
import { formatCny } from '../shared/money.ts';
import { ErrorBanner, TabBar, TopBar } from './components.tsx';
import { ActivityRow, type StatementItem } from './Home.tsx';
import { api, useLoad, useMe } from './state.tsx';

const TYPE_FILTERS: Array<[string, MessageKey]> = [
  ['', 'common.all'],
  ['top_up', 'type.top_up'],
  ['withdrawal,withdrawal_fee', 'type.withdrawal'],
  ['transfer,transfer_return', 'type.transfer'],
  ['envelope,envelope_refund', 'type.envelope'],
];

interface Page {
  items: StatementItem[];
  next_cursor: string | null;
}

export function History({ itemId }: { itemId?: string }) {
  return itemId ? <Detail itemId={itemId} /> : <HistoryList />;
}

function HistoryList() {
  const { t } = useI18n();
  const me = useMe();
  const [type, setType] = useState('');
  const [direction, setDirection] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [extra, setExtra] = useState<StatementItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const query = new URLSearchParams({ limit: '50' });
  if (type) query.set('type', type);
  if (direction) query.set('direction', direction);
  if (from) query.set('from', new Date(`${from}T00:00:00+08:00`).toISOString());
  if (to) query.set('to', new Date(`${to}T23:59:59.999+08:00`).toISOString());
  const page = useLoad(
    async (signal) => {
      const result = await api.get<Page>(`/v1/users/${me.id}/statement?${query}`, signal);
      setExtra([]);
      setCursor(result.next_cursor);
      return result;
    },
    [me.id, query.toString()],
  );
  const more = async () => {
    if (!cursor) return;
    const next = new URLSearchParams(query);
    next.set('cursor', cursor);
    const result = await api.get<Page>(`/v1/users/${me.id}/statement?${next}`);
    setExtra((items) => [...items, ...result.items]);
    setCursor(result.next_cursor);
  };
  // The statement is oldest first; people read bills newest first.
  const items = [...(page.data?.items ?? []), ...extra].reverse();
  const csv = async () => {
    const response = await fetch(`/v1/users/${me.id}/statement.csv?${query}`, {
      headers: { authorization: `Bearer ${api.accessToken}` },
    });
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = 'tuyere-statement.csv';
    link.click();
    URL.revokeObjectURL(url);
  };
  return (
    <>
      <TopBar title={t('history.title')} />
      <main className="screen">
        <div className="chips">
          {TYPE_FILTERS.map(([value, key]) => (
            <button
              type="button"
              key={value}
              className={`chip${type === value ? ' active' : ''}`}
              onClick={() => setType(value)}
              data-testid={`filter-type-${value || 'all'}`}
            >
              {t(key)}
            </button>
          ))}
        </div>
        <div className="segmented three">
          {[
            ['', 'common.all'],
            ['in', 'history.in'],
            ['out', 'history.out'],
          ].map(([value, key]) => (
            <button
              type="button"
              key={value}
              className={direction === value ? 'active' : ''}
              onClick={() => setDirection(value!)}
            >
              {t(key as MessageKey)}
            </button>
          ))}
        </div>
        <div className="row">
          <label className="field" style={{ flex: 1 }}>
            <span className="muted small">{t('history.from')}</span>
            <input
              type="date"
              value={from}
              onChange={(e) => setFrom(e.target.value)}
              data-testid="filter-from"
            />
          </label>
          <label className="field" style={{ flex: 1 }}>
            <span className="muted small">{t('history.to')}</span>
            <input type="date" value={to} onChange={(e) => setTo(e.target.value)} data-testid="filter-to" />
          </label>
        </div>
        <ErrorBanner error={page.error} />
        <section className="card">
          {page.data && items.length === 0 && <p className="muted">{t('common.empty')}</p>}
          <div className="list" data-testid="history">
            {items.map((item) => (
              <ActivityRow key={item.id} item={item} />
            ))}
          </div>
          {cursor && (
            <button type="button" className="btn secondary" onClick={() => void more()}>
              {t('history.more')}
            </button>
          )}
        </section>
        <button type="button" className="btn ghost" onClick={() => void csv()}>
          {t('history.csv')}
        </button>
      </main>
      <TabBar active="history" />
    </>
  );
}

function Detail({ itemId }: { itemId: string }) {
  const { t, language } = useI18n();
  const me = useMe();
  const item = useLoad(
    (signal) =>
      api.get<StatementItem & Record<string, unknown>>(`/v1/users/${me.id}/statement/${itemId}`, signal),
    [me.id, itemId],
  );
  const data = item.data;
  const extras = data
    ? Object.entries(data).filter(
        ([key, value]) =>
          ![
            'id',
            'type',
            'direction',
            'amount',
            'currency',
            'status',
            'created_at',
            'counterparty',
            'memo',
          ].includes(key) &&
          value !== null &&
          typeof value !== 'object',
      )
    : [];
  const details =
    data && typeof data.details === 'object' && data.details ? Object.entries(data.details) : [];
  return (
    <>
      <TopBar title={t('history.detail')} back="history" />
      <main className="screen">
        <ErrorBanner error={item.error} />
        {data && (
          <section className="card stack" data-testid="detail">
            <div style={{ textAlign: 'center' }}>
              <div className="muted">{t(`type.${data.type}` as MessageKey)}</div>
              <div className={`confirm-amount${data.direction === 'in' ? ' amount in' : ''}`}>
                {data.direction === 'in' ? '+' : '-'}
                {formatCny(data.amount)}
              </div>
              <div className="muted">{t(`status.${data.status}` as MessageKey)}</div>
            </div>
            <dl className="kv">
              <dt>{t('history.time')}</dt>
              <dd>{new Date(data.created_at).toLocaleString(language === 'zh' ? 'zh-CN' : 'en-GB')}</dd>
              {data.counterparty && (
                <>
                  <dt>{t('history.counterparty')}</dt>
                  <dd>{data.counterparty}</dd>
                </>
              )}
              {data.memo && (
                <>
                  <dt>{t('history.memo')}</dt>
                  <dd>{data.memo}</dd>
                </>
              )}
              {[...extras, ...details].map(([key, value]) => (
                <FragmentRow key={key} name={key} value={String(value)} />
              ))}
              <dt>{t('history.id')}</dt>
              <dd className="small">{data.id}</dd>
            </dl>
          </section>
        )}
      </main>
    </>
  );
}

function FragmentRow({ name, value }: { name: string; value: string }) {
  return (
    <>
      <dt>{name.replaceAll('_', ' ')}</dt>
      <dd>{/^\d+$/.test(value) && /amount|fee/.test(name) ? formatCny(value) : value}</dd>
    </>
  );
}
