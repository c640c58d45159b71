// The WebSocket class: the runtime's own (browsers, Deno, Bun, Node >= 22),
// or the vendored `ws` package where there is none (Node 18 and 20). The
// fallback is only imported when globalThis.WebSocket is absent, so a
// browser never loads it.
let cached;

export async function getWebSocket() {
  if (cached) return cached;
  if (typeof globalThis.WebSocket === 'function') {
    cached = globalThis.WebSocket;
  } else {
    const ws = await import('../vendor/ws/wrapper.mjs');
    cached = ws.WebSocket;
  }
  return cached;
}
