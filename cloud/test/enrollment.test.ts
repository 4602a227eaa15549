import { generateSigningKeyPair, initCrypto } from '@wardgate/shared';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEnrollment, EnrollmentError, redeemEnrollment } from '../src/gateways/enrollment.ts';
import { addGateway, getGateway, verifyGatewayPassword } from '../src/gateways/registry.ts';
import { testDatabaseTargets } from './support/test-database.ts';

await initCrypto();

const refused = async (promise: Promise<unknown>, code: string) => {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, EnrollmentError);
    assert.is((error as EnrollmentError).code, code);
    return;
  }
  assert.unreachable(`expected ${code}`);
};

for (const target of testDatabaseTargets()) {
  test(`${target.name}: a token enrolls once, within its lifetime, for a new gateway id only`, async () => {
    const database = await target.open();
    const { db } = database;
    try {
      const register = (g: Parameters<typeof addGateway>[1]) => addGateway(db, g);
      const key = generateSigningKeyPair().publicKey;
      const t0 = 1_800_000_000_000;
      const { token } = await createEnrollment(db, { gatewayId: 'ward-b', ttlMs: 60_000, now: t0 });
      await refused(
        redeemEnrollment(db, register, { token, publicKey: 'short', now: t0 }),
        'invalid-request',
      );
      await refused(
        redeemEnrollment(db, register, { token, publicKey: key, now: t0 + 60_000 }),
        'invalid-token',
      );
      const credentials = await redeemEnrollment(db, register, {
        token,
        publicKey: key,
        now: t0 + 1000,
      });
      assert.is(credentials.gatewayId, 'ward-b');
      assert.is((await getGateway(db, 'ward-b'))?.publicKey, key);
      assert.ok((await verifyGatewayPassword(db, 'ward-b', credentials.password)).ok);
      await refused(
        redeemEnrollment(db, register, { token, publicKey: key, now: t0 + 2000 }),
        'invalid-token',
      );
      await refused(createEnrollment(db, { gatewayId: 'ward-b' }), 'gateway-exists');
      await refused(createEnrollment(db, { gatewayId: 'Ward B!' }), 'invalid-request');
    } finally {
      await database.close();
    }
  });
}

test.run();
