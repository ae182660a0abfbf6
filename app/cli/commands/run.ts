import { NestboxError } from '../../core/errors';
import { defineCommand, type OptionValue } from '../command';

function list(v: OptionValue): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/**
 * `nestbox run NAME` — like `tart run`: the VM runs in the foreground, Ctrl-C shuts it down (ACPI, then forced
 * after 30 s or on a second Ctrl-C), SIGUSR1 suspends it. `--detach` returns once the VM is up; the VM never
 * depends on this process (killing it leaves the VM running; `nestbox stop` still works).
 */
export default defineCommand({
  usage: 'NAME [--no-graphics] [--vnc] [--disk PATH[:ro]]... [--dir [NAME:]PATH[:ro,tag=TAG]]... [--serial] [--recovery] [--clipboard|--no-clipboard] [--detach]',
  options: {
    'no-graphics': { type: 'boolean' },
    graphics: { type: 'boolean' },
    vnc: { type: 'boolean' },
    disk: { type: 'string', multiple: true },
    dir: { type: 'string', multiple: true },
    serial: { type: 'boolean' },
    recovery: { type: 'boolean' },
    clipboard: { type: 'boolean' },
    'no-clipboard': { type: 'boolean' },
    detach: { type: 'boolean', short: 'd' },
  },
  positionals: [1, 1],
  async run({ values, positionals, stdout, stderr }) {
    const name = positionals[0]!;
    const { openHome } = await import('../../core/library/home');
    const { Machines } = await import('../../core/hypervisor/machines');
    const { parseDiskArg, parseDirArg, checkSharedDirs } = await import('../../core/hypervisor/args');
    const extraDisks = list(values.disk).map(parseDiskArg);
    const sharedDirs = list(values.dir).map(parseDirArg);
    checkSharedDirs(sharedDirs);
    if (values.clipboard && values['no-clipboard']) {
      throw new NestboxError('INVALID_ARGUMENT', '--clipboard and --no-clipboard contradict each other.', { fix: 'Pass one of them (neither: on where the VM can still be suspended with it).' });
    }
    if (values.serial && values.detach) {
      throw new NestboxError('INVALID_ARGUMENT', '--serial attaches this terminal to the VM, so it cannot be combined with --detach.', {
        fix: 'Drop one of them; a detached VM logs its serial console to the file `nestbox run` prints.',
      });
    }
    const machines = new Machines(openHome());
    machines.handle(name); // NOT_FOUND early
    const before = await machines.status(name).catch(() => null);
    if (before?.state === 'suspended') {
      const flags = extraDisks.length > 0 || sharedDirs.length > 0 || values.vnc === true || values.clipboard === true || values['no-clipboard'] === true;
      stdout.write(`Resuming the suspended VM "${name}"${flags ? ' with the devices it had when it was suspended (--disk/--dir/--vnc/--clipboard are ignored)' : ''}.\n`);
    }
    // Ctrl-C while the VM is still starting: remember it and shut the VM down once it is up.
    let interruptedDuringStart = false;
    const early = () => {
      interruptedDuringStart = true;
    };
    process.on('SIGINT', early);
    process.on('SIGTERM', early);
    try {
      await machines.start(name, {
        graphics: values['no-graphics'] !== true,
        vnc: values.vnc === true,
        extraDisks,
        sharedDirs,
        recovery: values.recovery === true,
        serial: values.serial === true,
        ...(values.clipboard || values['no-clipboard'] ? { clipboard: values.clipboard === true } : {}),
      });
    } finally {
      process.off('SIGINT', early);
      process.off('SIGTERM', early);
    }
    if (interruptedDuringStart && !values.detach) {
      stdout.write('Interrupted: shutting the VM down…\n');
      await machines.stop(name, { timeoutMs: 30_000 });
      return 130;
    }
    const st = await machines.status(name);
    const info = await machines.connectionInfo(name);
    const say = (s: string): void => {
      (values.serial ? stderr : stdout).write(s + '\n');
    };
    say(`VM "${name}" is running${st.pid ? ` (pid ${st.pid})` : ''}.`);
    if (info.serialLog) say(`Serial console log: ${info.serialLog}`);
    if (info.vnc?.kind === 'vnc-unix') say(`Display (VNC, unix socket): ${info.vnc.path}`);
    if (info.vnc?.kind === 'vnc-tcp') say(`Display: vnc://:${info.vnc.password ?? ''}@${info.vnc.host}:${info.vnc.port}`);
    if (info.ssh) say(`SSH: ssh -p ${info.ssh.port} <user>@${info.ssh.host}`);
    if (values.detach) {
      say(`Stop it with \`nestbox stop ${name}\`.`);
      return 0;
    }

    // Foreground: wait for the VM to end; Ctrl-C shuts it down.
    let stopping: Promise<void> | null = null;
    let forced = false;
    const stopVm = (force: boolean) => {
      if (force) {
        forced = true;
        stopping = machines.stop(name, { force: true }).catch(() => {});
      } else if (!stopping) {
        say('Shutting the VM down (press Ctrl-C again to force it off)…');
        stopping = machines.stop(name, { timeoutMs: 30_000 }).catch(() => {});
      }
    };
    const onInt = () => stopVm(stopping !== null && !forced);
    const onTerm = () => stopVm(false);
    const onUsr1 = () => {
      if (stopping) return;
      say('Suspending the VM…');
      stopping = machines.suspend(name).then(
        () => say(`VM "${name}" suspended; \`nestbox run ${name}\` resumes it.`),
        (e) => {
          stderr.write(`Error: ${(e as Error).message}\n`);
        },
      );
    };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    process.on('SIGUSR1', onUsr1);

    // --serial: this terminal is the VM's serial console (Ctrl-] shuts the VM down).
    let restoreTty = () => {};
    if (values.serial) {
      const con = await machines.serial(name);
      con.pipe(process.stdout);
      const stdin = process.stdin;
      if (stdin.isTTY) {
        stdin.setRawMode(true);
        restoreTty = () => stdin.setRawMode(false);
      }
      stdin.on('data', (d: Buffer) => {
        if (d.includes(0x1d)) stopVm(stopping !== null);
        else con.write(d);
      });
      say('Serial console attached. Press Ctrl-] to shut the VM down.');
    } else {
      say('Press Ctrl-C to stop the VM.');
    }
    // Learn the guest's address in the background (and print it once known).
    void machines.ip(name, 120_000).then(
      (ip) => {
        if (ip) say(`Guest IP: ${ip}`);
      },
      () => {},
    );

    await machines.waitForExit(name);
    if (stopping) await stopping;
    restoreTty();
    process.stdin.pause();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('SIGUSR1', onUsr1);
    const end = await machines.status(name);
    if (end.state === 'error') {
      stderr.write(`Error: VM "${name}" failed: ${end.error?.message ?? 'unknown cause'}\n`);
      if (end.error?.fix) stderr.write(`Fix: ${end.error.fix}\n`);
      return 1;
    }
    say(end.state === 'suspended' ? `VM "${name}" is suspended.` : `VM "${name}" stopped.`);
    return 0;
  },
});
