import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSharedDirs, parseDirArg, parseDiskArg } from './args';

describe('Tart --disk / --dir syntax', () => {
  it('--disk PATH[:ro,…]', () => {
    expect(parseDiskArg('/isos/debian.iso')).toEqual({ path: '/isos/debian.iso', readOnly: false });
    expect(parseDiskArg('/isos/debian.iso:ro')).toEqual({ path: '/isos/debian.iso', readOnly: true });
    expect(parseDiskArg('/d/data.img:ro,sync=none,caching=cached')).toEqual({ path: '/d/data.img', readOnly: true });
    expect(parseDiskArg('/d/a:b.img')).toEqual({ path: '/d/a:b.img', readOnly: false });
    expect(parseDiskArg('~/x.img').path).toBe(path.join(os.homedir(), 'x.img'));
    expect(() => parseDiskArg('nbd://host/export')).toThrow(/not supported/);
  });

  it('--dir [NAME:]PATH[:ro,tag=TAG]', () => {
    expect(parseDirArg('/src')).toEqual({ path: '/src', readOnly: false });
    expect(parseDirArg('/src:ro')).toEqual({ path: '/src', readOnly: true });
    expect(parseDirArg('code:/src')).toEqual({ name: 'code', path: '/src', readOnly: false });
    expect(parseDirArg('code:/src:ro,tag=build')).toEqual({ name: 'code', path: '/src', readOnly: true, tag: 'build' });
    expect(parseDirArg('/src:tag=t1')).toEqual({ path: '/src', readOnly: false, tag: 't1' });
  });

  it('several folders on one tag must all be named', () => {
    expect(() => checkSharedDirs([parseDirArg('/a'), parseDirArg('/b')])).toThrow(/each needs a name/);
    expect(() => checkSharedDirs([parseDirArg('a:/a'), parseDirArg('b:/b')])).not.toThrow();
    expect(() => checkSharedDirs([parseDirArg('/a'), parseDirArg('/b:tag=other')])).not.toThrow();
  });
});
