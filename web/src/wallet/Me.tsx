import { browserSupportsWebAuthn } from '@simplewebauthn/browser';
import { useState } from 'react';
import { type MessageKey, useI18n } from '../shared/i18n.tsx';
import { formatCny } from '../shared/money.ts';
import { ConfirmPayment, type PaymentIntent, type PaymentProof } from './Confirm.tsx';
import { ErrorBanner, TabBar, TopBar, useAction } from './components.tsx';
import { registerPasskey } from './Onboarding.tsx';
import { api, type Device, localPasskey, useLoad, useMe, useSession } from './state.tsx';

interface Limits {
  account_class: string;
  limits: Array<{ name: string; period: string; cap: string | null; used: string; remaining: string | null }>;
}

export function MePage() {
  const { t, language, setLanguage } = useI18n();
  const me = useMe();
  const { pinSet, signOut, toast, reload } = useSession();
  const devices = useLoad(
    (signal) => api.get<{ devices: Device[] }>(`/v1/users/${me.id}/devices`, signal),
    [me.id],
  );
  const limits = useLoad((signal) => api.get<Limits>(`/v1/users/${me.id}/limits`, signal), [me.id]);
  const local = localPasskey(me.id);
  const [confirming, setConfirming] = useState<PaymentIntent | null>(null);
  // Adding a device needs a step-up (device.add): the PIN or an existing passkey, in the confirm sheet.
  const addPasskey = useAction(async () => {
    setConfirming({
      amount: 0n,
      payee: `user:${me.id}`,
      payeeLabel: t('stepup.addDevice'),
      purpose: 'device.add',
    });
  });
  // Turning password-free payments on is a step-up (password_free.enable); turning them off is not.
  const enablePasswordFree = useAction(async () => {
    setConfirming({
      amount: 0n,
      payee: `user:${me.id}`,
      payeeLabel: t('stepup.passwordFree'),
      purpose: 'password_free.enable',
    });
  });
  const disablePasswordFree = useAction(async () => {
    await api.patch(`/v1/users/${me.id}/payment-settings`, { password_free_enabled: false });
    await reload();
    toast(t('me.passwordFreeOff'));
  });
  const confirmStepUp = async (proof: PaymentProof) => {
    if (confirming?.purpose === 'password_free.enable') {
      await api.patch(`/v1/users/${me.id}/payment-settings`, { password_free_enabled: true, proof });
      setConfirming(null);
      await reload();
      toast(t('me.passwordFreeOn'));
      return;
    }
    await registerPasskey(me.id, t('passkey.defaultName'), proof);
    setConfirming(null);
    toast(t('passkey.done'));
    devices.reload();
  };
  const disable = useAction(async (deviceId: string) => {
    await api.post(`/v1/devices/${deviceId}/disable`, { reason: 'disabled by the user' });
    devices.reload();
  });
  return (
    <>
      <TopBar title={t('me.title')} />
      <main className="screen">
        <section className="card row">
          <div className="avatar" style={{ width: 52, height: 52, fontSize: 22 }}>
            {me.real_name?.[0] ?? '👤'}
          </div>
          <div className="grow">
            <div style={{ fontWeight: 600 }}>{me.real_name ?? me.phone_masked}</div>
            <div className="muted small">
              {me.phone_masked} · {t('me.account', { cls: me.account_class })} ·{' '}
              {me.real_name_verified ? t('me.verified') : t('me.notVerified')}
            </div>
          </div>
        </section>
        {!me.real_name_verified && (
          <button
            type="button"
            className="btn secondary"
            onClick={() => {
              sessionStorage.removeItem('tuyere.wallet.onboarding-skipped');
              location.reload();
            }}
          >
            {t('me.verify')}
          </button>
        )}
        <section className="card">
          <h2>{t('me.devices')}</h2>
          <div className="list" data-testid="devices">
            {devices.data?.devices.map((device) => (
              <div className="list-item" key={device.id}>
                <div className="avatar">{device.key_type === 'webauthn' ? '🔑' : '📱'}</div>
                <div className="grow">
                  <div className="title">
                    {device.name}
                    {device.id === local ? ' ★' : ''}
                  </div>
                  <div className="muted small">
                    {device.status === 'active' ? t('device.active') : t('device.disabled')}
                  </div>
                </div>
                {device.status === 'active' && (
                  <button
                    type="button"
                    className="btn secondary small"
                    onClick={() => void disable.run(device.id)}
                  >
                    {t('device.disable')}
                  </button>
                )}
              </div>
            ))}
          </div>
          <ErrorBanner error={addPasskey.error ?? disable.error} />
          {browserSupportsWebAuthn() && (
            <button
              type="button"
              className="btn secondary"
              onClick={() => void addPasskey.run()}
              disabled={addPasskey.busy}
            >
              {t('me.addPasskey')}
            </button>
          )}
        </section>
        <section className="card">
          <div className="spread">
            <span>{t('me.pin')}</span>
            <span className="muted">{pinSet ? t('me.pinSet') : t('me.pinNotSet')}</span>
          </div>
        </section>
        <section className="card">
          <div className="spread">
            <span>{t('me.passwordFree')}</span>
            <button
              type="button"
              className="btn secondary small"
              data-testid="password-free"
              aria-pressed={me.password_free_enabled}
              disabled={
                enablePasswordFree.busy || disablePasswordFree.busy || (!pinSet && !me.password_free_enabled)
              }
              onClick={() =>
                void (me.password_free_enabled ? disablePasswordFree.run() : enablePasswordFree.run())
              }
            >
              {me.password_free_enabled ? t('me.passwordFreeTurnOff') : t('me.passwordFreeTurnOn')}
            </button>
          </div>
          <p className="muted small">{t('me.passwordFreeHint')}</p>
          <ErrorBanner error={enablePasswordFree.error ?? disablePasswordFree.error} />
        </section>
        <section className="card">
          <h2>{t('me.limits')}</h2>
          <div className="list">
            {limits.data?.limits.map((limit) => (
              <Limit key={`${limit.name}-${limit.period}`} limit={limit} />
            ))}
          </div>
        </section>
        <section className="card spread">
          <span>{t('me.language')}</span>
          <div className="segmented" style={{ width: 160 }}>
            <button
              type="button"
              className={language === 'zh' ? 'active' : ''}
              onClick={() => setLanguage('zh')}
            >
              中文
            </button>
            <button
              type="button"
              className={language === 'en' ? 'active' : ''}
              onClick={() => setLanguage('en')}
            >
              English
            </button>
          </div>
        </section>
        <p className="muted small">
          {t('me.userId')}: <span data-testid="user-id">{me.id}</span>
        </p>
        <button type="button" className="btn secondary" onClick={() => void signOut()} data-testid="logout">
          {t('me.logout')}
        </button>
      </main>
      {confirming && (
        <ConfirmPayment intent={confirming} pay={confirmStepUp} onClose={() => setConfirming(null)} />
      )}
      <TabBar active="me" />
    </>
  );
}

function Limit({ limit }: { limit: Limits['limits'][number] }) {
  const { t } = useI18n();
  const label = limit.name.replaceAll('_', ' ');
  return (
    <>
      <dt>
        {label} <span className="small">({limit.period})</span>
      </dt>
      <dd>
        {limit.cap === null
          ? t('limit.unlimited')
          : t('limit.remaining' as MessageKey, {
              remaining: formatCny(limit.remaining ?? '0'),
              cap: formatCny(limit.cap),
            })}
      </dd>
    </>
  );
}
