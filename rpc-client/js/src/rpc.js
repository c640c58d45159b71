// JSON-RPC 2.0 over HTTP (fetch) and WebSocket, with subscriptions
// (docs/rpc.md). Browser-compatible: only fetch, WebSocket, AbortController
// and timers are used.
import { getWebSocket } from './websocket.js';

/** A JSON-RPC error object, or a transport failure (`code` null). */
export class RpcError extends Error {
  constructor(method, code, message, data = null) {
    const reason = data && typeof data === 'object' ? data.reason ?? null : typeof data === 'string' ? data : null;
    let text = `${method}: ` + (code !== null ? `JSON-RPC error ${code}: ${message}` : message);
    if (reason) text += ` (reason: ${reason})`;
    super(text);
    this.name = 'RpcError';
    this.method = method;
    this.code = code;
    this.rpcMessage = message;
    this.reason = reason;
    this.data = data;
  }
}

/** Error codes of docs/rpc.md section 2. */
export const ERRORS = Object.freeze({
  PARSE: -32700, INVALID_REQUEST: -32600, METHOD_NOT_FOUND: -32601, INVALID_PARAMS: -32602, INTERNAL: -32603,
  NOT_FOUND: -32001, UNAVAILABLE: -32002, TX_REJECTED: -32003, NOT_SUPPORTED: -32004, LIMIT_EXCEEDED: -32005,
  TOO_MANY_SUBSCRIPTIONS: -32006, REQUEST_TOO_BIG: -32007, RESPONSE_TOO_BIG: -32008, BATCH_TOO_LARGE: -32010,
  BATCH_RESPONSE_TOO_LARGE: -32011,
});

export class TimeoutError extends Error {
  constructor(what) {
    super(`timed out: ${what}`);
    this.name = 'TimeoutError';
  }
}

function withTimeout(promise, ms, what) {
  if (!ms || ms === Infinity) return promise;
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(what)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function unwrap(method, msg) {
  if (msg && msg.error != null) {
    const e = msg.error;
    throw new RpcError(method, e.code ?? null, e.message ?? '', e.data ?? null);
  }
  if (!msg || !('result' in msg)) throw new RpcError(method, null, `response has neither result nor error: ${JSON.stringify(msg)}`);
  return msg.result;
}

/** `http://host:port` and `ws://host:port/` of one node address. */
export function endpoints(url) {
  const u = new URL(url.includes('://') ? url : `http://${url}`);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  const host = u.host;
  const path = u.pathname || '/';
  return { http: `${secure ? 'https' : 'http'}://${host}${path}`, ws: `${secure ? 'wss' : 'ws'}://${host}${path}` };
}

/** JSON-RPC over HTTP POST: `new HttpRpc("http://127.0.0.1:9944").call("system_chainId")`. */
export class HttpRpc {
  constructor(url, { timeoutMs = 30000, fetch: fetchImpl = null } = {}) {
    this.url = endpoints(url).http;
    this.timeoutMs = timeoutMs;
    // Called unbound: a browser's fetch must be called on the window.
    this.fetch = fetchImpl ?? ((...args) => globalThis.fetch(...args));
    this.nextId = 1;
  }

  async #post(method, payload) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.timeoutMs);
    let res;
    let raw;
    try {
      res = await this.fetch(this.url, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal: ctl.signal,
      });
      raw = await res.text();
    } catch (e) {
      throw new RpcError(method, null, ctl.signal.aborted ? `no answer from ${this.url} in ${this.timeoutMs} ms` : `cannot reach ${this.url}: ${e.message}`);
    } finally {
      clearTimeout(timer);
    }
    try {
      return JSON.parse(raw);
    } catch {
      throw new RpcError(method, null, `HTTP ${res.status}: response is not JSON: ${raw.slice(0, 200)}`);
    }
  }

  /** Calls `method` with positional (array) or named (object) params. */
  async call(method, params = []) {
    const msg = await this.#post(method, { jsonrpc: '2.0', id: this.nextId++, method, params });
    return unwrap(method, msg);
  }

  /**
   * A batch: `[[method, params], ...]` -> results in the same order; a
   * failed call's place holds its RpcError (the batch itself does not throw).
   */
  async batch(calls) {
    const reqs = calls.map(([method, params = []]) => ({ jsonrpc: '2.0', id: this.nextId++, method, params }));
    const msg = await this.#post('batch', reqs);
    if (!Array.isArray(msg)) unwrap('batch', msg);
    const byId = new Map(msg.map((m) => [m.id, m]));
    return reqs.map((r) => {
      try {
        return unwrap(r.method, byId.get(r.id));
      } catch (e) {
        return e;
      }
    });
  }
}

/** Subscribe method -> [unsubscribe method, notification method]. */
export const SUBSCRIPTIONS = Object.freeze({
  chain_subscribeNewHeads: ['chain_unsubscribeNewHeads', 'chain_newHead'],
  chain_subscribeFinalizedHeads: ['chain_unsubscribeFinalizedHeads', 'chain_finalizedHead'],
  tx_submitAndWatch: ['tx_unwatch', 'tx_status'],
  credits_subscribeAccount: ['credits_unsubscribeAccount', 'credits_accountChanged'],
  sites_subscribeStatus: ['sites_unsubscribeStatus', 'sites_statusChanged'],
  grid_subscribeAlerts: ['grid_unsubscribeAlerts', 'grid_alert'],
});

/** Transaction statuses after which a watch ends (docs/rpc.md, tx_submitAndWatch). */
export const FINAL_TX_STATUSES = Object.freeze(['finalized', 'invalid', 'dropped']);

/**
 * One subscription's notifications: an async iterator (`for await (const
 * head of sub)`), `next({timeoutMs})`, or a callback (`sub.on(fn)`). It ends
 * when unsubscribed, when a watch reaches a final status, or with an
 * RpcError when the node closes it (the closing `error` notification) or the
 * connection drops.
 */
export class Subscription {
  #queue = [];
  #waiters = [];
  #listeners = [];
  #ended = false;
  #error = null;

  constructor(conn, id, method, { isFinal = null } = {}) {
    this.conn = conn;
    this.id = id;
    this.method = method;
    [this.unsubscribeMethod, this.notification] = SUBSCRIPTIONS[method] ?? [null, null];
    this.isFinal = isFinal;
  }

  get ended() {
    return this.#ended;
  }

  _push(result) {
    if (this.#ended) return;
    for (const fn of this.#listeners) fn(result);
    const w = this.#waiters.shift();
    if (w) w.resolve({ value: result, done: false });
    else this.#queue.push(result);
    if (this.isFinal && this.isFinal(result)) this._end(null);
  }

  _end(error) {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.conn._forget(this.id);
    for (const w of this.#waiters.splice(0)) (error ? w.reject(error) : w.resolve({ value: undefined, done: true }));
  }

  /** Calls `fn(result)` for every notification from now on. */
  on(fn) {
    this.#listeners.push(fn);
    return this;
  }

  /** The next notification's result; `{done: true}` once the subscription ended. */
  next({ timeoutMs = 0 } = {}) {
    if (this.#queue.length) return Promise.resolve({ value: this.#queue.shift(), done: false });
    if (this.#ended) return this.#error ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
    let waiter;
    const p = new Promise((resolve, reject) => {
      waiter = { resolve, reject };
      this.#waiters.push(waiter);
    });
    if (!timeoutMs) return p;
    return withTimeout(p, timeoutMs, `a ${this.notification ?? this.method} notification within ${timeoutMs} ms`).catch((e) => {
      if (e instanceof TimeoutError) this.#waiters = this.#waiters.filter((x) => x !== waiter);
      throw e;
    });
  }

  /** Ends the subscription (the unsubscribe call); true if it was active. */
  async unsubscribe() {
    if (this.#ended) return false;
    this._end(null);
    if (!this.unsubscribeMethod || this.conn.closed) return false;
    return this.conn.call(this.unsubscribeMethod, [this.id]);
  }

  [Symbol.asyncIterator]() {
    return {
      next: () => this.next(),
      return: async () => {
        await this.unsubscribe().catch(() => {});
        return { value: undefined, done: true };
      },
    };
  }
}

/**
 * JSON-RPC over one WebSocket, with subscriptions:
 * `const ws = await WsRpc.connect("ws://127.0.0.1:9944/")`.
 */
export class WsRpc {
  #socket;
  #pending = new Map();
  #subs = new Map();
  #early = new Map(); // notifications that arrived before their subscription was registered
  #gone = new Set(); // ids of ended subscriptions: late notifications are dropped
  #nextId = 1;

  constructor(socket, url, timeoutMs) {
    this.#socket = socket;
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.closed = false;
    socket.onmessage = (ev) => this.#onMessage(ev.data);
    socket.onclose = (ev) => this.#onClose(`the WebSocket closed (code ${ev?.code ?? '?'})`);
    socket.onerror = (ev) => this.#onClose(`WebSocket error: ${ev?.message ?? ev?.error?.message ?? 'unknown'}`);
  }

  static async connect(url, { timeoutMs = 30000, WebSocket: WS = null } = {}) {
    const wsUrl = endpoints(url).ws;
    const Impl = WS ?? (await getWebSocket());
    const socket = new Impl(wsUrl);
    await withTimeout(new Promise((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = (ev) => reject(new RpcError('connect', null, `cannot open ${wsUrl}: ${ev?.message ?? ev?.error?.message ?? 'WebSocket error'}`));
    }), timeoutMs, `opening ${wsUrl}`).catch((e) => {
      try { socket.close(); } catch { /* already closed */ }
      throw e;
    });
    return new WsRpc(socket, wsUrl, timeoutMs);
  }

  #onMessage(data) {
    let msg;
    try {
      msg = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
    } catch {
      return;
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) {
      if (m.id !== undefined && m.id !== null && this.#pending.has(m.id)) {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        try {
          const result = unwrap(p.method, m);
          if (p.subscribe) {
            const sub = new Subscription(this, result, p.method, p.subscribe);
            this.#subs.set(result, sub);
            for (const n of this.#early.get(result) ?? []) this.#notify(sub, n);
            this.#early.delete(result);
            p.resolve(sub);
          } else {
            p.resolve(result);
          }
        } catch (e) {
          p.reject(e);
        }
      } else if (m.method && m.params && m.params.subscription !== undefined) {
        const sub = this.#subs.get(m.params.subscription);
        if (sub) this.#notify(sub, m);
        else if (!this.#gone.has(m.params.subscription)) {
          const list = this.#early.get(m.params.subscription) ?? [];
          if (list.length < 1000) list.push(m);
          this.#early.set(m.params.subscription, list);
        }
      } else if (m.id === null && m.error) {
        // An error the node could not tie to a request (docs/rpc.md section 2): fail every pending call.
        for (const [, p] of this.#pending) p.reject(new RpcError(p.method, m.error.code ?? null, m.error.message ?? '', m.error.data ?? null));
        this.#pending.clear();
      }
    }
  }

  #notify(sub, m) {
    if (m.params.error) {
      const e = m.params.error;
      sub._end(new RpcError(sub.notification ?? sub.method, e.code ?? null, e.message ?? 'subscription closed by the node', e.data ?? null));
    } else {
      sub._push(m.params.result);
    }
  }

  #onClose(why) {
    if (this.closed) return;
    this.closed = true;
    for (const [, p] of this.#pending) p.reject(new RpcError(p.method, null, why));
    this.#pending.clear();
    for (const sub of [...this.#subs.values()]) sub._end(new RpcError(sub.method, null, why));
  }

  _forget(id) {
    this.#subs.delete(id);
    this.#gone.add(id);
  }

  #send(method, params, subscribe) {
    if (this.closed) return Promise.reject(new RpcError(method, null, 'the WebSocket is closed'));
    const id = this.#nextId++;
    const p = new Promise((resolve, reject) => this.#pending.set(id, { method, resolve, reject, subscribe }));
    this.#socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return withTimeout(p, this.timeoutMs, `${method} over ${this.url}`).catch((e) => {
      this.#pending.delete(id);
      throw e;
    });
  }

  /** Calls `method` with positional (array) or named (object) params. */
  call(method, params = []) {
    return this.#send(method, params, null);
  }

  /**
   * Subscribes (`chain_subscribeNewHeads`, `tx_submitAndWatch`, ...);
   * resolves to a Subscription. `isFinal(result)` may end it after a result.
   */
  subscribe(method, params = [], { isFinal = null } = {}) {
    if (method === 'tx_submitAndWatch' && !isFinal) isFinal = (s) => FINAL_TX_STATUSES.includes(s?.status);
    return this.#send(method, params, { isFinal });
  }

  /** Closes the socket; pending calls fail and subscriptions end. */
  close() {
    if (!this.closed) {
      try { this.#socket.close(); } catch { /* already closed */ }
    }
    this.#onClose('the client closed the WebSocket');
  }
}
