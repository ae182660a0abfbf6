import { describe, expect, it } from 'vitest';
import { fakeVm } from '../test/fakeBridge';
import { visibleVms } from './library';

const names = (xs: { name: string }[]) => xs.map((v) => v.name);
const opts = (key: 'name' | 'state' = 'name', dir: 'asc' | 'desc' = 'asc') => ({ sort: { key, dir }, filter: '', stateFilter: 'all' as const });

describe('visibleVms sorting', () => {
  it('orders names naturally and case-insensitively, as a collator with numeric: true would', () => {
    const list = ['vm-10', 'VM-9', 'vm-2', 'alpha', 'Beta', 'vm-010b', 'vm-010a', 'vm-1', 'vm-02', 'a1b2', 'a1b10', 'macos-15', 'macos-sequoia', 'β'].map((n) => fakeVm(n));
    const sorted = names(visibleVms(list, opts()));
    expect(sorted).toEqual(['a1b2', 'a1b10', 'alpha', 'Beta', 'macos-15', 'macos-sequoia', 'vm-1', 'vm-02', 'vm-2', 'VM-9', 'vm-10', 'vm-010a', 'vm-010b', 'β']);
    const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
    const byCollator = [...list].sort((a, b) => collator.compare(a.name, b.name) || (a.name < b.name ? -1 : 1)).map((v) => v.name);
    // Same order as the collator, except where it sees "vm-2" and "vm-02" as equal (we then order by the raw name).
    expect(sorted.filter((n) => n !== 'vm-02')).toEqual(byCollator.filter((n) => n !== 'vm-02'));
    expect(names(visibleVms(list, opts('name', 'desc')))).toEqual([...sorted].reverse());
  });

  it('by state keeps running VMs first, then by name', () => {
    const list = [fakeVm('b', { state: 'stopped' }), fakeVm('a10', { state: 'running' }), fakeVm('a9', { state: 'running' }), fakeVm('a', { state: 'stopped' })];
    expect(names(visibleVms(list, opts('state')))).toEqual(['a9', 'a10', 'a', 'b']);
  });
});
