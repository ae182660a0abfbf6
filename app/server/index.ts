/** `nestbox serve` lives here (app/server). */
export {};
