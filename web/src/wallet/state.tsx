import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { Api } from '../shared/api.ts';
import { useI18n } from '../shared/i18n.tsx';

export interface Me {
  id: string;
  phone_masked: string;
  status: 'active' | 'frozen';
  account_class: 'I' | 'II' | 'III';
  real_name_verified: boolean;
  real_name: string | null;
  id_number_masked: string | null;
  password_free_enabled: boolean;
}

export interface Device {
  id: string;
  kind: string;
  name: string;
  key_type: 'webauthn' | 'p256' | 'ed25519';
  status: 'active' | 'disabled';
  created_at: string;
  last_used_at: string | null;
}

export interface Balance {
  currency: string;
  available: string;
  balance: string;
  held: string;
  incoming: string;
}

export const api = new Api({ storageKey: 'tuyere.wallet.session', onSignedOut: () => location.reload() });
const PASSKEY_KEY = 'tuyere.wallet.passkey';

/** The device id of the passkey this browser registered, per user. */
export function localPasskey(userId: string): string | null {
  return localStorage.getItem(`${PASSKEY_KEY}.${userId}`);
}
export function rememberPasskey(userId: string, deviceId: string): void {
  localStorage.setItem(`${PASSKEY_KEY}.${userId}`, deviceId);
}

interface Session {
  me: Me | null;
  pinSet: boolean;
  loading: boolean;
  reload(): Promise<void>;
  signOut(): Promise<void>;
  toast(text: string): void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [pinSet, setPinSet] = useState(false);
  const [loading, setLoading] = useState(api.signedIn);
  const [toastText, setToastText] = useState<string | null>(null);

  const reload = useCallback(async () => {
    if (!api.signedIn) {
      setMe(null);
      setLoading(false);
      return;
    }
    try {
      const user = await api.get<Me>('/v1/me');
      const pin = await api.get<{ set: boolean }>(`/v1/users/${user.id}/pin`);
      setMe(user);
      setPinSet(pin.set);
    } catch {
      setMe(null);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  useEffect(() => {
    if (!toastText) return;
    const timer = setTimeout(() => setToastText(null), 2600);
    return () => clearTimeout(timer);
  }, [toastText]);

  const signOut = useCallback(async () => {
    await api.post('/v1/auth/logout').catch(() => undefined);
    api.setTokens(null);
    setMe(null);
    location.hash = '#/';
  }, []);

  const value = useMemo<Session>(
    () => ({ me, pinSet, loading, reload, signOut, toast: setToastText }),
    [me, pinSet, loading, reload, signOut],
  );
  return (
    <SessionContext.Provider value={value}>
      {children}
      {toastText && (
        <div className="toast" role="status" data-testid="toast">
          {toastText}
        </div>
      )}
    </SessionContext.Provider>
  );
}

export function useSession(): Session {
  const context = useContext(SessionContext);
  if (!context) throw new Error('useSession outside SessionProvider');
  return context;
}

/** The signed-in user (screens behind the onboarding gate only). */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error('useMe without a session');
  return me;
}

/** Hash routing ("#/money/top-up"): the server serves one page, and the PWA works offline. */
const readHash = () => location.hash.replace(/^#\/?/, '').split('?')[0]!.split('/').filter(Boolean);

export function useRoute(): string[] {
  const [parts, setParts] = useState(readHash);
  useEffect(() => {
    const onChange = () => {
      setParts(readHash());
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parts;
}

export function go(path: string): void {
  location.hash = `#/${path.replace(/^\//, '')}`;
}

/** Loads `load()` when `deps` change; `reload` runs it again. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: callers list what load depends on
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then(
      (value) => {
        if (!controller.signal.aborted) {
          setData(value);
          setError(null);
        }
      },
      (failure) => {
        if (!controller.signal.aborted) setError(failure);
      },
    );
    return () => controller.abort();
  }, [...deps, version]);
  return { data, error, reload: () => setVersion((v) => v + 1) };
}

/** How the app names a user in chats: "you", or the last four characters of the id. */
export function useNameOf() {
  const { t } = useI18n();
  const me = useMe();
  return (userId: string | null | undefined) =>
    userId === me.id ? t('groups.you') : `#${(userId ?? '').slice(-4)}`;
}
