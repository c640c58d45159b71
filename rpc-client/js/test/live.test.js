// Against a real `watt dev` (the binary in WATT_BIN): read, subscribe to
// new heads over WebSocket, sign a transfer from the dev key that holds
// credits, submit it with tx_submitAndWatch, watch it finalise, read its
// receipt. Without WATT_BIN this FAILS, unless WATT_JS_SKIP_LIVE=1.
// node/tests/js_client.rs runs it with the binary cargo built.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { RpcError, WattClient, bodies, devKey, ERRORS, isAccount } from '../index.js';

import { SKIP, WAIT_MS, startDev, until } from './dev.js';

test('live: read, subscribe, sign and submit a transfer against watt dev', { skip: SKIP && 'WATT_JS_SKIP_LIVE=1', timeout: 240_000 }, async (t) => {
  const bin = process.env.WATT_BIN;
  assert.ok(bin, 'WATT_BIN is not set: point it at a built `watt` binary (cargo build -p watt-node --bin watt; '
    + 'node/tests/js_client.rs sets it), or set WATT_JS_SKIP_LIVE=1 to skip the live test');
  const dev = await startDev(bin);
  const client = new WattClient(dev.url, { timeoutMs: 20_000 });
  t.after(async () => {
    await client.close();
    await dev.stop();
  });
  try {
    t.diagnostic(`watt dev at ${dev.url}`);

    // Read.
    const chainId = await client.chainId();
    assert.match(chainId, /^0x[0-9a-f]{64}$/);
    const head = await until('a finalised head', () => client.finalizedHead());
    assert.equal(head.chainId, chainId);
    assert.ok(Number.isInteger(head.height) && head.height >= 1, `height ${head.height}`);
    const coop = devKey('dev-valley-coop');
    const bal = await client.balance(coop.account);
    assert.equal(bal.account, coop.account);
    assert.match(bal.total, /^[0-9]+$/, 'Wh as a decimal string');
    const [version, health] = await client.http.batch([['system_version'], ['system_health']]);
    assert.equal(typeof version, 'string');
    assert.ok(health && !(health instanceof Error), `system_health: ${health}`);
    await assert.rejects(client.call('credits_getBalance', ['watt1notanaccount']), (e) => e instanceof RpcError && e.code === ERRORS.INVALID_PARAMS && !!e.reason);
    await assert.rejects(client.call('chain_subscribeNewHeads'), (e) => e instanceof RpcError && e.code === ERRORS.NOT_SUPPORTED);

    // Subscribe: new heads arrive over the WebSocket, in order.
    const heads = await client.subscribeNewHeads();
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const { value, done } = await heads.next({ timeoutMs: WAIT_MS });
      assert.equal(done, false);
      assert.equal(value.chainId, chainId);
      seen.push(value.height);
    }
    assert.ok(seen[1] > seen[0] && seen[2] > seen[1], `heights ${seen}`);
    assert.equal(await heads.unsubscribe(), true);
    t.diagnostic(`new heads ${seen.join(', ')}`);

    // The coop holds credits once the simulation mints them.
    const funded = await until('the coop to hold 1000 Wh', async () => {
      const a = await client.account(coop.account);
      return BigInt(a.balance) >= 1000n ? a : null;
    });
    t.diagnostic(`coop ${coop.account} holds ${funded.balance} Wh, nonce ${funded.nonce}, pendingNonce ${funded.pendingNonce}`);

    // The recipient's account, watched over the same WebSocket.
    const recipient = devKey('js-client-recipient');
    assert.ok(isAccount(recipient.account));
    const watch = await client.subscribeAccount(recipient.account);
    const first = await watch.next({ timeoutMs: WAIT_MS });
    assert.equal(first.value.balance, '0');

    // Sign and submit a transfer with tx_submitAndWatch, and watch it finalise.
    // The simulator signs for the coop too: sendTransaction takes the
    // pendingNonce and retries on a nonce race; a transfer the block left
    // out (the coop spent its credits meanwhile) is tried again.
    const amount = 500n;
    let sent;
    const statuses = [];
    for (let attempt = 1; !sent; attempt++) {
      try {
        sent = await client.sendTransaction(coop, bodies.transfer(recipient.account, amount), {
          chainId, timeoutMs: WAIT_MS, onStatus: (s) => statuses.push(s), log: (m) => t.diagnostic(m),
        });
      } catch (e) {
        if (attempt >= 3 || !e.status) throw e;
        t.diagnostic(`attempt ${attempt}: ${e.message}`);
      }
    }
    const { tx, status } = sent;
    assert.equal(status.status, 'finalized');
    assert.ok(statuses.some((s) => s.status === 'ready' && s.hash === tx.id), `statuses ${JSON.stringify(statuses)}`);
    t.diagnostic(`transfer ${tx.id} finalised at height ${status.height} (nonce ${tx.json.unsigned.nonce}, ${sent.attempts} attempt(s))`);

    // The receipt, the transaction as the node shows it, the balance.
    const receipt = await client.receipt(tx.id);
    assert.ok(receipt, 'a receipt');
    assert.equal(receipt.txHash, tx.id);
    assert.equal(receipt.location.height, status.height);
    assert.equal(receipt.location.blockHash, status.blockHash);
    const ev = receipt.events.find((e) => e.kind === 'transferred');
    assert.ok(ev, `a transferred event in ${JSON.stringify(receipt.events)}`);
    assert.equal(ev.from, coop.account);
    assert.equal(ev.to, recipient.account);
    const got = await client.getTx(tx.id);
    assert.equal(got.status, 'finalized');
    assert.deepEqual(got.tx.tx, tx.json, 'the node shows the transaction as we built it');
    assert.equal(got.tx.encoded, tx.hex);
    const after = await client.balance(recipient.account, status.height);
    assert.equal(after.total, amount.toString());

    // The account subscription saw the credits arrive.
    const changed = await until('the account notification', async () => {
      const { value } = await watch.next({ timeoutMs: WAIT_MS });
      return value.balance === amount.toString() ? value : null;
    }, WAIT_MS, 0);
    assert.equal(changed.account, recipient.account);
    await watch.unsubscribe();

    // A second watch of the same, already final, transaction gets one `finalized`.
    const again = await client.submitAndWatch(tx);
    const only = await again.next({ timeoutMs: WAIT_MS });
    assert.equal(only.value.status, 'finalized');
    assert.equal((await again.next({ timeoutMs: WAIT_MS })).done, true, 'the watch ends after the final status');

    // tx_submitBatch: the final transaction is accepted again, a forged
    // copy is refused with a reason, one verdict each, in order.
    const forged = new Uint8Array(tx.encoded);
    forged[forged.length - 1] ^= 1;
    const verdicts = await client.submitBatch([tx, forged]);
    assert.equal(verdicts.length, 2);
    assert.deepEqual(verdicts[0], { ok: true, hash: tx.id });
    assert.equal(verdicts[1].ok, false);
    assert.match(verdicts[1].reason, /signature/);
  } catch (e) {
    t.diagnostic(`watt dev output (last 40 lines):\n${dev.output.slice(-40).join('\n')}`);
    throw e;
  }
});
