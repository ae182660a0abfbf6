/**
 * macOS bootpd's DHCP leases (/var/db/dhcpd_leases), Tart's `ip --resolver dhcp` rules (tart-format.md §7):
 * blocks `{ … }` of `key=value` lines (leading blanks ignored); hw_address `1,<mac>` (type 1 = Ethernet; octets may
 * be unpadded, e.g. `9`); ip_address; lease = hex Unix expiry. Expired leases are dropped; for a duplicate MAC the
 * latest expiry wins.
 */
export const DHCPD_LEASES = '/var/db/dhcpd_leases';

export interface Lease {
  mac: string;
  ip: string;
  expiresAt: number;
}

function normalizeMac(s: string): string | null {
  const parts = s.split(':');
  if (parts.length !== 6) return null;
  const out: string[] = [];
  for (const p of parts) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return null;
    out.push(p.toLowerCase().padStart(2, '0'));
  }
  return out.join(':');
}

export function parseLeases(text: string, nowSeconds = Math.floor(Date.now() / 1000)): Map<string, Lease> {
  const best = new Map<string, Lease>();
  for (const block of text.match(/\{[^{}]*\}/g) ?? []) {
    const kv = new Map<string, string>();
    for (const raw of block.slice(1, -1).split('\n')) {
      const line = raw.replace(/^[ \t]+/, '').trimEnd();
      const eq = line.indexOf('=');
      if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1));
    }
    const hw = kv.get('hw_address');
    const ip = kv.get('ip_address');
    const lease = kv.get('lease');
    if (!hw || !ip || !lease) continue;
    const comma = hw.indexOf(',');
    if (comma < 0 || hw.slice(0, comma) !== '1') continue;
    const mac = normalizeMac(hw.slice(comma + 1));
    const expiresAt = parseInt(lease.replace(/^0x/i, ''), 16);
    if (!mac || !Number.isFinite(expiresAt) || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) continue;
    if (expiresAt < nowSeconds) continue;
    const prev = best.get(mac);
    if (!prev || prev.expiresAt < expiresAt) best.set(mac, { mac, ip, expiresAt });
  }
  return best;
}

export function ipForMac(text: string, mac: string, nowSeconds?: number): string | null {
  return parseLeases(text, nowSeconds).get(normalizeMac(mac) ?? mac.toLowerCase())?.ip ?? null;
}
