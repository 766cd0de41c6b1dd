import { describe, expect, it } from 'vitest';
import { isConsentablePrivateAddress, isPublicAddress } from './address.ts';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '0.0.0.0',
    '10.0.0.5',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1', // CGNAT
    '169.254.169.254', // cloud metadata
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1', // IPv4-mapped, dotted
    '::ffff:7f00:1', // IPv4-mapped, hex
    '::ffff:a9fe:a9fe', // mapped 169.254.169.254
    '64:ff9b::10.0.0.1', // NAT64
    '2002:c0a8:0101::1', // 6to4 of 192.168.1.1
    '::127.0.0.1', // IPv4-compatible
    'localhost', // not an address at all
    '',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '162.159.135.233', '172.32.0.1', '100.128.0.1', '2606:4700::6810:84e5', '2001:4860:4860::8888', '::ffff:8.8.8.8'])(
    'accepts %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('isConsentablePrivateAddress', () => {
  it('lets an operator list loopback and private ranges, never link-local or unspecified', () => {
    for (const address of ['127.0.0.1', '::1', '10.0.0.5', '192.168.0.2', 'fd00::2', '::ffff:127.0.0.1']) {
      expect(isConsentablePrivateAddress(address)).toBe(true);
    }
    for (const address of ['169.254.169.254', '0.0.0.0', '::', 'fe80::1', '224.0.0.1', '100.64.0.1']) {
      expect(isConsentablePrivateAddress(address)).toBe(false);
    }
  });
});
