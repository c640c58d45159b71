// A Watt node client: reads over HTTP, subscriptions and watches over one
// shared WebSocket (opened on first use), and the nonce handling a wallet
// needs (docs/rpc.md; docs/wallet.md section "JavaScript").
import { toHex } from './bytes.js';
import { ERRORS, FINAL_TX_STATUSES, HttpRpc, RpcError, TimeoutError, WsRpc, endpoints } from './rpc.js';
import { signTx, txId as computeTxId } from './tx.js';

const opt = (at) => (at === undefined || at === null ? [] : [at]);

export class WattClient {
  #ws = null;

  /** `url`: the node's RPC address, `http://127.0.0.1:9944` (ws:// is derived). */
  constructor(url = 'http://127.0.0.1:9944', { timeoutMs = 30000, fetch, WebSocket } = {}) {
    const e = endpoints(url);
    this.httpUrl = e.http;
    this.wsUrl = e.ws;
    this.timeoutMs = timeoutMs;
    this.WebSocket = WebSocket ?? null;
    this.http = new HttpRpc(e.http, { timeoutMs, fetch });
  }

  /** A JSON-RPC call over HTTP. */
  call(method, params = []) {
    return this.http.call(method, params);
  }

  /** The shared WebSocket connection (opened on first use, reopened if it closed). */
  async ws() {
    if (!this.#ws || this.#ws.closed) {
      this.#ws = WsRpc.connect(this.wsUrl, { timeoutMs: this.timeoutMs, WebSocket: this.WebSocket });
      this.#ws.catch(() => { this.#ws = null; });
    }
    const conn = await this.#ws;
    if (conn.closed) {
      this.#ws = null;
      return this.ws();
    }
    return conn;
  }

  /** Subscribes over the WebSocket; see Subscription. */
  async subscribe(method, params = [], options = {}) {
    return (await this.ws()).subscribe(method, params, options);
  }

  /** Closes the WebSocket, if one is open. */
  async close() {
    const p = this.#ws;
    this.#ws = null;
    if (p) (await p.catch(() => null))?.close();
  }

  // Reads.
  health() { return this.call('system_health'); }
  version() { return this.call('system_version'); }
  /** The chain id as 0x hex. */
  chainId() { return this.call('system_chainId'); }
  finalizedHead() { return this.call('chain_getFinalizedHead'); }
  header(at) { return this.call('chain_getHeader', opt(at)); }
  block(at) { return this.call('chain_getBlock', opt(at)); }
  /** `{account, height, nonce, pendingNonce, balance, roles}`. */
  account(acct, at) { return this.call('credits_getAccount', [acct, ...opt(at)]); }
  /** `{account, height, total, byVintage}`. */
  balance(acct, at) { return this.call('credits_getBalance', [acct, ...opt(at)]); }
  supply(at) { return this.call('credits_getSupply', opt(at)); }
  getTx(id) { return this.call('tx_get', [id]); }
  receipt(id) { return this.call('tx_getReceipt', [id]); }
  dryRun(tx) { return this.call('tx_dryRun', [txHex(tx)]); }
  meter(id, at) { return this.call('meters_get', [id, ...opt(at)]); }
  site(id, at) { return this.call('sites_get', [id, ...opt(at)]); }
  canRun(site, at) { return this.call('sites_canRun', [site, ...opt(at)]); }
  zone(id, at) { return this.call('zones_get', [id, ...opt(at)]); }

  /** Submits a signed transaction (SignedTx or 0x hex); resolves to its id. */
  submit(tx) { return this.call('tx_submit', [txHex(tx)]); }
  /** Many signed transactions in one call (at most 1,000): one `{ok, hash, reason}` verdict each, in order. */
  submitBatch(txs) { return this.call('tx_submitBatch', [txs.map(txHex)]); }

  // Subscriptions (WebSocket).
  subscribeNewHeads() { return this.subscribe('chain_subscribeNewHeads'); }
  subscribeFinalizedHeads() { return this.subscribe('chain_subscribeFinalizedHeads'); }
  subscribeAccount(acct) { return this.subscribe('credits_subscribeAccount', [acct]); }
  subscribeSiteStatus(site) { return this.subscribe('sites_subscribeStatus', [site]); }

  /**
   * tx_submitAndWatch: resolves to a Subscription of TxStatus objects
   * (`ready`, `included`, then `finalized`; or `invalid` / `dropped`) that
   * ends after the final one. Refusals of undecodable transactions and of
   * another chain's reject here.
   */
  submitAndWatch(tx) {
    return this.subscribe('tx_submitAndWatch', [txHex(tx)]);
  }

  /**
   * Submits and waits for the final status; resolves to it (`finalized`,
   * `invalid` or `dropped`: check `status`). `onStatus` sees every status.
   */
  async submitAndWait(tx, { timeoutMs = 60000, onStatus } = {}) {
    const sub = await this.submitAndWatch(tx);
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(`no final status for ${txId(tx)} in ${timeoutMs} ms`);
        const { value, done } = await sub.next({ timeoutMs: left });
        if (done) throw new RpcError('tx_submitAndWatch', null, 'the watch ended without a final status');
        onStatus?.(value);
        if (FINAL_TX_STATUSES.includes(value.status)) return value;
      }
    } finally {
      if (!sub.ended) await sub.unsubscribe().catch(() => {});
    }
  }

  /**
   * Signs `body` as `key` with the account's next nonce (`pendingNonce`),
   * submits it with tx_submitAndWatch and waits for the final status,
   * trying the next nonce when another transaction of the same account
   * takes it first (a nonce race: "... is pending", "... is stale", or a
   * `dropped` with rule `stale`). Resolves to `{tx, status, attempts}`
   * with a `finalized` status, or throws.
   */
  async sendTransaction(key, body, { chainId, timeoutMs = 60000, maxAttempts = 8, onStatus, log } = {}) {
    const chain = chainId ?? (await this.chainId());
    const deadline = Date.now() + timeoutMs;
    let ahead = 0;
    let last = null;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const info = await this.account(key.account);
      const nonce = (info.pendingNonce ?? info.nonce) + ahead;
      const tx = signTx(key, chain, nonce, body);
      let status;
      try {
        status = await this.submitAndWait(tx, { timeoutMs: left, onStatus });
      } catch (e) {
        if (e instanceof RpcError && e.code === ERRORS.TX_REJECTED && isNonceRace(e.reason)) {
          last = e.reason;
          ahead = /is pending/.test(e.reason) ? ahead + 1 : 0;
          log?.(`nonce ${nonce}: ${e.reason}; retrying`);
          continue;
        }
        throw e;
      }
      if (status.status === 'finalized') return { tx, status, attempts: attempt };
      if (isNonceRace(status.reason) || status.rule === 'stale') {
        last = `${status.status}: ${status.reason}`;
        ahead = /is pending/.test(status.reason ?? '') ? ahead + 1 : 0;
        log?.(`nonce ${nonce}: ${last}; retrying`);
        continue;
      }
      const err = new RpcError('sendTransaction', null, `transaction ${tx.id} ended ${status.status}: ${status.rule ?? ''} ${status.reason ?? ''}`.trim());
      err.status = status;
      err.tx = tx;
      throw err;
    }
    throw new RpcError('sendTransaction', null, `no free nonce for ${key.account} after ${maxAttempts} attempts${last ? ` (last: ${last})` : ''}`);
  }
}

function isNonceRace(reason) {
  return typeof reason === 'string' && (/nonce \d+ is stale/.test(reason) || /with nonce \d+ is pending/.test(reason) || /is pending/.test(reason));
}

function txHex(tx) {
  if (typeof tx === 'string') return tx;
  if (tx instanceof Uint8Array) return toHex(tx);
  return tx.hex;
}

function txId(tx) {
  return typeof tx === 'object' && tx && 'id' in tx ? tx.id : toHex(computeTxId(txHex(tx)));
}
