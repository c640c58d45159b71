// @watt/client: the Watt encoding, addresses, hashing, signing, transaction
// builders and a JSON-RPC client (HTTP and WebSocket). See README.md.
export * from './src/bytes.js';
export * from './src/address.js';
export * from './src/hash.js';
export * from './src/encoding.js';
export * from './src/keys.js';
export * as bodies from './src/bodies.js';
export { BODIES, encodeBody, body, wh } from './src/bodies.js';
export * from './src/tx.js';
export * from './src/rpc.js';
export { WattClient } from './src/client.js';
export { getWebSocket } from './src/websocket.js';
