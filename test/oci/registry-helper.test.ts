import { afterAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { startRegistry, type StartedRegistry } from '../helpers/registry';

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

describe('test registry helper', () => {
  const started: StartedRegistry[] = [];
  afterAll(async () => {
    for (const r of started) await r.stop();
  });

  it('starts an anonymous registry that answers /v2/', async () => {
    const r = await startRegistry();
    started.push(r);
    expect((await get(`${r.url}/v2/`)).status).toBe(200);
  });

  it('starts a token-auth registry whose token server issues working tokens', async () => {
    const r = await startRegistry({ auth: { kind: 'token', username: 'alice', password: 's3cret' } });
    started.push(r);
    const first = await get(`${r.url}/v2/`);
    expect(first.status).toBe(401);
    expect(first.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    const basic = Buffer.from('alice:s3cret').toString('base64');
    const tok = await get(`${r.tokenUrl}?service=nestbox-registry&scope=repository:a/b:pull`, { Authorization: `Basic ${basic}` });
    expect(tok.status).toBe(200);
    const { token } = JSON.parse(tok.body);
    expect((await get(`${r.url}/v2/`, { Authorization: `Bearer ${token}` })).status).toBe(200);
    const bad = await get(`${r.tokenUrl}?service=nestbox-registry`, { Authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` });
    expect(bad.status).toBe(401);
  });
});
