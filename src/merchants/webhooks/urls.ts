import { isIP } from 'node:net';
import { invalid } from '../../platform/errors.ts';

/**
 * Which webhook URLs a merchant may register, as pure rules. Tuyere POSTs to these URLs from
 * inside its network, so they must not reach it (server-side request forgery): https only, no
 * credentials in the URL, no IP literal or name of a private, loopback, link-local or otherwise
 * internal address. In development (`allowLocalHttp`) http://localhost and http://127.0.0.1
 * are accepted as well, for a receiver on the developer's machine.
 * Delivery checks the resolved addresses again (`isPublicAddress`), against DNS rebinding.
 */
export interface UrlPolicy {
  allowLocalHttp: boolean;
}

const MAX_URL_LENGTH = 2048;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const INTERNAL_SUFFIXES = ['.localhost', '.local', '.internal', '.lan', '.home.arpa', '.intranet', '.corp'];

function refuse(reason: string): never {
  throw invalid('webhook_url_invalid', `The webhook URL is not allowed: ${reason}.`);
}

/** The normalised URL, or throws webhook_url_invalid saying why. */
export function validateWebhookUrl(raw: string, policy: UrlPolicy): string {
  if (raw.length > MAX_URL_LENGTH) refuse(`longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('it is not an absolute URL');
  }
  if (url.username || url.password) refuse('it must not carry credentials (user:password@)');
  if (url.hash) refuse('it must not have a #fragment');
  const host = url.hostname.toLowerCase();
  const local = LOCAL_HOSTS.has(host);
  if (url.protocol === 'http:') {
    if (!(policy.allowLocalHttp && local))
      refuse(policy.allowLocalHttp ? 'http is allowed only for localhost; use https' : 'it must use https');
    return url.toString();
  }
  if (url.protocol !== 'https:') refuse('it must use https');
  if (local) {
    if (policy.allowLocalHttp) return url.toString();
    refuse('it points at this machine');
  }
  const literal = host.startsWith('[') ? host.slice(1, -1) : host;
  if (isIP(literal)) {
    if (!isPublicAddress(literal)) refuse('it points at a private or reserved address');
    return url.toString();
  }
  if (!host.includes('.')) refuse('the host must be a fully qualified domain name');
  if (INTERNAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) refuse('the host name is an internal one');
  return url.toString();
}

function ipv4Octets(address: string): number[] | undefined {
  if (isIP(address) !== 4) return undefined;
  return address.split('.').map(Number);
}

/** Whether an IP address is publicly routable (not private, loopback, link-local, CGNAT, ...). */
export function isPublicAddress(address: string): boolean {
  const v4 = ipv4Octets(address);
  if (v4) {
    const [a, b] = v4 as [number, number, number, number];
    if (a === 0 || a === 10 || a === 127 || a >= 224) return false; // this-network, private, loopback, multicast, reserved
    if (a === 100 && b >= 64 && b <= 127) return false; // carrier-grade NAT
    if (a === 169 && b === 254) return false; // link-local (cloud metadata)
    if (a === 172 && b >= 16 && b <= 31) return false;
    if (a === 192 && b === 168) return false;
    if (a === 192 && b === 0) return false; // IETF protocol assignments, TEST-NET-1
    if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking
    return true;
  }
  if (isIP(address) !== 6) return false;
  const lower = address.toLowerCase();
  // IPv4-mapped (::ffff:a.b.c.d, which URL parsing writes as ::ffff:XXXX:YYYY) follows IPv4's rules.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return isPublicAddress(mapped[1]!);
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (mappedHex) {
    const high = Number.parseInt(mappedHex[1]!, 16);
    const low = Number.parseInt(mappedHex[2]!, 16);
    return isPublicAddress(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  if (lower === '::' || lower === '::1') return false;
  const first = Number.parseInt(lower.split(':')[0] || '0', 16);
  if ((first & 0xfe00) === 0xfc00) return false; // unique local fc00::/7
  if ((first & 0xffc0) === 0xfe80) return false; // link-local fe80::/10
  if ((first & 0xff00) === 0xff00) return false; // multicast
  return true;
}
