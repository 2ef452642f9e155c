import {
  httpUrl,
  integer,
  oneOf,
  type PlatformConfig,
  type SettingSpecs,
  type SettingsOf,
  text,
} from '../platform/config.ts';

/** The identity module's settings (its slice of the configuration; see src/platform/config.ts). */
export const IDENTITY_SETTINGS = {
  idEncryptionKeys: {
    env: 'TUYERE_ID_ENCRYPTION_KEYS',
    default: '',
    description:
      'Keyring for ID numbers at rest: comma-separated keyId:base64(32 bytes), newest first (new writes use the first); empty generates one in TUYERE_DATA_DIR',
    parse: text,
    requiredInProduction: true,
  },
  identityHmacKey: {
    env: 'TUYERE_IDENTITY_HMAC_KEY',
    default: '',
    description:
      'Secret for keyed digests of SMS codes and ID numbers; empty generates one in TUYERE_DATA_DIR',
    parse: text,
    requiredInProduction: true,
  },
  pinPepper: {
    env: 'TUYERE_PIN_PEPPER',
    default: '',
    description: 'Server-side pepper mixed into payment PIN hashes; empty generates one in TUYERE_DATA_DIR',
    parse: text,
    requiredInProduction: true,
  },
  jwtSigningKey: {
    env: 'TUYERE_JWT_SIGNING_KEY',
    default: '',
    description:
      'Ed25519 seed (base64url, 32 bytes) signing access tokens; empty generates one in TUYERE_DATA_DIR',
    parse: text,
    requiredInProduction: true,
  },
  smsProvider: {
    env: 'TUYERE_SMS_PROVIDER',
    default: '',
    description:
      'http: the signed SMS gateway at TUYERE_SMS_GATEWAY_URL; sandbox: an outbox in the database (staging; the inbox route exists only in development); empty: sandbox in development, http in production',
    parse: oneOf('', 'http', 'sandbox'),
  },
  smsGatewayUrl: {
    env: 'TUYERE_SMS_GATEWAY_URL',
    default: '',
    description:
      'URL the SMS gateway adapter POSTs each message to (HMAC-signed JSON; see src/identity/README.md)',
    parse: httpUrl,
    requiredInProduction: { unless: { env: 'TUYERE_SMS_PROVIDER', equals: 'sandbox' } },
  },
  smsGatewaySecret: {
    env: 'TUYERE_SMS_GATEWAY_SECRET',
    default: '',
    description: 'HMAC-SHA256 key signing requests to the SMS gateway',
    parse: text,
    requiredInProduction: { unless: { env: 'TUYERE_SMS_PROVIDER', equals: 'sandbox' } },
  },
  realNameProvider: {
    env: 'TUYERE_REALNAME_PROVIDER',
    default: '',
    description:
      'http: the signed real-name gateway at TUYERE_REALNAME_GATEWAY_URL; sandbox: outcomes from the ID number (staging); empty: sandbox in development, http in production',
    parse: oneOf('', 'http', 'sandbox'),
  },
  realNameGatewayUrl: {
    env: 'TUYERE_REALNAME_GATEWAY_URL',
    default: '',
    description: 'URL the real-name check adapter POSTs each check to (HMAC-signed JSON)',
    parse: httpUrl,
    requiredInProduction: { unless: { env: 'TUYERE_REALNAME_PROVIDER', equals: 'sandbox' } },
  },
  realNameGatewaySecret: {
    env: 'TUYERE_REALNAME_GATEWAY_SECRET',
    default: '',
    description: 'HMAC-SHA256 key signing requests to the real-name gateway',
    parse: text,
    requiredInProduction: { unless: { env: 'TUYERE_REALNAME_PROVIDER', equals: 'sandbox' } },
  },
  gatewayTimeoutMs: {
    env: 'TUYERE_GATEWAY_TIMEOUT_MS',
    default: '5000',
    description: 'How long an SMS or real-name gateway call may take before it counts as unavailable',
    parse: integer(100, 60_000),
  },
  accessTokenTtlSeconds: {
    env: 'TUYERE_ACCESS_TOKEN_TTL_SECONDS',
    default: '600',
    description: 'Lifetime of an access token',
    parse: integer(30, 86_400),
  },
  refreshTokenTtlDays: {
    env: 'TUYERE_REFRESH_TOKEN_TTL_DAYS',
    default: '30',
    description: 'A session ends this many days after login, however often it is refreshed',
    parse: integer(1, 365),
  },
  smsCodeTtlSeconds: {
    env: 'TUYERE_SMS_CODE_TTL_SECONDS',
    default: '300',
    description: 'How long a one-time SMS code stays valid',
    parse: integer(30, 3600),
  },
  smsResendSeconds: {
    env: 'TUYERE_SMS_RESEND_SECONDS',
    default: '60',
    description: 'Minimum wait before another SMS code is sent to the same number',
    parse: integer(0, 3600),
  },
  smsDailyMaxPerPhone: {
    env: 'TUYERE_SMS_DAILY_MAX_PER_PHONE',
    default: '10',
    description: 'SMS codes sent to one number from one source (IP; IPv6 /64) per business day',
    parse: integer(1, 1000),
  },
  smsDailyMaxPerIp: {
    env: 'TUYERE_SMS_DAILY_MAX_PER_IP',
    default: '50',
    description: 'SMS codes requested from one source (IP; IPv6 /64) per business day, all numbers together',
    parse: integer(1, 100_000),
  },
  pinMaxAttempts: {
    env: 'TUYERE_PIN_MAX_ATTEMPTS',
    default: '5',
    description: 'Wrong payment PINs in a row before PIN use is locked',
    parse: integer(1, 20),
  },
  pinLockSeconds: {
    env: 'TUYERE_PIN_LOCK_SECONDS',
    default: '10800',
    description: 'How long PIN use stays locked after too many wrong PINs',
    parse: integer(60, 30 * 86_400),
  },
  challengeTtlSeconds: {
    env: 'TUYERE_CHALLENGE_TTL_SECONDS',
    default: '120',
    description: 'Lifetime of a payment or device-registration challenge',
    parse: integer(10, 3600),
  },
  firstPinLoginWindowSeconds: {
    env: 'TUYERE_FIRST_PIN_LOGIN_WINDOW_SECONDS',
    default: '900',
    description:
      'The first payment PIN can be set only this long after the SMS login of the session setting it (later: sign in again, or reset the PIN by SMS)',
    parse: integer(60, 86_400),
  },
  newDeviceCoolingOffSeconds: {
    env: 'TUYERE_NEW_DEVICE_COOLING_OFF_SECONDS',
    default: '86400',
    description:
      'How long a newly added device or passkey signs no stronger than the PIN (PIN-level daily caps); 0 turns it off',
    parse: integer(0, 30 * 86_400),
  },
  webauthnRpId: {
    env: 'TUYERE_WEBAUTHN_RP_ID',
    default: 'localhost',
    description: 'WebAuthn relying-party id (the site domain passkeys are bound to)',
    parse: text,
    requiredInProduction: true,
  },
  webauthnOrigins: {
    env: 'TUYERE_WEBAUTHN_ORIGINS',
    default: 'http://localhost:8080',
    description: 'Comma-separated origins WebAuthn ceremonies may come from',
    parse: text,
    requiredInProduction: true,
  },
  limitClassILifetime: {
    env: 'TUYERE_LIMIT_CLASS_I_LIFETIME',
    default: '100000',
    description: 'Class I balance payments since opening, in fen (1,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitClassIEnvelopesLifetime: {
    env: 'TUYERE_LIMIT_CLASS_I_ENVELOPES_LIFETIME',
    default: '100000',
    description: 'Class I red envelopes since opening, however funded (card too), in fen (1,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitClassIIYearly: {
    env: 'TUYERE_LIMIT_CLASS_II_YEARLY',
    default: '10000000',
    description: 'Class II balance payments per year, in fen (100,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitClassIIIYearly: {
    env: 'TUYERE_LIMIT_CLASS_III_YEARLY',
    default: '20000000',
    description: 'Class III balance payments per year, in fen (200,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitDailySignature: {
    env: 'TUYERE_LIMIT_DAILY_SIGNATURE',
    default: '20000000',
    description: 'Daily cap for payments signed by a device key with user verification, in fen',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitDailyTwoFactor: {
    env: 'TUYERE_LIMIT_DAILY_TWO_FACTOR',
    default: '500000',
    description: 'Daily cap for two-factor payments without a signature (PIN), in fen (5,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitDailySingleFactor: {
    env: 'TUYERE_LIMIT_DAILY_SINGLE_FACTOR',
    default: '100000',
    description: 'Daily cap for password-free (single-factor) payments, in fen (1,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitDailyStaticQr: {
    env: 'TUYERE_LIMIT_DAILY_STATIC_QR',
    default: '50000',
    description: 'Daily cap for payments to static QR codes, in fen (500 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitDailyWearable: {
    env: 'TUYERE_LIMIT_DAILY_WEARABLE',
    default: '50000',
    description: 'Default daily cap for payments signed by a wearable, in fen (500 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  passwordFreeMaxPayment: {
    env: 'TUYERE_PASSWORD_FREE_MAX_PAYMENT',
    default: '20000',
    description: 'Largest payment allowed without PIN or signature, in fen (200 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  passwordFreeDailyCount: {
    env: 'TUYERE_PASSWORD_FREE_DAILY_COUNT',
    default: '10',
    description: 'Password-free payments allowed per business day',
    parse: integer(0, 1000),
  },
} satisfies SettingSpecs;

export type IdentityConfig = PlatformConfig & SettingsOf<typeof IDENTITY_SETTINGS>;
