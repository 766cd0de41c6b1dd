/**
 * Which IP addresses the bot may connect to when fetching media. Anything that is not a public
 * unicast address (loopback, private, link-local incl. cloud metadata at 169.254.169.254, CGNAT,
 * multicast, unspecified, documentation and benchmark ranges) is refused, so a URL on an
 * allowlisted host whose DNS points inward cannot reach the bot's own network (SSRF).
 */
import { isIPv4, isIPv6 } from 'node:net';

type Range = readonly [prefix: readonly number[], bits: number];

/** IPv4 ranges as [octets, prefix length]. Sources: RFC 6890 special-purpose registry. */
const BLOCKED_V4: readonly Range[] = [
  [[0, 0, 0, 0], 8], // "this network", includes 0.0.0.0
  [[10, 0, 0, 0], 8],
  [[100, 64, 0, 0], 10], // CGNAT
  [[127, 0, 0, 0], 8],
  [[169, 254, 0, 0], 16], // link-local, cloud metadata
  [[172, 16, 0, 0], 12],
  [[192, 0, 0, 0], 24],
  [[192, 0, 2, 0], 24],
  [[192, 88, 99, 0], 24],
  [[192, 168, 0, 0], 16],
  [[198, 18, 0, 0], 15],
  [[198, 51, 100, 0], 24],
  [[203, 0, 113, 0], 24],
  [[224, 0, 0, 0], 4], // multicast
  [[240, 0, 0, 0], 4], // reserved, includes broadcast
];

/** IPv6 ranges as [bytes, prefix length]. Embedded-IPv4 forms are unwrapped before this list. */
const BLOCKED_V6: readonly Range[] = [
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 96], // ::, ::1 and IPv4-compatible ::a.b.c.d
  [[0x01, 0x00], 64], // discard-only
  [[0x20, 0x01, 0x0d, 0xb8], 32], // documentation
  [[0x20, 0x01, 0x00, 0x00], 23], // IETF protocol assignments (Teredo etc.)
  [[0xfc], 7], // unique local
  [[0xfe, 0x80], 10], // link-local
  [[0xfe, 0xc0], 10], // site-local (deprecated)
  [[0xff], 8], // multicast
];

/** True only for a public unicast IPv4 or IPv6 address; false for anything unparseable. */
export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIPv4(bare)) return !matchesAny(parseIPv4(bare), BLOCKED_V4);
  if (!isIPv6(bare)) return false;
  const bytes = parseIPv6(bare);
  if (bytes === null) return false;
  const embedded = embeddedIPv4(bytes);
  if (embedded !== null) return !matchesAny(embedded, BLOCKED_V4);
  return !matchesAny(bytes, BLOCKED_V6);
}

/**
 * Loopback and private (RFC 1918, unique local) addresses, which an operator may reach by listing
 * the IP-literal origin exactly (a test's loopback fake, a LAN Runway simulator). Link-local (cloud
 * metadata), unspecified and multicast are never reachable, listed or not.
 */
export function isConsentablePrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  let v4: number[] | null = null;
  if (isIPv4(bare)) v4 = parseIPv4(bare);
  else if (isIPv6(bare)) {
    const bytes = parseIPv6(bare);
    if (bytes === null) return false;
    if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return true; // ::1
    if (inRange(bytes, [0xfc], 7)) return true;
    v4 = embeddedIPv4(bytes);
  }
  return v4 !== null && matchesAny(v4, CONSENTABLE_V4);
}

const CONSENTABLE_V4: readonly Range[] = [
  [[127, 0, 0, 0], 8],
  [[10, 0, 0, 0], 8],
  [[172, 16, 0, 0], 12],
  [[192, 168, 0, 0], 16],
];

/** True when `host` (a URL hostname, brackets allowed) is an IP literal rather than a name. */
export function isIpLiteral(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return isIPv4(bare) || isIPv6(bare);
}

/**
 * IPv4 carried inside IPv6, which reaches the IPv4 host it names: mapped (::ffff:a.b.c.d),
 * NAT64 (64:ff9b::/96) and 6to4 (2002:AABB:CCDD::/16).
 */
function embeddedIPv4(bytes: number[]): number[] | null {
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12, 16);
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return bytes.slice(12, 16);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  return null;
}

function matchesAny(bytes: readonly number[], ranges: readonly Range[]): boolean {
  return ranges.some(([prefix, bits]) => inRange(bytes, prefix, bits));
}

function inRange(bytes: readonly number[], prefix: readonly number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const index = bit / 8;
    const mask = bits - bit >= 8 ? 0xff : (0xff << (8 - (bits - bit))) & 0xff;
    if (((bytes[index] ?? 0) & mask) !== ((prefix[index] ?? 0) & mask)) return false;
  }
  return true;
}

function parseIPv4(address: string): number[] {
  return address.split('.').map(Number);
}

/** 16 bytes of an IPv6 address already validated by `isIPv6`, including a trailing dotted quad. */
function parseIPv6(address: string): number[] | null {
  let text = address;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (isIPv4(last)) {
    tail = parseIPv4(last);
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - restGroups.length;
  if (rest === undefined ? missing !== 0 : missing < 0) return null;
  const groups = [...headGroups, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...restGroups];
  const bytes = groups.flatMap((group) => {
    const value = parseInt(group, 16);
    return [(value >> 8) & 0xff, value & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes.length === 16 ? bytes : null;
}
