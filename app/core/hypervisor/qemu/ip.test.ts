import { describe, expect, it } from 'vitest';
import { guestIpFromPcap } from './ip';

const MAC = '52:54:00:12:34:56';
const mac = (m: string) => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));
const ip = (s: string) => Buffer.from(s.split('.').map(Number));

function pcap(frames: Buffer[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  const recs = frames.map((f) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([head, ...recs]);
}

function eth(dst: string, src: string, type: number, payload: Buffer): Buffer {
  const t = Buffer.alloc(2);
  t.writeUInt16BE(type);
  return Buffer.concat([mac(dst), mac(src), t, payload]);
}

function ipv4(src: string, dst: string, proto: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h[9] = proto;
  ip(src).copy(h, 12);
  ip(dst).copy(h, 16);
  return Buffer.concat([h, payload]);
}

function dhcpReply(yiaddr: string, chaddr: string): Buffer {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(67, 0);
  udp.writeUInt16BE(68, 2);
  const bootp = Buffer.alloc(240);
  bootp[0] = 2;
  ip(yiaddr).copy(bootp, 16);
  mac(chaddr).copy(bootp, 28);
  return Buffer.concat([udp, bootp]);
}

function arp(senderMac: string, senderIp: string): Buffer {
  const a = Buffer.alloc(28);
  mac(senderMac).copy(a, 8);
  ip(senderIp).copy(a, 14);
  return a;
}

describe('guest IP from the packet capture', () => {
  it('takes the DHCP reply addressed to the VM’s MAC', () => {
    const gw = '52:55:0a:00:02:02';
    const f = [
      eth('ff:ff:ff:ff:ff:ff', MAC, 0x0800, ipv4('0.0.0.0', '255.255.255.255', 17, Buffer.alloc(8))), // DISCOVER
      eth(MAC, gw, 0x0800, ipv4('10.0.2.2', '255.255.255.255', 17, dhcpReply('10.0.2.99', '52:54:00:00:00:01'))), // another VM
      eth(MAC, gw, 0x0800, ipv4('10.0.2.2', '255.255.255.255', 17, dhcpReply('10.0.2.15', MAC))),
    ];
    expect(guestIpFromPcap(pcap(f), MAC)).toBe('10.0.2.15');
  });

  it('uses ARP or IPv4 sent by the guest (static addresses); the latest evidence wins; partial records are ignored', () => {
    const p = pcap([eth('ff:ff:ff:ff:ff:ff', MAC, 0x0806, arp(MAC, '192.168.7.5')), eth('52:55:0a:00:02:02', MAC, 0x0800, ipv4('192.168.7.6', '1.1.1.1', 6, Buffer.alloc(20)))]);
    expect(guestIpFromPcap(p, MAC)).toBe('192.168.7.6');
    expect(guestIpFromPcap(p.subarray(0, p.length - 5), MAC)).toBe('192.168.7.5');
    expect(guestIpFromPcap(p, '52:54:00:00:00:09')).toBeNull();
    expect(guestIpFromPcap(Buffer.alloc(10), MAC)).toBeNull();
  });
});
