/**
 * The guest's IPv4 address from the packet capture QEMU writes for the VM's NIC (filter-dump, pcap format):
 * the DHCP reply addressed to the VM's MAC, or the source address of IPv4/ARP packets the guest sends (covers
 * static addresses). The most recent evidence wins.
 */
import { readFileSync } from 'node:fs';

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((x) => parseInt(x, 16)));
}

function ipv4(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function guestIpFromPcap(pcap: Buffer, mac: string): string | null {
  if (pcap.length < 24) return null;
  const magicLE = pcap.readUInt32LE(0);
  let le: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) le = true;
  else if (pcap.readUInt32BE(0) === 0xa1b2c3d4 || pcap.readUInt32BE(0) === 0xa1b23c4d) le = false;
  else return null;
  const u32 = (o: number) => (le ? pcap.readUInt32LE(o) : pcap.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== 1) return null; // Ethernet only
  const me = macBytes(mac);
  let found: string | null = null;
  let off = 24;
  while (off + 16 <= pcap.length) {
    const incl = u32(off + 8);
    const start = off + 16;
    const end = start + incl;
    if (end > pcap.length) break; // a record still being written
    const f = pcap.subarray(start, end);
    off = end;
    if (f.length < 14) continue;
    const src = f.subarray(6, 12);
    const type = f.readUInt16BE(12);
    if (type === 0x0800 && f.length >= 34) {
      const ihl = (f[14]! & 0x0f) * 4;
      const proto = f[23];
      const srcIp = ipv4(f, 26);
      if (src.equals(me) && srcIp !== '0.0.0.0') found = srcIp;
      // DHCP reply (UDP 67 → 68) for our MAC: yiaddr.
      const udp = 14 + ihl;
      if (proto === 17 && f.length >= udp + 8 + 44) {
        const sport = f.readUInt16BE(udp);
        const dport = f.readUInt16BE(udp + 2);
        const bootp = udp + 8;
        if (sport === 67 && dport === 68 && f[bootp] === 2 && f.subarray(bootp + 28, bootp + 34).equals(me)) {
          const yi = ipv4(f, bootp + 16);
          if (yi !== '0.0.0.0') found = yi;
        }
      }
    } else if (type === 0x0806 && f.length >= 42) {
      const senderMac = f.subarray(22, 28);
      const senderIp = ipv4(f, 28);
      if (senderMac.equals(me) && senderIp !== '0.0.0.0') found = senderIp;
    }
  }
  return found;
}

export function guestIpFromPcapFile(file: string, mac: string): string | null {
  try {
    return guestIpFromPcap(readFileSync(file), mac);
  } catch {
    return null;
  }
}
