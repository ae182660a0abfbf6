/**
 * The WebSocket of `nestbox serve` (`api/ws`): its subprotocol, and how a browser signs in on it. A page cannot set
 * headers on a WebSocket, so its first socket offers the access token as a second subprotocol,
 * `nestbox.token.<token>`; the server answers with `nestbox` alone (see app/server/auth.ts). No zod here: the
 * renderer imports it.
 */
export const WS_PROTOCOL = 'nestbox';
export const WS_TOKEN_PREFIX = 'nestbox.token.';
