import { useEffect, useState } from 'react';
import { useI18n } from '../shared/i18n.tsx';
import { ErrorBanner, Field, TopBar, useAction } from './components.tsx';
import { api, type Me, useSession } from './state.tsx';

const PHONE = /^1[3-9]\d{9}$/;

export function Login() {
  const { t } = useI18n();
  const { reload } = useSession();
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState(false);
  const [wait, setWait] = useState(0);

  useEffect(() => {
    if (wait <= 0) return;
    const timer = setTimeout(() => setWait(wait - 1), 1000);
    return () => clearTimeout(timer);
  }, [wait]);

  const send = useAction(async () => {
    await api.post('/v1/auth/sms-codes', { phone, purpose: 'login' });
    setSent(true);
    setWait(60);
  });
  const login = useAction(async () => {
    const session = await api.post<{ access_token: string; refresh_token: string; user: Me }>(
      '/v1/auth/login',
      { phone, code },
    );
    api.setTokens({ access_token: session.access_token, refresh_token: session.refresh_token });
    location.hash = '#/home';
    await reload();
  });

  const phoneOk = PHONE.test(phone);
  return (
    <>
      <TopBar title="" />
      <main className="screen">
        <div className="hero">
          <img src="/icon.svg" alt="" />
          <h1>{t('app.name')}</h1>
          <p>{t('app.tagline')}</p>
        </div>
        <form
          className="card stack"
          onSubmit={(event) => {
            event.preventDefault();
            if (sent) void login.run();
            else void send.run();
          }}
        >
          <h2>{t('login.title')}</h2>
          <Field
            label={t('login.phone')}
            error={phone.length >= 11 && !phoneOk ? t('login.phoneInvalid') : null}
          >
            {(id) => (
              <div className="row">
                <input
                  id={id}
                  data-testid="phone"
                  inputMode="tel"
                  autoComplete="tel"
                  maxLength={11}
                  placeholder={t('login.phoneHint')}
                  value={phone}
                  onChange={(event) => setPhone(event.target.value.replace(/\D/g, ''))}
                />
                {sent && (
                  <button
                    type="button"
                    className="btn secondary small"
                    disabled={wait > 0 || send.busy}
                    onClick={() => void send.run()}
                  >
                    {wait > 0 ? `${wait}s` : t('login.resend')}
                  </button>
                )}
              </div>
            )}
          </Field>
          {sent && (
            <>
              <p className="muted" data-testid="code-sent">
                {t('login.codeSent', { phone: `${phone.slice(0, 3)}****${phone.slice(-4)}` })}
              </p>
              <Field label={t('login.code')}>
                {(id) => (
                  <input
                    id={id}
                    data-testid="code"
                    inputMode="numeric"
                    autoComplete="one-time-code"
                    maxLength={6}
                    value={code}
                    onChange={(event) => setCode(event.target.value.replace(/\D/g, ''))}
                  />
                )}
              </Field>
              <div className="hint" data-testid="sandbox-sms-hint">
                {t('login.sandboxHint')}
              </div>
            </>
          )}
          <ErrorBanner error={send.error ?? login.error} />
          {sent ? (
            <button
              className="btn"
              type="submit"
              data-testid="login"
              disabled={code.length !== 6 || login.busy}
            >
              {t('login.submit')}
            </button>
          ) : (
            <button className="btn" type="submit" data-testid="send-code" disabled={!phoneOk || send.busy}>
              {t('login.sendCode')}
            </button>
          )}
        </form>
      </main>
    </>
  );
}
