import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { toError } from '../stores';
import { useApi } from '../stores/react';

const MAX_CHARS = 256 * 1024;

/** Terminal output as plain text: drops ANSI escape sequences and carriage returns. */
export function cleanSerial(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?=<>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78cDEHMNOZ]/g, '').replace(/\r(?!\n)/g, '').replace(/\r\n/g, '\n');
}

/** The serial console: follows the VM's serial log (polling from the last offset) and sends lines to it. */
export function SerialConsole({ name, running }: { name: string; running: boolean }) {
  const api = useApi();
  const [text, setText] = useState('');
  const [line, setLine] = useState('');
  const [error, setError] = useState<string | null>(null);
  const pre = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    let offset = 0;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setText('');
    const poll = async () => {
      try {
        const r = await api.request('vm.serialRead', { name, offset });
        if (stop) return;
        if (r.offset < offset) setText(''); // the log restarted (new boot)
        offset = r.offset;
        if (r.text) setText((t) => (t + cleanSerial(r.text)).slice(-MAX_CHARS));
        setError(null);
      } catch (e) {
        if (!stop) setError(toError(e).message);
      }
      if (!stop) timer = setTimeout(poll, running ? 400 : 2000);
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [api, name, running]);

  useLayoutEffect(() => {
    if (stick.current && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text]);

  const send = async (data: string) => {
    try {
      await api.request('vm.serialWrite', { name, data });
      setError(null);
    } catch (e) {
      setError(toError(e).message);
    }
  };

  return (
    <div className="serial">
      <pre
        ref={pre}
        className="serial-log"
        role="log"
        aria-label="Serial console output"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {text || (running ? 'Waiting for output…' : 'The VM is not running. Output from its last run appears here.')}
      </pre>
      <form
        className="serial-input"
        onSubmit={(e) => {
          e.preventDefault();
          void send(line + '\n');
          setLine('');
        }}
      >
        <input className="input mono" aria-label="Serial input" placeholder={running ? 'Type a command and press Enter' : 'Start the VM to type here'} value={line} disabled={!running} onChange={(e) => setLine(e.target.value)} />
        <button type="submit" className="button" disabled={!running}>
          Send
        </button>
        <button type="button" className="button button-ghost" disabled={!running} onClick={() => void send('\x03')} aria-label="Send Ctrl-C">
          Ctrl-C
        </button>
      </form>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
