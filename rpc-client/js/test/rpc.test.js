// The WebSocket client's bookkeeping, against a scripted fake socket (no
// node needed): responses matched by id, notifications routed to their
// subscription (also one that arrives before the subscribe answer is
// handled), a watch ending at its final status, the node's closing `error`
// notification, unsubscribe, timeouts, and a dropped connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { RpcError, TimeoutError, WsRpc, endpoints } from '../index.js';

class FakeSocket {
  static last;
  constructor(url) {
    this.url = url;
    this.sent = [];
    FakeSocket.last = this;
    setTimeout(() => this.onopen?.(), 0);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { setTimeout(() => this.onclose?.({ code: 1000 }), 0); }
  deliver(...msgs) { for (const m of msgs) this.onmessage({ data: JSON.stringify(m) }); }
  lastId() { return this.sent.at(-1).id; }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

test('endpoints derive http and ws URLs from one address', () => {
  assert.deepEqual(endpoints('http://127.0.0.1:9944'), { http: 'http://127.0.0.1:9944/', ws: 'ws://127.0.0.1:9944/' });
  assert.deepEqual(endpoints('wss://node.example/rpc'), { http: 'https://node.example/rpc', ws: 'wss://node.example/rpc' });
  assert.deepEqual(endpoints('127.0.0.1:9944'), { http: 'http://127.0.0.1:9944/', ws: 'ws://127.0.0.1:9944/' });
});

test('calls, subscriptions, final statuses, closing errors', async () => {
  const conn = await WsRpc.connect('http://127.0.0.1:1', { WebSocket: FakeSocket, timeoutMs: 1000 });
  const sock = FakeSocket.last;
  assert.equal(sock.url, 'ws://127.0.0.1:1/');

  // A call and its error.
  const ok = conn.call('system_chainId');
  sock.deliver({ jsonrpc: '2.0', id: sock.lastId(), result: '0x11' });
  assert.equal(await ok, '0x11');
  const bad = conn.call('credits_getBalance', ['x']);
  sock.deliver({ jsonrpc: '2.0', id: sock.lastId(), error: { code: -32602, message: 'Invalid params', data: { reason: 'bad account' } } });
  await assert.rejects(bad, (e) => e instanceof RpcError && e.code === -32602 && e.reason === 'bad account');

  // A notification that arrives in the same turn as the subscribe answer.
  const p = conn.subscribe('chain_subscribeNewHeads');
  const id = sock.lastId();
  sock.deliver({ jsonrpc: '2.0', method: 'chain_newHead', params: { subscription: 7, result: { height: 1 } } });
  sock.deliver({ jsonrpc: '2.0', id, result: 7 }, { jsonrpc: '2.0', method: 'chain_newHead', params: { subscription: 7, result: { height: 2 } } });
  const heads = await p;
  assert.equal((await heads.next()).value.height, 1);
  assert.equal((await heads.next()).value.height, 2);
  await assert.rejects(heads.next({ timeoutMs: 20 }), TimeoutError);
  const seen = [];
  heads.on((h) => seen.push(h.height));
  sock.deliver({ jsonrpc: '2.0', method: 'chain_newHead', params: { subscription: 7, result: { height: 3 } } });
  assert.deepEqual(seen, [3]);
  assert.equal((await heads.next()).value.height, 3);
  const un = heads.unsubscribe();
  assert.deepEqual(sock.sent.at(-1).method, 'chain_unsubscribeNewHeads');
  assert.deepEqual(sock.sent.at(-1).params, [7]);
  sock.deliver({ jsonrpc: '2.0', id: sock.lastId(), result: true });
  assert.equal(await un, true);
  assert.equal((await heads.next()).done, true);

  // A watch ends after its final status, without an unsubscribe.
  const w = conn.subscribe('tx_submitAndWatch', ['0x00']);
  sock.deliver({ jsonrpc: '2.0', id: sock.lastId(), result: 8 });
  const watch = await w;
  for (const status of ['ready', 'included', 'finalized']) {
    sock.deliver({ jsonrpc: '2.0', method: 'tx_status', params: { subscription: 8, result: { status } } });
  }
  const statuses = [];
  for await (const s of watch) statuses.push(s.status);
  assert.deepEqual(statuses, ['ready', 'included', 'finalized']);
  assert.equal(sock.sent.at(-1).method, 'tx_submitAndWatch', 'no tx_unwatch after a final status');

  // The node closes a subscription with an error notification.
  const a = conn.subscribe('credits_subscribeAccount', ['watt1...']);
  sock.deliver({ jsonrpc: '2.0', id: sock.lastId(), result: 9 });
  const acct = await a;
  sock.deliver({ jsonrpc: '2.0', method: 'credits_accountChanged', params: { subscription: 9, error: { code: -32002, message: 'closed', data: { reason: 'the node is stopping' } } } });
  await assert.rejects(acct.next(), (e) => e instanceof RpcError && e.reason === 'the node is stopping');

  // A dropped connection fails pending calls and ends subscriptions.
  const s = conn.subscribe('chain_subscribeFinalizedHeads');
  sock.deliver({ jsonrpc: '2.0', id: sock.lastId(), result: 10 });
  const fin = await s;
  const pending = conn.call('system_health');
  sock.onclose({ code: 1006 });
  await assert.rejects(pending, (e) => e instanceof RpcError && /closed/.test(e.message));
  await assert.rejects(fin.next(), RpcError);
  await assert.rejects(conn.call('system_health'), /closed/);
  await tick();
});

test('a call without an answer times out', async () => {
  const conn = await WsRpc.connect('ws://127.0.0.1:1/', { WebSocket: FakeSocket, timeoutMs: 30 });
  await assert.rejects(conn.call('system_health'), TimeoutError);
  conn.close();
});
