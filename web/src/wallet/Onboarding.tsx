import { browserSupportsWebAuthn, startRegistration } from '@simplewebauthn/browser';
import { useState } from 'react';
import { useI18n } from '../shared/i18n.tsx';
import type { PaymentProof } from './Confirm.tsx';
import { ErrorBanner, Field, TopBar, useAction } from './components.tsx';
import { api, type Me, rememberPasskey, useMe, useSession } from './state.tsx';

const SKIP_KEY = 'tuyere.wallet.onboarding-skipped';
const ID_EXAMPLE = '11010119900307123X';

type Step = 'real-name' | 'pin' | 'passkey';

/** Which onboarding step the user still needs, or null when done. */
export function pendingStep(me: Me, pinSet: boolean, hasPasskey: boolean): Step | null {
  const skipped = sessionStorage.getItem(SKIP_KEY)?.split(',') ?? [];
  if (!me.real_name_verified && !skipped.includes('real-name')) return 'real-name';
  // The PIN comes before the passkey: adding a device needs a step-up (the PIN).
  if (!pinSet) return 'pin';
  if (!hasPasskey && browserSupportsWebAuthn() && !skipped.includes('passkey')) return 'passkey';
  return null;
}

function skip(step: Step) {
  const skipped = sessionStorage.getItem(SKIP_KEY)?.split(',') ?? [];
  sessionStorage.setItem(SKIP_KEY, [...skipped, step].join(','));
}

export function Onboarding({ step, onDone }: { step: Step; onDone(): void }) {
  const { t } = useI18n();
  const index = ['real-name', 'pin', 'passkey'].indexOf(step);
  return (
    <>
      <TopBar title={t('app.name')} />
      <main className="screen">
        <div className="steps">
          {[0, 1, 2].map((n) => (
            <span key={n} className={n <= index ? 'done' : ''} />
          ))}
        </div>
        <p className="muted">{t('onboarding.step', { n: index + 1 })}</p>
        {step === 'real-name' && <RealName onDone={onDone} />}
        {step === 'passkey' && <PasskeyStep onDone={onDone} />}
        {step === 'pin' && <PinStep onDone={onDone} />}
      </main>
    </>
  );
}

function RealName({ onDone }: { onDone(): void }) {
  const { t } = useI18n();
  const me = useMe();
  const { reload } = useSession();
  const [name, setName] = useState('');
  const [idNumber, setIdNumber] = useState('');
  const action = useAction(async () => {
    await api.post(`/v1/users/${me.id}/real-name`, {
      name: name.trim(),
      id_number: idNumber.trim().toUpperCase(),
      requested_class: 'III',
    });
    await reload();
    onDone();
  });
  return (
    <form
      className="card stack"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run();
      }}
    >
      <h2>{t('realname.title')}</h2>
      <p className="muted">{t('realname.why')}</p>
      <Field label={t('realname.name')}>
        {(id) => (
          <input
            id={id}
            data-testid="real-name"
            value={name}
            maxLength={64}
            onChange={(e) => setName(e.target.value)}
          />
        )}
      </Field>
      <Field label={t('realname.id')}>
        {(id) => (
          <input
            id={id}
            data-testid="id-number"
            value={idNumber}
            maxLength={18}
            autoComplete="off"
            onChange={(e) => setIdNumber(e.target.value.replace(/[^\dXx]/g, ''))}
          />
        )}
      </Field>
      <div className="hint">{t('realname.sandboxHint', { example: ID_EXAMPLE })}</div>
      <ErrorBanner error={action.error} />
      <button
        className="btn"
        type="submit"
        data-testid="verify"
        disabled={!name.trim() || idNumber.length !== 18 || action.busy}
      >
        {t('realname.submit')}
      </button>
      <button
        className="btn ghost"
        type="button"
        onClick={() => {
          skip('real-name');
          onDone();
        }}
      >
        {t('common.skip')}
      </button>
    </form>
  );
}

/** Registers this browser as a payment device with a passkey (WebAuthn); `proof` is the device.add step-up. */
export async function registerPasskey(userId: string, name: string, proof: PaymentProof): Promise<string> {
  const options = await api.post<{ challenge_id: string; options: Record<string, unknown> }>(
    `/v1/users/${userId}/passkeys/registration-options`,
  );
  const response = await startRegistration({
    optionsJSON: options.options as unknown as Parameters<typeof startRegistration>[0]['optionsJSON'],
  });
  const device = await api.post<{ id: string }>(`/v1/users/${userId}/passkeys`, {
    challenge_id: options.challenge_id,
    kind: 'browser',
    name,
    response,
    proof,
  });
  rememberPasskey(userId, device.id);
  return device.id;
}

function PasskeyStep({ onDone }: { onDone(): void }) {
  const { t } = useI18n();
  const me = useMe();
  const [name, setName] = useState(() => t('passkey.defaultName'));
  const [pin, setPin] = useState('');
  const action = useAction(async () => {
    await registerPasskey(me.id, name.trim() || t('passkey.defaultName'), { type: 'pin', pin });
    onDone();
  });
  return (
    <form
      className="card stack"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run();
      }}
    >
      <h2>{t('passkey.title')}</h2>
      <p className="muted">{t('passkey.why')}</p>
      <Field label={t('passkey.name')}>
        {(id) => (
          <input
            id={id}
            data-testid="device-name"
            value={name}
            maxLength={60}
            onChange={(e) => setName(e.target.value)}
          />
        )}
      </Field>
      <Field label={t('passkey.pin')}>
        {(id) => (
          <input
            id={id}
            data-testid="passkey-pin"
            type="password"
            inputMode="numeric"
            autoComplete="off"
            maxLength={6}
            value={pin}
            onChange={(e) => setPin(e.target.value.replace(/\D/g, ''))}
          />
        )}
      </Field>
      <ErrorBanner error={action.error} />
      <button
        className="btn"
        type="submit"
        data-testid="create-passkey"
        disabled={pin.length !== 6 || action.busy}
      >
        {t('passkey.submit')}
      </button>
      <button
        className="btn ghost"
        type="button"
        onClick={() => {
          skip('passkey');
          onDone();
        }}
      >
        {t('common.skip')}
      </button>
    </form>
  );
}

export function PinStep({ onDone }: { onDone(): void }) {
  const { t } = useI18n();
  const me = useMe();
  const { reload } = useSession();
  const [pin, setPin] = useState('');
  const [repeat, setRepeat] = useState('');
  const mismatch = repeat.length === 6 && pin !== repeat;
  const action = useAction(async () => {
    await api.post(`/v1/users/${me.id}/pin`, { pin });
    await reload();
    onDone();
  });
  return (
    <form
      className="card stack"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run();
      }}
    >
      <h2>{t('pin.title')}</h2>
      <p className="muted">{t('pin.why')}</p>
      <Field label={t('pin.pin')}>
        {(id) => (
          <input
            id={id}
            data-testid="pin"
            type="password"
            inputMode="numeric"
            autoComplete="new-password"
            maxLength={6}
            value={pin}
            onChange={(e) => setPin(e.target.value.replace(/\D/g, ''))}
          />
        )}
      </Field>
      <Field label={t('pin.repeat')} error={mismatch ? t('pin.mismatch') : null}>
        {(id) => (
          <input
            id={id}
            data-testid="pin-repeat"
            type="password"
            inputMode="numeric"
            autoComplete="new-password"
            maxLength={6}
            value={repeat}
            onChange={(e) => setRepeat(e.target.value.replace(/\D/g, ''))}
          />
        )}
      </Field>
      <ErrorBanner error={action.error} />
      <button
        className="btn"
        type="submit"
        data-testid="set-pin"
        disabled={pin.length !== 6 || pin !== repeat || action.busy}
      >
        {t('pin.submit')}
      </button>
    </form>
  );
}
