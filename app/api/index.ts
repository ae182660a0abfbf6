/** The Nestbox API contract (issue: one contract for every shell). Filled in by app/api/*.ts. */
export const API_VERSION = 1;
