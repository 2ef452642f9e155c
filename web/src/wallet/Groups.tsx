import { useEffect, useRef, useState } from 'react';
import { newIdempotencyKey } from '../shared/api.ts';
import { useI18n } from '../shared/i18n.tsx';
import { formatCny } from '../shared/money.ts';
import { ConfirmPayment, type PaymentIntent, type PaymentProof } from './Confirm.tsx';
import {
  AmountInput,
  type AmountState,
  ErrorBanner,
  emptyAmount,
  Field,
  Sheet,
  TabBar,
  TopBar,
  useAction,
} from './components.tsx';
import { EnvelopeStage, type EnvelopeSummary } from './Envelope.tsx';
import { api, go, useLoad, useMe, useNameOf } from './state.tsx';

interface Group {
  id: string;
  name: string;
  owner_id: string;
  member_count: number;
  last_seq: string;
}
export interface GroupEvent {
  seq: string;
  id: string;
  type: string;
  actor_id: string | null;
  payload: Record<string, unknown>;
  created_at: string;
}

/** A small avatar: a colour and two characters derived from the user id. */
function Avatar({ userId }: { userId: string | null }) {
  const me = useMe();
  const { t } = useI18n();
  const hue = Number.parseInt((userId ?? '0').replace(/-/g, '').slice(-6), 16) % 360;
  return (
    <div
      className="avatar"
      style={{
        width: 34,
        height: 34,
        fontSize: 12,
        background: `hsl(${hue} 70% 92%)`,
        color: `hsl(${hue} 60% 35%)`,
      }}
      aria-hidden="true"
    >
      {userId === me.id ? t('groups.you').slice(0, 3) : (userId ?? '').slice(-2)}
    </div>
  );
}

/** A short, stable label for a user we only know by id. */
export function Groups({ groupId }: { groupId?: string }) {
  return groupId ? <GroupChat groupId={groupId} /> : <GroupList />;
}

function GroupList() {
  const { t } = useI18n();
  const groups = useLoad((signal) => api.get<{ groups: Group[] }>('/v1/groups', signal), []);
  const [creating, setCreating] = useState(false);
  return (
    <>
      <TopBar
        title={t('groups.title')}
        right={
          <button
            type="button"
            className="icon-button"
            onClick={() => setCreating(true)}
            data-testid="new-group"
            aria-label={t('groups.create')}
          >
            ＋
          </button>
        }
      />
      <main className="screen">
        <ErrorBanner error={groups.error} />
        <section className="card">
          {groups.data?.groups.length === 0 && <p className="muted">{t('groups.none')}</p>}
          <div className="list" data-testid="groups">
            {groups.data?.groups.map((group) => (
              <a className="list-item" key={group.id} href={`#/groups/${group.id}`} data-testid="group">
                <div className="avatar group">{[...group.name][0]}</div>
                <div className="grow">
                  <div className="title">{group.name}</div>
                  <div className="muted small">{t('groups.members.count', { n: group.member_count })}</div>
                </div>
                <span className="muted">›</span>
              </a>
            ))}
          </div>
        </section>
        <button type="button" className="btn secondary" onClick={() => setCreating(true)}>
          {t('groups.create')}
        </button>
      </main>
      {creating && <CreateGroup onClose={() => setCreating(false)} />}
      <TabBar active="groups" />
    </>
  );
}

function CreateGroup({ onClose }: { onClose(): void }) {
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [phones, setPhones] = useState('');
  const action = useAction(async () => {
    const memberIds: string[] = [];
    for (const phone of phones.split(/[,，\s]+/).filter(Boolean)) {
      memberIds.push(
        (await api.get<{ user_id: string }>(`/v1/recipients?phone=${encodeURIComponent(phone)}`)).user_id,
      );
    }
    const group = await api.post<Group>('/v1/groups', { name: name.trim(), member_ids: memberIds });
    onClose();
    go(`groups/${group.id}`);
  });
  return (
    <Sheet onClose={onClose}>
      <h2>{t('groups.create')}</h2>
      <Field label={t('groups.name')}>
        {(id) => (
          <input
            id={id}
            data-testid="group-name"
            value={name}
            maxLength={60}
            onChange={(e) => setName(e.target.value)}
          />
        )}
      </Field>
      <Field label={t('groups.members')}>
        {(id) => (
          <input
            id={id}
            data-testid="group-members"
            inputMode="tel"
            value={phones}
            onChange={(e) => setPhones(e.target.value)}
          />
        )}
      </Field>
      <ErrorBanner error={action.error} />
      <button
        type="button"
        className="btn"
        data-testid="create-group"
        disabled={!name.trim() || action.busy}
        onClick={() => void action.run()}
      >
        {t('groups.createSubmit')}
      </button>
    </Sheet>
  );
}

/** Who an `envelope.grabbed` event says opened the envelope (never how much: that is private). */
function openersOf(payload: Record<string, unknown>): string[] {
  return Array.isArray(payload.user_ids)
    ? payload.user_ids.filter((id): id is string => typeof id === 'string')
    : [];
}

/** Folds the group's events into chat lines and the state of each envelope. */
function fold(events: GroupEvent[], meId: string) {
  const envelopes = new Map<string, EnvelopeSummary>();
  for (const event of events) {
    const id = String(event.payload.envelope_id ?? '');
    if (event.type === 'envelope.sent') {
      envelopes.set(id, {
        id,
        senderId: String(event.payload.sender_id ?? event.actor_id),
        greeting: String(event.payload.greeting ?? ''),
        kind: String(event.payload.kind ?? 'lucky'),
        shares: Number(event.payload.shares ?? 1),
        grabbed: 0,
        mine: false,
        finished: false,
        luckiest: null,
      });
    } else if (event.type === 'envelope.grabbed') {
      const envelope = envelopes.get(id);
      if (envelope) {
        for (const userId of openersOf(event.payload)) {
          envelope.grabbed++;
          if (userId === meId) envelope.mine = true;
        }
        if (typeof event.payload.grabbed_count === 'number') envelope.grabbed = event.payload.grabbed_count;
      }
    } else if (event.type === 'envelope.finished' || event.type === 'envelope.refunded') {
      const envelope = envelopes.get(id);
      if (envelope) {
        envelope.finished = true;
        envelope.luckiest = (event.payload.luckiest_user_id as string | undefined) ?? envelope.luckiest;
      }
    }
  }
  return envelopes;
}

function GroupChat({ groupId }: { groupId: string }) {
  const { t } = useI18n();
  const me = useMe();
  const nameOf = useNameOf();
  const group = useLoad(
    async (signal) => (await api.get<{ group: Group }>(`/v1/groups/${groupId}`, signal)).group,
    [groupId],
  );
  const [events, setEvents] = useState<GroupEvent[]>([]);
  const [live, setLive] = useState(false);
  const [text, setText] = useState('');
  const [composing, setComposing] = useState(false);
  const [opening, setOpening] = useState<string | null>(null);
  const lastSeq = useRef<string | undefined>(undefined);
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const controller = new AbortController();
    const add = (incoming: GroupEvent[]) => {
      setEvents((current) => {
        const seen = new Set(current.map((e) => e.seq));
        const fresh = incoming.filter((e) => !seen.has(e.seq));
        if (fresh.length === 0) return current;
        const next = [...current, ...fresh].sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)));
        lastSeq.current = next.at(-1)?.seq;
        return next.slice(-500);
      });
    };
    (async () => {
      const history = await api.get<{ events: GroupEvent[] }>(
        `/v1/groups/${groupId}/events?after=0&limit=500`,
        controller.signal,
      );
      add(history.events);
      lastSeq.current = history.events.at(-1)?.seq ?? '0';
      setLive(true);
      await api.stream(
        `/v1/groups/${groupId}/stream`,
        (_type, data) => {
          setLive(true);
          if (data && typeof data === 'object' && 'seq' in data) add([data as GroupEvent]);
        },
        controller.signal,
        () => lastSeq.current,
      );
    })().catch(() => setLive(false));
    return () => controller.abort();
  }, [groupId]);

  const eventCount = events.length;
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll to the newest line whenever one arrives
  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' });
  }, [eventCount]);

  const envelopes = fold(events, me.id);
  const send = useAction(async () => {
    const body = text.trim();
    if (!body) return;
    setText('');
    await api.post(`/v1/groups/${groupId}/messages`, { text: body });
  });

  return (
    <>
      <TopBar
        title={group.data ? `${group.data.name} (${group.data.member_count})` : '…'}
        back="groups"
        right={
          <span className={`live-dot${live ? '' : ' off'}`} data-testid="live">
            {live ? t('groups.live') : t('groups.reconnecting')}
          </span>
        }
      />
      <main className="chat" data-testid="chat">
        {events.map((event) => {
          const mine = event.actor_id === me.id;
          if (event.type === 'message.posted')
            return (
              <div key={event.seq} className={`msg${mine ? ' mine' : ''}`} data-testid="message">
                <Avatar userId={event.actor_id} />
                <div>
                  {!mine && <div className="who">{nameOf(event.actor_id)}</div>}
                  <div className="bubble">{String(event.payload.text ?? '')}</div>
                </div>
              </div>
            );
          if (event.type === 'envelope.sent') {
            const envelope = envelopes.get(String(event.payload.envelope_id));
            if (!envelope) return null;
            const opened = envelope.mine || envelope.finished;
            return (
              <div key={event.seq} className={`msg${mine ? ' mine' : ''}`}>
                <Avatar userId={event.actor_id} />
                <button
                  type="button"
                  className={`envelope-bubble${opened ? ' opened' : ''}`}
                  data-testid="envelope"
                  data-envelope-id={envelope.id}
                  onClick={() => setOpening(envelope.id)}
                >
                  <div className="top">
                    <div className="seal" />
                    <div className="greeting">{envelope.greeting}</div>
                  </div>
                  <div className="foot">
                    🧧 {envelope.kind === 'fixed' ? t('envelope.fixed') : t('envelope.lucky')}
                    {envelope.mine ? ` · ${t('envelope.openedByMe')}` : ''}
                    {envelope.finished
                      ? ` · ${t('envelope.finished')}`
                      : ` · ${envelope.grabbed}/${envelope.shares}`}
                  </div>
                </button>
              </div>
            );
          }
          if (event.type === 'envelope.grabbed')
            return openersOf(event.payload).map((userId) => (
              <div key={`${event.seq}-${userId}`} className="system-line gold" data-testid="grab-line">
                🧧 {t('envelope.openedBy', { name: nameOf(userId) })}
              </div>
            ));
          if (event.type === 'envelope.finished')
            return (
              <div key={event.seq} className="system-line gold">
                🏆 {t('envelope.luckiest')}: {nameOf(String(event.payload.luckiest_user_id ?? ''))}
              </div>
            );
          if (
            event.type === 'member.joined' ||
            event.type === 'member.left' ||
            event.type === 'member.removed'
          )
            return (
              <div key={event.seq} className="system-line">
                {t(event.type === 'member.joined' ? 'groups.joined' : 'groups.left', {
                  name: nameOf(String(event.payload.user_id ?? event.actor_id)),
                })}
              </div>
            );
          return null;
        })}
        <div ref={bottom} />
      </main>
      <form
        className="composer"
        onSubmit={(event) => {
          event.preventDefault();
          void send.run();
        }}
      >
        <button
          type="button"
          className="envelope-button"
          onClick={() => setComposing(true)}
          data-testid="compose-envelope"
          aria-label={t('envelope.new')}
        >
          🧧
        </button>
        <input
          className="composer-input"
          data-testid="message-input"
          value={text}
          maxLength={2000}
          placeholder={t('groups.message')}
          onChange={(event) => setText(event.target.value)}
        />
        <button type="submit" className="btn small" disabled={!text.trim()} data-testid="send-message">
          {t('groups.send')}
        </button>
      </form>
      {send.error ? <ErrorBanner error={send.error} /> : null}
      {composing && group.data && (
        <ComposeEnvelope
          groupId={groupId}
          memberCount={group.data.member_count}
          onClose={() => setComposing(false)}
        />
      )}
      {opening && <EnvelopeStage summary={envelopes.get(opening)!} onClose={() => setOpening(null)} />}
    </>
  );
}

function ComposeEnvelope({
  groupId,
  memberCount,
  onClose,
}: {
  groupId: string;
  memberCount: number;
  onClose(): void;
}) {
  const { t } = useI18n();
  const [kind, setKind] = useState<'lucky' | 'fixed'>('lucky');
  const [amount, setAmount] = useState<AmountState>(emptyAmount);
  const [shares, setShares] = useState(String(Math.max(1, Math.min(memberCount, 10))));
  const [greeting, setGreeting] = useState('');
  const [confirming, setConfirming] = useState<PaymentIntent | null>(null);
  const key = useRef(newIdempotencyKey());
  const shareCount = /^\d{1,4}$/.test(shares) ? Number(shares) : 0;
  const sharesProblem =
    shareCount < 1 || shareCount > 1000 ? t('envelope.sharesInvalid', { max: 1000 }) : null;
  const total =
    amount.minor === null ? null : kind === 'fixed' ? amount.minor * BigInt(shareCount || 0) : amount.minor;
  const tooSmall = kind === 'lucky' && total !== null && shareCount > 0 && total < BigInt(shareCount);

  const pay = async (proof: PaymentProof) => {
    await api.post(
      '/v1/envelopes',
      {
        group_id: groupId,
        kind,
        amount: total!.toString(),
        shares: shareCount,
        greeting: greeting.trim() || t('envelope.defaultGreeting'),
        proof,
      },
      key.current,
    );
    key.current = newIdempotencyKey();
    setConfirming(null);
    onClose();
  };

  if (confirming) return <ConfirmPayment intent={confirming} pay={pay} onClose={() => setConfirming(null)} />;
  return (
    <Sheet onClose={onClose}>
      <h2>{t('envelope.new')}</h2>
      <div className="segmented">
        <button
          type="button"
          className={kind === 'lucky' ? 'active' : ''}
          onClick={() => setKind('lucky')}
          data-testid="kind-lucky"
        >
          {t('envelope.lucky')}
        </button>
        <button
          type="button"
          className={kind === 'fixed' ? 'active' : ''}
          onClick={() => setKind('fixed')}
          data-testid="kind-fixed"
        >
          {t('envelope.fixed')}
        </button>
      </div>
      <p className="muted small">{kind === 'lucky' ? t('envelope.luckyHint') : t('envelope.fixedHint')}</p>
      <Field label={t('envelope.shares')} error={shares && sharesProblem}>
        {(id) => (
          <input
            id={id}
            data-testid="shares"
            inputMode="numeric"
            value={shares}
            maxLength={4}
            onChange={(e) => setShares(e.target.value.replace(/\D/g, ''))}
          />
        )}
      </Field>
      <AmountInput
        label={kind === 'lucky' ? t('envelope.total') : t('envelope.each')}
        value={amount}
        onChange={setAmount}
        testId="envelope-amount"
      />
      {tooSmall && <div className="field-error">{t('error.share_below_minimum')}</div>}
      <Field label={t('envelope.greeting')}>
        {(id) => (
          <input
            id={id}
            data-testid="greeting"
            value={greeting}
            maxLength={40}
            placeholder={t('envelope.defaultGreeting')}
            onChange={(e) => setGreeting(e.target.value)}
          />
        )}
      </Field>
      <div className="confirm-amount" data-testid="envelope-total">
        {formatCny(total ?? 0n)}
      </div>
      <button
        type="button"
        className="btn"
        data-testid="envelope-submit"
        disabled={
          total === null || total <= 0n || amount.problem !== null || sharesProblem !== null || tooSmall
        }
        onClick={() =>
          setConfirming({
            amount: total!,
            payee: `group:${groupId}`,
            payeeLabel: t('envelope.new'),
            purpose: 'red_envelope',
          })
        }
      >
        {t('envelope.submit')}
      </button>
    </Sheet>
  );
}
