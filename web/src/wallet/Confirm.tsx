import { browserSupportsWebAuthn, startAuthentication } from '@simplewebauthn/browser';
import { useEffect, useState } from 'react';
import { useI18n } from '../shared/i18n.tsx';
import { formatCny } from '../shared/money.ts';
import { ErrorBanner, Sheet, useAction } from './components.tsx';
import { api, type Device, localPasskey, useMe } from './state.tsx';

export type PaymentProof =
  | { type: 'pin'; pin: string }
  | { type: 'webauthn'; challenge_id: string; response: Record<string, unknown> };

export interface PaymentIntent {
  /** 0 for a step-up that moves no money (binding a card, adding a device): then payeeLabel names the action. */
  amount: bigint;
  /** Who gets the money, as the payment challenge names it: user:<id>, card:<id>, ... */
  payee: string;
  payeeLabel: string;
  purpose: string;
}

/**
 * The confirmation screen of every payment and step-up: shows what is paid to whom (or which
 * action is confirmed), then asks for the passkey of this browser (when it has an active one)
 * or the payment PIN, and hands the proof to `pay`. The challenge's purpose binds the action.
 */
export function ConfirmPayment({
  intent,
  pay,
  onClose,
}: {
  intent: PaymentIntent;
  pay(proof: PaymentProof): Promise<void>;
  onClose(): void;
}) {
  const { t } = useI18n();
  const me = useMe();
  const [passkey, setPasskey] = useState<string | null>(null);
  const [method, setMethod] = useState<'passkey' | 'pin'>('pin');
  const [pin, setPin] = useState('');
  const stepUp = intent.amount === 0n;

  useEffect(() => {
    const local = localPasskey(me.id);
    if (!local || !browserSupportsWebAuthn()) return;
    api
      .get<{ devices: Device[] }>(`/v1/users/${me.id}/devices`)
      .then(({ devices }) => {
        if (devices.some((d) => d.id === local && d.status === 'active' && d.key_type === 'webauthn')) {
          setPasskey(local);
          setMethod('passkey');
        }
      })
      .catch(() => undefined);
  }, [me.id]);

  const action = useAction(async (proofMethod: 'passkey' | 'pin') => {
    if (proofMethod === 'pin') {
      await pay({ type: 'pin', pin });
      return;
    }
    const challenge = await api.post<{ challenge_id: string; webauthn_options: Record<string, unknown> }>(
      `/v1/users/${me.id}/payment-challenges`,
      { amount: intent.amount.toString(), currency: 'CNY', payee: intent.payee, purpose: intent.purpose },
    );
    const response = await startAuthentication({
      optionsJSON: challenge.webauthn_options as unknown as Parameters<
        typeof startAuthentication
      >[0]['optionsJSON'],
    });
    await pay({
      type: 'webauthn',
      challenge_id: challenge.challenge_id,
      response: response as unknown as Record<string, unknown>,
    });
  });

  return (
    <Sheet onClose={onClose}>
      <h2>{t(stepUp ? 'stepup.title' : 'confirm.title')}</h2>
      {!stepUp && (
        <div className="confirm-amount" data-testid="confirm-amount">
          {formatCny(intent.amount)}
        </div>
      )}
      <dl className="kv">
        <dt>{t(stepUp ? 'stepup.what' : 'confirm.to')}</dt>
        <dd data-testid="confirm-payee">{intent.payeeLabel}</dd>
        <dt>{t('confirm.method')}</dt>
        <dd>{method === 'passkey' ? t('confirm.passkey') : t('confirm.pin')}</dd>
      </dl>
      {method === 'pin' && (
        <label className="field">
          <span className="muted">{t('confirm.enterPin')}</span>
          <input
            data-testid="confirm-pin"
            type="password"
            inputMode="numeric"
            autoComplete="off"
            maxLength={6}
            // biome-ignore lint/a11y/noAutofocus: the sheet exists to take the PIN
            autoFocus
            value={pin}
            onChange={(event) => setPin(event.target.value.replace(/\D/g, ''))}
            style={{
              fontSize: 24,
              letterSpacing: 12,
              textAlign: 'center',
              padding: 12,
              borderRadius: 10,
              border: '1px solid var(--line)',
            }}
          />
        </label>
      )}
      <ErrorBanner error={action.error} />
      {method === 'passkey' ? (
        <>
          <button
            className="btn"
            type="button"
            data-testid="pay-passkey"
            disabled={action.busy}
            onClick={() => void action.run('passkey')}
          >
            {action.busy ? t('confirm.working') : t(stepUp ? 'stepup.usePasskey' : 'confirm.usePasskey')}
          </button>
          <button className="btn ghost" type="button" onClick={() => setMethod('pin')}>
            {t('confirm.usePin')}
          </button>
        </>
      ) : (
        <>
          <button
            className="btn"
            type="button"
            data-testid="pay-pin"
            disabled={pin.length !== 6 || action.busy}
            onClick={() => void action.run('pin')}
          >
            {action.busy ? t('confirm.working') : t(stepUp ? 'stepup.confirm' : 'confirm.pay')}
          </button>
          {passkey && (
            <button className="btn ghost" type="button" onClick={() => setMethod('passkey')}>
              {t(stepUp ? 'stepup.usePasskey' : 'confirm.usePasskey')}
            </button>
          )}
        </>
      )}
      <button className="btn secondary" type="button" onClick={onClose}>
        {t('common.cancel')}
      </button>
    </Sheet>
  );
}
