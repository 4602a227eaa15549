import { Hono } from 'hono';
import { accessOf } from '../access/index.ts';
import type { Db } from '../db/database.ts';
import { apiErrors } from '../http/json-body.ts';
import type { MqttSide } from '../ingest/service.ts';
import { createEnrollment, EnrollmentError, redeemEnrollment } from './enrollment.ts';
import { getGateway } from './registry.ts';

const STATUS = { 'invalid-token': 403, 'gateway-exists': 409, 'invalid-request': 400 } as const;

/**
 * `/api/gateways`: an administrator (or a client with `system/Device.write`) creates a gateway's
 * one-time enrollment token or revokes a gateway; the gateway redeems its token at `/api/enroll`
 * (the token is its credential: no sign-in) with its public key and receives its MQTT
 * credentials.
 */
export function gatewaysApp(db: Db, mqtt: MqttSide, mqttPort: () => number): Hono {
  const app = new Hono();
  const body = async (c: { req: { json(): Promise<unknown> } }) => {
    try {
      return (await c.req.json()) as Record<string, unknown>;
    } catch {
      throw new EnrollmentError('invalid-request', 'the body must be JSON');
    }
  };
  app.onError((error, c) => {
    if (error instanceof EnrollmentError)
      return c.json({ error: { code: error.code, message: error.message } }, STATUS[error.code]);
    return apiErrors(error, c);
  });
  app.post('/gateways', async (c) => {
    const access = accessOf(c);
    access.require('Device', 'create');
    access.record('admin', 'gateways');
    const { id, ttlHours } = await body(c);
    const ttlMs = typeof ttlHours === 'number' ? ttlHours * 3_600_000 : undefined;
    return c.json(await createEnrollment(db, { gatewayId: String(id ?? ''), ttlMs }), 201);
  });
  app.post('/gateways/:id/revoke', async (c) => {
    const id = c.req.param('id');
    const access = accessOf(c);
    access.require('Device', 'update');
    access.record('admin', `gateways/${id}/revoke`);
    if (!(await getGateway(db, id)))
      return c.json({ error: { code: 'not-found', message: `no gateway ${id}` } }, 404);
    return c.json(await mqtt.revokeGateway(id));
  });
  app.post('/enroll', async (c) => {
    const { token, publicKey } = await body(c);
    const credentials = await redeemEnrollment(db, (gateway) => mqtt.addGateway(gateway), {
      token: String(token ?? ''),
      publicKey: String(publicKey ?? ''),
    });
    const host = new URL(c.req.url).hostname;
    // mqtts: when the broker listens with TLS.
    const scheme = new URL(mqtt.broker.url).protocol;
    return c.json({
      ...credentials,
      mqttUrl: `${scheme}//${host.includes(':') ? `[${host}]` : host}:${mqttPort()}`,
    });
  });
  return app;
}
