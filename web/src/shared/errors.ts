import { ApiError } from './api.ts';
import type { I18n, MessageKey } from './i18n.tsx';

/**
 * What to tell a person about a failed request: our own wording for the codes people
 * commonly meet (in their language), otherwise the API's message, which is written for
 * people too.
 */
export function describeError(error: unknown, t: I18n['t']): string {
  if (error instanceof ApiError) {
    if (error.code === 'network_error') return t('error.network');
    const key = `error.${error.code}` as MessageKey;
    const mapped = t(key);
    if (mapped !== key) return mapped;
    return error.message || t('error.generic');
  }
  if (error instanceof Error && (error.name === 'NotAllowedError' || error.name === 'AbortError'))
    return t('error.webauthn');
  return t('error.generic');
}
