import { useRef, useState } from 'react';
import { newIdempotencyKey } from '../shared/api.ts';
import { useI18n } from '../shared/i18n.tsx';
import { formatCny } from '../shared/money.ts';
import { ConfirmPayment, type PaymentIntent, type PaymentProof } from './Confirm.tsx';
import {
  AmountInput,
  type AmountState,
  ErrorBanner,
  emptyAmount,
  Field,
  TopBar,
  useAction,
} from './components.tsx';
import { useBalance } from './Home.tsx';
import { api, go, useLoad, useMe, useSession } from './state.tsx';

interface Card {
  id: string;
  bank_name: string;
  card_type: string;
  last4: string;
  status: string;
}
interface Operation {
  id: string;
  status: 'pending' | 'succeeded' | 'failed';
  amount: string;
  failure_reason: string | null;
}

/** The largest single top-up or withdrawal (WALLET_BANK_OPERATION_MAX default). */
const BANK_OPERATION_MAX = 5_000_000n;

function useCards() {
  const me = useMe();
  return useLoad((signal) => api.get<{ cards: Card[] }>(`/v1/users/${me.id}/cards`, signal), [me.id]);
}

function cardLabel(card: Card) {
  return `${card.bank_name} ${card.card_type === 'credit' ? '💳' : ''}(${card.last4})`;
}

export function Money({ page }: { page: string | undefined }) {
  switch (page) {
    case 'cards':
      return <Cards />;
    case 'withdraw':
      return <BankMovement kind="withdraw" />;
    case 'transfer':
      return <Transfer />;
    default:
      return <BankMovement kind="top-up" />;
  }
}

function Cards() {
  const { t } = useI18n();
  const me = useMe();
  const { toast } = useSession();
  const cards = useCards();
  const [pan, setPan] = useState('');
  const [phone, setPhone] = useState('');
  const [verification, setVerification] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [confirming, setConfirming] = useState<PaymentIntent | null>(null);
  // Binding a card needs a step-up (card.bind): the passkey or the PIN, in the confirm sheet.
  const start = async (proof: PaymentProof) => {
    const started = await api.post<{ verification_id: string }>(`/v1/users/${me.id}/cards/verifications`, {
      pan: pan.replace(/\s/g, ''),
      phone,
      proof,
    });
    setConfirming(null);
    setVerification(started.verification_id);
  };
  const askStepUp = () =>
    setConfirming({
      amount: 0n,
      payee: `user:${me.id}`,
      payeeLabel: t('stepup.bindCard'),
      purpose: 'card.bind',
    });
  const confirm = useAction(async () => {
    await api.post(`/v1/users/${me.id}/cards`, { verification_id: verification, sms_code: code });
    toast(t('cards.bound'));
    setVerification(null);
    setPan('');
    setCode('');
    cards.reload();
  });
  return (
    <>
      <TopBar title={t('cards.title')} back="home" />
      <main className="screen">
        <section className="card">
          {cards.data?.cards.length === 0 && <p className="muted">{t('cards.none')}</p>}
          <div className="list" data-testid="cards">
            {cards.data?.cards.map((card) => (
              <div className="list-item" key={card.id}>
                <div className="avatar">🏦</div>
                <div className="grow">
                  <div className="title">{card.bank_name}</div>
                  <div className="muted small">
                    {card.card_type} ···· {card.last4}
                  </div>
                </div>
              </div>
            ))}
          </div>
        </section>
        <form
          className="card stack"
          onSubmit={(event) => {
            event.preventDefault();
            if (verification) void confirm.run();
            else askStepUp();
          }}
        >
          <h2>{t('cards.bind')}</h2>
          <Field label={t('cards.pan')}>
            {(id) => (
              <input
                id={id}
                data-testid="pan"
                inputMode="numeric"
                autoComplete="cc-number"
                maxLength={23}
                value={pan}
                disabled={verification !== null}
                onChange={(event) => setPan(event.target.value.replace(/[^\d ]/g, ''))}
              />
            )}
          </Field>
          <Field label={t('cards.phone')}>
            {(id) => (
              <input
                id={id}
                data-testid="card-phone"
                inputMode="tel"
                maxLength={11}
                value={phone}
                disabled={verification !== null}
                onChange={(event) => setPhone(event.target.value.replace(/\D/g, ''))}
              />
            )}
          </Field>
          {verification && (
            <Field label={t('cards.code')}>
              {(id) => (
                <input
                  id={id}
                  data-testid="card-code"
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  maxLength={8}
                  value={code}
                  onChange={(event) => setCode(event.target.value.replace(/\D/g, ''))}
                />
              )}
            </Field>
          )}
          <div className="hint">{t('cards.sandboxHint')}</div>
          <ErrorBanner error={confirm.error} />
          {verification ? (
            <button
              className="btn"
              type="submit"
              data-testid="bind-card"
              disabled={code.length < 4 || confirm.busy}
            >
              {t('cards.confirm')}
            </button>
          ) : (
            <button
              className="btn"
              type="submit"
              data-testid="card-send-code"
              disabled={pan.replace(/\s/g, '').length < 12 || phone.length !== 11 || confirming !== null}
            >
              {t('cards.sendCode')}
            </button>
          )}
        </form>
      </main>
      {confirming && <ConfirmPayment intent={confirming} pay={start} onClose={() => setConfirming(null)} />}
    </>
  );
}

async function waitForBank(userId: string, operation: Operation): Promise<Operation> {
  let current = operation;
  for (let attempt = 0; current.status === 'pending' && attempt < 60; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(250 * (attempt + 1), 1500)));
    current = await api.get<Operation>(`/v1/users/${userId}/bank-operations/${current.id}`);
  }
  return current;
}

function BankMovement({ kind }: { kind: 'top-up' | 'withdraw' }) {
  const { t } = useI18n();
  const me = useMe();
  const { toast } = useSession();
  const cards = useCards();
  const balance = useBalance();
  const [cardId, setCardId] = useState<string>('');
  const [amount, setAmount] = useState<AmountState>(emptyAmount);
  const [status, setStatus] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<PaymentIntent | null>(null);
  const key = useRef(newIdempotencyKey());
  const activeCards = cards.data?.cards.filter((card) => card.status === 'active') ?? [];
  const chosen = activeCards.find((card) => card.id === cardId) ?? activeCards[0];
  const available = kind === 'withdraw' && balance.data ? BigInt(balance.data.available) : undefined;

  const finish = async (operation: Operation) => {
    setStatus(t('topup.pending'));
    const final = await waitForBank(me.id, operation);
    setStatus(null);
    key.current = newIdempotencyKey();
    if (final.status === 'failed') throw new Error(t('topup.failed', { reason: final.failure_reason ?? '' }));
    if (final.status === 'succeeded') {
      toast(
        t(kind === 'top-up' ? 'topup.succeeded' : 'withdraw.succeeded', { amount: formatCny(final.amount) }),
      );
      go('home');
    }
  };
  // Both need a step-up bound to the action, amount and card (purpose top_up / withdraw).
  const move = async (proof: PaymentProof) => {
    const operation = await api.post<Operation>(
      `/v1/users/${me.id}/${kind === 'top-up' ? 'top-ups' : 'withdrawals'}`,
      { card_id: chosen!.id, amount: amount.minor!.toString(), proof },
      key.current,
    );
    setConfirming(null);
    await settling.run(operation);
  };
  const settling = useAction(finish);
  const error = settling.error;
  const busy = settling.busy;

  return (
    <>
      <TopBar title={t(kind === 'top-up' ? 'topup.title' : 'withdraw.title')} back="home" />
      <main className="screen">
        <form
          className="card stack"
          onSubmit={(event) => {
            event.preventDefault();
            setConfirming({
              amount: amount.minor!,
              payee: `card:${chosen!.id}`,
              payeeLabel: cardLabel(chosen!),
              purpose: kind === 'top-up' ? 'top_up' : 'withdraw',
            });
          }}
        >
          {cards.data && activeCards.length === 0 ? (
            <div className="hint">
              {t('cards.needOne')}{' '}
              <a href="#/money/cards" data-testid="go-bind-card">
                {t('cards.bind')} ›
              </a>
            </div>
          ) : (
            <Field label={t('cards.choose')}>
              {(id) => (
                <select
                  id={id}
                  data-testid="card"
                  value={chosen?.id ?? ''}
                  onChange={(e) => setCardId(e.target.value)}
                >
                  {activeCards.map((card) => (
                    <option key={card.id} value={card.id}>
                      {cardLabel(card)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          <AmountInput value={amount} onChange={setAmount} max={BANK_OPERATION_MAX} available={available} />
          {available !== undefined && (
            <p className="muted">
              {t('home.available')}: {formatCny(available)}
            </p>
          )}
          {status && <div className="success-banner">{status}</div>}
          <ErrorBanner error={error} />
          <button
            className="btn"
            type="submit"
            data-testid="submit"
            disabled={!chosen || amount.minor === null || amount.problem !== null || busy}
          >
            {t(kind === 'top-up' ? 'topup.submit' : 'withdraw.submit')}
          </button>
        </form>
      </main>
      {confirming && <ConfirmPayment intent={confirming} pay={move} onClose={() => setConfirming(null)} />}
    </>
  );
}

function Transfer() {
  const { t } = useI18n();
  const me = useMe();
  const { toast } = useSession();
  const balance = useBalance();
  const [phone, setPhone] = useState(
    () => new URLSearchParams(location.hash.split('?')[1]).get('phone') ?? '',
  );
  const [recipient, setRecipient] = useState<{
    user_id: string;
    phone_masked: string;
    real_name: string | null;
  } | null>(null);
  const [amount, setAmount] = useState<AmountState>(emptyAmount);
  const [memo, setMemo] = useState('');
  const [confirming, setConfirming] = useState<PaymentIntent | null>(null);
  const key = useRef(newIdempotencyKey());
  const available = balance.data ? BigInt(balance.data.available) : undefined;
  const name = recipient
    ? recipient.real_name
      ? `${recipient.real_name} (${recipient.phone_masked})`
      : recipient.phone_masked
    : '';

  const find = useAction(async () => {
    setRecipient(await api.get(`/v1/recipients?phone=${encodeURIComponent(phone)}`));
  });
  const pay = async (proof: PaymentProof) => {
    await api.post(
      `/v1/users/${me.id}/transfers`,
      {
        to_user_id: recipient!.user_id,
        amount: amount.minor!.toString(),
        ...(memo.trim() ? { memo: memo.trim() } : {}),
        proof,
      },
      key.current,
    );
    key.current = newIdempotencyKey();
    setConfirming(null);
    toast(t('transfer.sent', { amount: formatCny(amount.minor!), name }));
    go('home');
  };

  return (
    <>
      <TopBar title={t('transfer.title')} back="home" />
      <main className="screen">
        {!recipient ? (
          <form
            className="card stack"
            onSubmit={(event) => {
              event.preventDefault();
              void find.run();
            }}
          >
            <Field label={t('transfer.to')}>
              {(id) => (
                <input
                  id={id}
                  data-testid="recipient-phone"
                  inputMode="tel"
                  maxLength={11}
                  value={phone}
                  onChange={(event) => setPhone(event.target.value.replace(/\D/g, ''))}
                />
              )}
            </Field>
            <ErrorBanner error={find.error} />
            <button
              className="btn"
              type="submit"
              data-testid="find-recipient"
              disabled={phone.length !== 11 || find.busy}
            >
              {t('transfer.find')}
            </button>
          </form>
        ) : (
          <form
            className="card stack"
            onSubmit={(event) => {
              event.preventDefault();
              setConfirming({
                amount: amount.minor!,
                payee: `user:${recipient.user_id}`,
                payeeLabel: name,
                purpose: 'transfer',
              });
            }}
          >
            <div className="row">
              <div className="avatar">{recipient.real_name?.[0] ?? '👤'}</div>
              <div className="grow">
                <div data-testid="recipient">{t('transfer.recipient', { name })}</div>
              </div>
              <button type="button" className="btn ghost small" onClick={() => setRecipient(null)}>
                {t('common.back')}
              </button>
            </div>
            <AmountInput value={amount} onChange={setAmount} available={available} />
            {available !== undefined && (
              <p className="muted">
                {t('home.available')}: {formatCny(available)}
              </p>
            )}
            <Field label={t('transfer.memo')}>
              {(id) => (
                <input
                  id={id}
                  data-testid="memo"
                  maxLength={100}
                  value={memo}
                  onChange={(e) => setMemo(e.target.value)}
                />
              )}
            </Field>
            <button
              className="btn"
              type="submit"
              data-testid="submit"
              disabled={amount.minor === null || amount.problem !== null}
            >
              {t('action.transfer')}
            </button>
          </form>
        )}
      </main>
      {confirming && <ConfirmPayment intent={confirming} pay={pay} onClose={() => setConfirming(null)} />}
    </>
  );
}
