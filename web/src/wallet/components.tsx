import { type ReactNode, useId, useState } from 'react';
import { describeError } from '../shared/errors.ts';
import { LanguageSwitch, type MessageKey, useI18n } from '../shared/i18n.tsx';
import { type AmountProblem, formatCny, parseAmount, sanitizeAmountInput } from '../shared/money.ts';
import { go } from './state.tsx';

export function TopBar({ title, back, right }: { title: string; back?: string | true; right?: ReactNode }) {
  const { t } = useI18n();
  return (
    <header className="topbar">
      <div className="slot">
        {back && (
          <button
            type="button"
            className="icon-button"
            onClick={() => (back === true ? history.back() : go(back))}
            aria-label={t('common.back')}
          >
            ‹ {t('common.back')}
          </button>
        )}
      </div>
      <h1>{title}</h1>
      <div className="slot">{right ?? <LanguageSwitch />}</div>
    </header>
  );
}

export function Field({
  label,
  error,
  children,
}: {
  label: string;
  error?: string | null;
  children: (id: string) => ReactNode;
}) {
  const id = useId();
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {error ? (
        <div className="field-error" role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}

export function ErrorBanner({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <div className="error-banner" role="alert" data-testid="error">
      {describeError(error, t)}
    </div>
  );
}

export interface AmountState {
  text: string;
  minor: bigint | null;
  problem: string | null;
}

/** What to say about an amount as it is typed; null while it is fine. */
export function amountProblem(
  t: ReturnType<typeof useI18n>['t'],
  text: string,
  options: { max?: bigint; available?: bigint } = {},
): { minor: bigint | null; problem: string | null } {
  const parsed = parseAmount(text, options.max);
  if (!parsed.ok) {
    const key = `amount.${parsed.problem}` as MessageKey;
    return {
      minor: null,
      problem: parsed.problem === 'empty' ? null : t(key, { max: formatCny(options.max ?? 100_000_000n) }),
    };
  }
  if (options.available !== undefined && parsed.minor > options.available)
    return {
      minor: parsed.minor,
      problem: t('amount.overBalance', { balance: formatCny(options.available) }),
    };
  return { minor: parsed.minor, problem: null };
}

/** A big amount field that keeps only digits and one dot, and validates on every keystroke. */
export function AmountInput({
  label,
  value,
  onChange,
  max,
  available,
  testId = 'amount',
}: {
  label?: string;
  value: AmountState;
  onChange(next: AmountState): void;
  max?: bigint;
  available?: bigint;
  testId?: string;
}) {
  const { t } = useI18n();
  const id = useId();
  return (
    <div className={`field${value.problem ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label ?? t('amount.label')}</label>
      <div className={`amount-input${value.problem ? ' invalid' : ''}`}>
        <span>¥</span>
        <input
          id={id}
          data-testid={testId}
          inputMode="decimal"
          autoComplete="off"
          placeholder={t('amount.placeholder')}
          value={value.text}
          onChange={(event) => {
            const text = sanitizeAmountInput(event.target.value);
            onChange({ text, ...amountProblem(t, text, { max, available }) });
          }}
        />
      </div>
      <div className="field-error" role="alert" data-testid={`${testId}-error`}>
        {value.problem}
      </div>
    </div>
  );
}

export const emptyAmount: AmountState = { text: '', minor: null, problem: null };

export function Sheet({ children, onClose }: { children: ReactNode; onClose(): void }) {
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: tapping outside the sheet closes it; Escape does too
    <div
      className="sheet-backdrop"
      onClick={(event) => {
        if (event.target === event.currentTarget) onClose();
      }}
      onKeyDown={(event) => {
        if (event.key === 'Escape') onClose();
      }}
      role="presentation"
    >
      <div className="sheet" role="dialog" aria-modal="true">
        {children}
      </div>
    </div>
  );
}

/** Runs an async action, tracking busy and error state for a form. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}

export type { AmountProblem };

export function Money({ minor, signed }: { minor: string | bigint; signed?: 'in' | 'out' }) {
  const text = formatCny(minor);
  return (
    <span className={`amount${signed === 'in' ? ' in' : ''}`}>
      {signed === 'in' ? '+' : signed === 'out' ? '-' : ''}
      {text}
    </span>
  );
}

const ICONS: Record<string, ReactNode> = {
  home: <path d="M3 11 12 4l9 7v9a1 1 0 0 1-1 1h-5v-6H9v6H4a1 1 0 0 1-1-1z" />,
  groups: <path d="M4 5h16v11H9l-5 4zM8 9h8M8 12h5" />,
  history: <path d="M6 3h12v18l-3-2-3 2-3-2-3 2zM9 8h6M9 12h6" />,
  me: <path d="M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 8a7 7 0 0 1 14 0" />,
};

export function TabBar({ active }: { active: string }) {
  const { t } = useI18n();
  const tabs: Array<[string, MessageKey]> = [
    ['home', 'nav.home'],
    ['groups', 'nav.groups'],
    ['history', 'nav.history'],
    ['me', 'nav.me'],
  ];
  return (
    <nav className="tabbar" aria-label="Main">
      {tabs.map(([name, key]) => (
        <a
          key={name}
          href={`#/${name}`}
          className={active === name ? 'active' : ''}
          data-testid={`tab-${name}`}
        >
          <svg
            viewBox="0 0 24 24"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.8"
            strokeLinejoin="round"
            aria-hidden="true"
          >
            {ICONS[name]}
          </svg>
          {t(key)}
        </a>
      ))}
    </nav>
  );
}
