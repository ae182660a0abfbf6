import { defineCommand } from '../command';

export default defineCommand({
  usage: 'NAME...',
  options: {},
  positionals: [1, Infinity],
  async run({ positionals }) {
    const { openLibrary } = await import('../../core/library/library');
    const lib = await openLibrary();
    // Like Tart: one after another, stopping at the first failure.
    for (const name of positionals) {
      // Names that parse as a remote reference address the OCI cache (Tart's rule); all others are local VMs.
      if (name.includes('/')) {
        const { parseRemoteName } = await import('../../core/oci/reference');
        if (parseRemoteName(name)) {
          const { deleteCachedImage } = await import('../../core/oci/cache');
          await deleteCachedImage(lib.home, name);
          continue;
        }
      }
      await lib.delete(name);
    }
  },
});
