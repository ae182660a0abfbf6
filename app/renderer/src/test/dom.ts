/** Tiny DOM assertions helpers (no jest-dom dependency). */
export const disabled = (el: Element): boolean => (el as HTMLButtonElement).disabled === true || el.closest('fieldset:disabled') !== null;
export const checked = (el: Element): boolean => (el as HTMLInputElement).checked === true;
export const valueOf = (el: Element): string => (el as HTMLInputElement).value;
