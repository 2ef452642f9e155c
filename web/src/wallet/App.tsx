import { useEffect, useState } from 'react';
import { useI18n } from '../shared/i18n.tsx';
import { Groups } from './Groups.tsx';
import { History } from './History.tsx';
import { Home } from './Home.tsx';
import { Login } from './Login.tsx';
import { MePage } from './Me.tsx';
import { Money } from './Money.tsx';
import { Onboarding, pendingStep } from './Onboarding.tsx';
import { api, type Device, localPasskey, useRoute, useSession } from './state.tsx';

export function App() {
  const { t } = useI18n();
  const { me, pinSet, loading } = useSession();
  const route = useRoute();
  const [hasPasskey, setHasPasskey] = useState<boolean | null>(null);
  const [onboardingVersion, setOnboardingVersion] = useState(0);
  const [online, setOnline] = useState(navigator.onLine);

  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: onboardingVersion re-checks the passkey after a step
  useEffect(() => {
    if (!me) return;
    const local = localPasskey(me.id);
    if (!local) {
      setHasPasskey(false);
      return;
    }
    api
      .get<{ devices: Device[] }>(`/v1/users/${me.id}/devices`)
      .then(({ devices }) => setHasPasskey(devices.some((d) => d.id === local && d.status === 'active')))
      .catch(() => setHasPasskey(false));
  }, [me, onboardingVersion]);

  if (loading) return <main className="screen muted">{t('common.loading')}</main>;
  if (!me) return <Login />;
  if (hasPasskey === null) return <main className="screen muted">{t('common.loading')}</main>;
  const step = pendingStep(me, pinSet, hasPasskey);
  if (step) return <Onboarding step={step} onDone={() => setOnboardingVersion((v) => v + 1)} />;

  const [section, page] = route;
  let screen: React.ReactNode;
  switch (section) {
    case 'money':
      screen = <Money page={page} />;
      break;
    case 'history':
      screen = <History itemId={page} />;
      break;
    case 'groups':
      screen = <Groups groupId={page} />;
      break;
    case 'me':
      screen = <MePage />;
      break;
    default:
      screen = <Home />;
  }
  return (
    <>
      {!online && <div className="error-banner">{t('offline.banner')}</div>}
      {screen}
    </>
  );
}
