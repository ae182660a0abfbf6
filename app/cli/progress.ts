/**
 * A TaskContext for the CLI: a one-line progress bar on a TTY (redrawn ≤10×/s), plain lines (≤1/s) when the stream is
 * not a TTY or CI is set. Shows done/total, rate and ETA (computed here from the engine's byte counters), and notes
 * from ctx.log() on their own lines. Ctrl-C cancels the task (the engine leaves a resumable state).
 */
import type { ProgressUpdate, TaskContext } from '../core/tasks/context';

export interface CliTask extends TaskContext {
  /** Clears the bar and removes the SIGINT handler. */
  end(): void;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export function cliTask(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, o: { env?: NodeJS.ProcessEnv; handleSigint?: boolean } = {}): CliTask {
  const env = o.env ?? process.env;
  const tty = Boolean(stream.isTTY) && !env.CI;
  const controller = new AbortController();
  let state: ProgressUpdate = {};
  let lastDraw = 0;
  let drawn = false;
  const samples: { t: number; done: number }[] = [];
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  if (o.handleSigint !== false) process.on('SIGINT', onSigint);

  const line = (): string => {
    const step = state.step ?? '';
    if (state.total === undefined || state.total <= 0 || state.done === undefined) return step;
    const pct = Math.min(100, (state.done / state.total) * 100);
    const now = Date.now();
    samples.push({ t: now, done: state.done });
    while (samples.length > 2 && now - samples[0]!.t > 5000) samples.shift();
    const first = samples[0]!;
    const rate = now > first.t ? ((state.done - first.done) / (now - first.t)) * 1000 : 0;
    const eta = rate > 0 ? (state.total - state.done) / rate : NaN;
    const sec = state.secondary ? `, ${state.secondary.label} ${formatBytes(state.secondary.done)}/${formatBytes(state.secondary.total)}` : '';
    const text = `${pct.toFixed(0).padStart(3)}% ${formatBytes(state.done)}/${formatBytes(state.total)}${sec}, ${formatBytes(rate)}/s, ETA ${formatDuration(eta)}`;
    if (!tty) return `${step}: ${text}`;
    const width = 24;
    const filled = Math.round((pct / 100) * width);
    return `${step} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}`;
  };

  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - lastDraw < (tty ? 100 : 1000)) return;
    lastDraw = now;
    const text = line();
    if (!text) return;
    if (tty) {
      const cols = stream.columns || 120; // 0 when the terminal reports no size
      stream.write(`\r\x1b[2K${text.slice(0, cols - 1)}`);
      drawn = true;
    } else stream.write(text + '\n');
  };

  return {
    signal: controller.signal,
    progress(u) {
      const stepChanged = u.step !== undefined && u.step !== state.step;
      state = { ...state, ...u };
      if (stepChanged && u.total === undefined) {
        state.total = undefined;
        state.done = undefined;
        state.secondary = undefined;
      }
      draw(stepChanged && tty);
    },
    log(message) {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
      stream.write(message + '\n');
      if (tty) draw(true);
    },
    end() {
      if (state.total !== undefined && !tty) draw(true);
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
      process.off('SIGINT', onSigint);
    },
  };
}
