import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { en } from './messages-en.ts';
import { zh } from './messages-zh.ts';

export type Language = 'zh' | 'en';
export type MessageKey = keyof typeof en;
const DICTIONARIES: Record<Language, Record<MessageKey, string>> = { en, zh };
const STORAGE_KEY = 'tuyere.language';

function initialLanguage(): Language {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === 'zh' || stored === 'en') return stored;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export interface I18n {
  language: Language;
  setLanguage(language: Language): void;
  /** The message for `key` in the current language, with {name} placeholders filled. */
  t(key: MessageKey, values?: Record<string, string | number>): string;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(initialLanguage);
  const setLanguage = useCallback((next: Language) => {
    localStorage.setItem(STORAGE_KEY, next);
    document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
    setLanguageState(next);
  }, []);
  const value = useMemo<I18n>(
    () => ({
      language,
      setLanguage,
      t: (key, values) => {
        let text = DICTIONARIES[language][key] ?? en[key] ?? key;
        if (values)
          for (const [name, v] of Object.entries(values)) text = text.replaceAll(`{${name}}`, String(v));
        return text;
      },
    }),
    [language, setLanguage],
  );
  document.documentElement.lang = language === 'zh' ? 'zh-CN' : 'en';
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const context = useContext(I18nContext);
  if (!context) throw new Error('useI18n outside I18nProvider');
  return context;
}

export function LanguageSwitch() {
  const { language, setLanguage } = useI18n();
  return (
    <button
      type="button"
      className="language-switch"
      data-testid="language-switch"
      onClick={() => setLanguage(language === 'zh' ? 'en' : 'zh')}
      aria-label={language === 'zh' ? 'Switch to English' : '切换到中文'}
    >
      {language === 'zh' ? 'EN' : '中文'}
    </button>
  );
}
