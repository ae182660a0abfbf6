/** A small set of line icons (inline SVG, currentColor). Decorative: the controls carry the accessible names. */
import type { SVGProps } from 'react';

const base = (d: string | string[], props: SVGProps<SVGSVGElement>) => (
  <svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" strokeWidth={1.8} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false" {...props}>
    {(Array.isArray(d) ? d : [d]).map((p, i) => (
      <path key={i} d={p} />
    ))}
  </svg>
);

type P = SVGProps<SVGSVGElement>;
export const IconLibrary = (p: P) => base(['M3 5h18v5H3z', 'M3 14h18v5H3z', 'M7 7.5h.01', 'M7 16.5h.01'], p);
export const IconImages = (p: P) => base(['M12 3l8 4.5v9L12 21l-8-4.5v-9z', 'M12 12l8-4.5', 'M12 12v9', 'M12 12L4 7.5'], p);
export const IconTasks = (p: P) => base(['M4 6h16', 'M4 12h10', 'M4 18h6', 'M18 15v6', 'M15 18h6'], p);
export const IconPlay = (p: P) => base('M7 4.5v15l12-7.5z', p);
export const IconStop = (p: P) => base('M6 6h12v12H6z', p);
export const IconPause = (p: P) => base(['M8 5v14', 'M16 5v14'], p);
export const IconSuspend = (p: P) => base(['M12 3v4', 'M12 17v4', 'M5 12H3', 'M21 12h-2', 'M7 7l1.5 1.5', 'M15.5 15.5L17 17', 'M12 9a3 3 0 100 6 3 3 0 000-6z'], p);
export const IconPlus = (p: P) => base(['M12 5v14', 'M5 12h14'], p);
export const IconDownload = (p: P) => base(['M12 4v11', 'M7 10l5 5 5-5', 'M5 20h14'], p);
export const IconSearch = (p: P) => base(['M11 4a7 7 0 100 14 7 7 0 000-14z', 'M20 20l-4-4'], p);
export const IconCopy = (p: P) => base(['M9 9h11v11H9z', 'M5 15H4V4h11v1'], p);
export const IconBack = (p: P) => base(['M15 5l-7 7 7 7'], p);
export const IconX = (p: P) => base(['M6 6l12 12', 'M18 6L6 18'], p);
export const IconFullscreen = (p: P) => base(['M4 9V4h5', 'M20 9V4h-5', 'M4 15v5h5', 'M20 15v5h-5'], p);
export const IconKeyboard = (p: P) => base(['M3 6h18v12H3z', 'M7 10h.01', 'M11 10h.01', 'M15 10h.01', 'M8 14h8'], p);
export const IconClipboard = (p: P) => base(['M9 4h6v3H9z', 'M9 5H6v15h12V5h-3'], p);
export const IconMore = (p: P) => base(['M5 12h.01', 'M12 12h.01', 'M19 12h.01'], p);
export const IconSort = (p: P) => base(['M7 4v16', 'M4 17l3 3 3-3', 'M17 20V4', 'M14 7l3-3 3 3'], p);
export const IconTerminal = (p: P) => base(['M4 5h16v14H4z', 'M8 9l3 3-3 3', 'M13 15h3'], p);
export const IconSettings = (p: P) => base(['M4 7h10', 'M18 7h2', 'M4 17h4', 'M12 17h8', 'M14 5v4', 'M8 15v4'], p);
export const IconScreen = (p: P) => base(['M3 5h18v11H3z', 'M8 20h8', 'M12 16v4'], p);
export const IconDisc = (p: P) => base(['M12 3a9 9 0 100 18 9 9 0 000-18z', 'M12 10a2 2 0 100 4 2 2 0 000-4z'], p);
export const IconWarning = (p: P) => base(['M12 4l9 16H3z', 'M12 10v4', 'M12 17h.01'], p);
export const IconRefresh = (p: P) => base(['M20 11a8 8 0 10-2.3 6.3', 'M20 5v6h-6'], p);
