import { isIP } from 'node:net';

/** The names a server certificate is valid for, split the way subjectAltName needs them. */
export interface CertificateHosts {
  dns: string[];
  ips: string[];
}

// RFC 1123 labels; a leading "*." wildcard is allowed for the leftmost label only.
const DNS_NAME =
  /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Host names and IP addresses from a comma-separated list ("localhost,127.0.0.1,::1"); IPv6
 * may be written in brackets. Throws naming the entry that is neither.
 */
export function parseHosts(list: string | string[]): CertificateHosts {
  const entries = (Array.isArray(list) ? list : list.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new Error('at least one host name or IP address is needed');
  const hosts: CertificateHosts = { dns: [], ips: [] };
  for (const entry of entries) {
    const bare = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
    if (isIP(bare) !== 0) {
      if (!hosts.ips.includes(bare)) hosts.ips.push(bare);
    } else if (entry.length <= 253 && DNS_NAME.test(entry)) {
      const name = entry.toLowerCase();
      if (!hosts.dns.includes(name)) hosts.dns.push(name);
    } else {
      throw new Error(`"${entry}" is neither a host name nor an IP address`);
    }
  }
  return hosts;
}
