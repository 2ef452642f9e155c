import { useEffect, useState } from 'react';
import { useI18n } from '../shared/i18n.tsx';
import { formatCny } from '../shared/money.ts';
import { ErrorBanner } from './components.tsx';
import { api, useMe, useNameOf } from './state.tsx';

interface EnvelopeView {
  id: string;
  sender_id: string;
  kind: string;
  total: string;
  shares: number;
  greeting: string;
  status: string;
  grabbed_count: number;
  /** null for a member who has not grabbed while the envelope is open. */
  grabbed_amount: string | null;
  grabs: Array<{ user_id: string; amount: string; grabbed_at: string; luckiest: boolean }> | null;
}
interface GrabResult {
  outcome: 'grabbed' | 'already_grabbed' | 'all_taken' | 'expired' | 'not_eligible' | 'not_active';
  message: string;
  amount?: string;
  envelope: EnvelopeView;
}

export interface EnvelopeSummary {
  id: string;
  senderId: string;
  greeting: string;
  kind: string;
  shares: number;
  grabbed: number;
  /** Whether this user has opened it (amounts are not in the group's stream). */
  mine: boolean;
  finished: boolean;
  luckiest: string | null;
}

/**
 * Opening a red envelope: the envelope pops up, the gold 開 coin spins while the grab is
 * in flight, then the flap lifts and the amount slides up, followed by who got what.
 */
export function EnvelopeStage({ summary, onClose }: { summary: EnvelopeSummary; onClose(): void }) {
  const { t } = useI18n();
  const me = useMe();
  const nameOf = useNameOf();
  const [spinning, setSpinning] = useState(false);
  const [result, setResult] = useState<{ outcome: GrabResult['outcome'] | 'view'; amount?: string } | null>(
    null,
  );
  const [envelope, setEnvelope] = useState<EnvelopeView | null>(null);
  const [error, setError] = useState<unknown>(null);
  // In a group the sender may grab a share too, as in WeChat; only an opened or finished envelope skips the coin.
  const alreadyOpen = summary.mine || summary.finished;

  useEffect(() => {
    if (!alreadyOpen) return;
    api
      .get<EnvelopeView>(`/v1/envelopes/${summary.id}`)
      .then((view) => {
        setEnvelope(view);
        const mine = view.grabs?.find((grab) => grab.user_id === me.id);
        setResult({ outcome: mine ? 'already_grabbed' : 'view', amount: mine?.amount });
      })
      .catch(setError);
  }, [alreadyOpen, summary.id, me.id]);

  const open = async () => {
    setSpinning(true);
    setError(null);
    try {
      const [grab] = await Promise.all([
        api.post<GrabResult>(`/v1/envelopes/${summary.id}/grab`),
        new Promise((resolve) => setTimeout(resolve, 700)),
      ]);
      // The full view (with who got what, now that we may see it) comes from the envelope itself.
      setEnvelope(await api.get<EnvelopeView>(`/v1/envelopes/${summary.id}`).catch(() => grab.envelope));
      setResult({ outcome: grab.outcome, amount: grab.amount });
    } catch (failure) {
      setError(failure);
    } finally {
      setSpinning(false);
    }
  };

  const opened = result !== null;
  const headline =
    result?.outcome === 'grabbed' || (result?.outcome === 'already_grabbed' && result.amount)
      ? null
      : result?.outcome === 'all_taken'
        ? t('envelope.allTaken')
        : result?.outcome === 'expired'
          ? t('envelope.expired')
          : null;

  return (
    <div className="envelope-stage" role="dialog" aria-modal="true" data-testid="envelope-stage">
      <div className={`red-envelope${opened ? ' opened' : ''}`}>
        <div className="flap" />
        <button
          type="button"
          className="close"
          onClick={onClose}
          aria-label={t('common.close')}
          data-testid="envelope-close"
        >
          ✕
        </button>
        <div className="sender">{t('envelope.from', { name: nameOf(summary.senderId) })}</div>
        <div className="greeting">{summary.greeting}</div>
        {!opened && (
          <button
            type="button"
            className={`open-coin${spinning ? ' spinning' : ''}`}
            onClick={() => void open()}
            disabled={spinning}
            data-testid="open-envelope"
            aria-label={t('envelope.tapToOpen')}
          >
            {t('envelope.open')}
          </button>
        )}
        <div className="result" data-testid="envelope-result">
          {result?.amount && (
            <>
              <div className="muted">{t('envelope.got')}</div>
              <div className="got" data-testid="grabbed-amount">
                {formatCny(result.amount)}
              </div>
            </>
          )}
          {headline && <div style={{ margin: '12px 0', fontWeight: 600 }}>{headline}</div>}
          {envelope?.total !== undefined && (
            <div className="muted small" data-testid="envelope-progress">
              {envelope.grabbed_amount === null
                ? t('envelope.progressCount', { n: envelope.grabbed_count, m: envelope.shares })
                : t('envelope.progress', {
                    n: envelope.grabbed_count,
                    m: envelope.shares,
                    amount: formatCny(envelope.grabbed_amount),
                    total: formatCny(envelope.total),
                  })}
            </div>
          )}
          {envelope?.grabs && (
            <div
              className="list"
              style={{ marginTop: 8, maxHeight: 150, overflowY: 'auto', textAlign: 'left' }}
              data-testid="grabs"
            >
              {envelope.grabs.map((grab) => (
                <div
                  className="spread small"
                  key={grab.user_id}
                  style={{ padding: '4px 0' }}
                  data-testid="grab"
                >
                  <span>
                    {nameOf(grab.user_id)}{' '}
                    {grab.luckiest && (
                      <span className="luckiest" data-testid="luckiest">
                        👑 {t('envelope.luckiest')}
                      </span>
                    )}
                  </span>
                  <span>{formatCny(grab.amount)}</span>
                </div>
              ))}
            </div>
          )}
          <ErrorBanner error={error} />
        </div>
      </div>
    </div>
  );
}
