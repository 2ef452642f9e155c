import { useState } from 'react';
import { type MessageKey, useI18n } from '../shared/i18n.tsx';
import { formatCny } from '../shared/money.ts';
import { ErrorBanner, Money, TabBar, TopBar } from './components.tsx';
import { api, type Balance, useLoad, useMe } from './state.tsx';

export interface StatementItem {
  id: string;
  type: string;
  direction: 'in' | 'out';
  amount: string;
  status: 'posted' | 'pending' | 'voided' | 'expired';
  created_at: string;
  counterparty: string | null;
  memo: string | null;
}

export function useBalance() {
  const me = useMe();
  return useLoad((signal) => api.get<Balance>(`/v1/users/${me.id}/wallet`, signal), [me.id]);
}

/** Newest items first: the statement is oldest first, so read to its end (bounded). */
export async function recentItems(
  userId: string,
  count: number,
  signal?: AbortSignal,
): Promise<StatementItem[]> {
  const items: StatementItem[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const query = new URLSearchParams({ limit: '200' });
    if (cursor) query.set('cursor', cursor);
    const result: { items: StatementItem[]; next_cursor: string | null } = await api.get(
      `/v1/users/${userId}/statement?${query}`,
      signal,
    );
    items.push(...result.items);
    cursor = result.next_cursor;
    if (!cursor) break;
  }
  return items.reverse().slice(0, count);
}

export function ActivityRow({ item }: { item: StatementItem }) {
  const { t, language } = useI18n();
  const typeKey = `type.${item.type}` as MessageKey;
  const statusKey = `status.${item.status}` as MessageKey;
  const glyph = item.type.startsWith('envelope') ? '🧧' : item.direction === 'in' ? '↓' : '↑';
  return (
    <a className="list-item" href={`#/history/${item.id}`} data-testid="activity">
      <div className="avatar" aria-hidden="true">
        {glyph}
      </div>
      <div className="grow">
        <div className="title">{item.memo || t(typeKey)}</div>
        <div className="muted small">
          {new Date(item.created_at).toLocaleString(language === 'zh' ? 'zh-CN' : 'en-GB', {
            month: 'short',
            day: 'numeric',
            hour: '2-digit',
            minute: '2-digit',
          })}
          {item.status !== 'posted' ? ` · ${t(statusKey)}` : ''}
        </div>
      </div>
      <Money minor={item.amount} signed={item.direction} />
    </a>
  );
}

export function Home() {
  const { t } = useI18n();
  const me = useMe();
  const balance = useBalance();
  const [hidden, setHidden] = useState(() => localStorage.getItem('tuyere.wallet.hide-balance') === '1');
  const recent = useLoad((signal) => recentItems(me.id, 5, signal), [me.id]);
  const toggle = () => {
    localStorage.setItem('tuyere.wallet.hide-balance', hidden ? '0' : '1');
    setHidden(!hidden);
  };
  return (
    <>
      <TopBar title={t('app.name')} />
      <main className="screen">
        <section className="balance-card" aria-label={t('home.balance')}>
          <div className="label">
            {t('home.balance')} ({t('common.yuan')})
            <button type="button" onClick={toggle}>
              {hidden ? t('home.show') : t('home.hide')}
            </button>
          </div>
          <div className="amount" data-testid="balance">
            {balance.data ? (hidden ? '¥ ****' : formatCny(balance.data.available)) : '—'}
          </div>
          {balance.data && !hidden && (balance.data.incoming !== '0' || balance.data.held !== '0') && (
            <div className="sub">
              {balance.data.incoming !== '0' && (
                <span>{t('home.incoming', { amount: formatCny(balance.data.incoming) })}</span>
              )}
              {balance.data.held !== '0' && (
                <span>{t('home.held', { amount: formatCny(balance.data.held) })}</span>
              )}
            </div>
          )}
        </section>
        <ErrorBanner error={balance.error} />
        <nav className="quick-actions">
          <a href="#/money/top-up" data-testid="action-top-up">
            <span className="glyph">＋</span>
            {t('action.topUp')}
          </a>
          <a href="#/money/transfer" data-testid="action-transfer">
            <span className="glyph">⇄</span>
            {t('action.transfer')}
          </a>
          <a href="#/money/withdraw" data-testid="action-withdraw">
            <span className="glyph">↧</span>
            {t('action.withdraw')}
          </a>
          <a href="#/money/cards" data-testid="action-cards">
            <span className="glyph">▭</span>
            {t('action.cards')}
          </a>
        </nav>
        <section className="card">
          <div className="spread">
            <h2>{t('home.recent')}</h2>
            <a href="#/history" className="muted">
              {t('home.seeAll')} ›
            </a>
          </div>
          {recent.data?.length === 0 && <p className="muted">{t('home.noActivity')}</p>}
          <div className="list" data-testid="recent">
            {recent.data?.map((item) => (
              <ActivityRow key={item.id} item={item} />
            ))}
          </div>
        </section>
      </main>
      <TabBar active="home" />
    </>
  );
}
