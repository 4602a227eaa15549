import { BedId } from '@wardgate/shared';
import { Hono } from 'hono';
import type { CloudBroker } from '../broker/broker.ts';
import type { Db } from '../db/database.ts';
import { getGateway } from '../gateways/registry.ts';
import { gatewayConfig, publishGatewayConfig, setBedAlarmSettings } from './assignments.ts';

const error = (code: string, message: string) => ({ error: { code, message } });

/**
 * `/api/beds/:gatewayId/:bedId/alarm-settings`: a bed's alarm limit profile and overrides. A PUT
 * stores them and republishes the gateway's retained config, so the ward's alarm engine uses
 * them within moments (and after any restart).
 */
export function bedsApp(db: Db, broker: CloudBroker): Hono {
  const app = new Hono();
  app.get('/:gatewayId/:bedId/alarm-settings', async (c) => {
    const { gatewayId, bedId } = c.req.param();
    if (!(await getGateway(db, gatewayId)))
      return c.json(error('not_found', `no gateway ${gatewayId}`), 404);
    const bed = (await gatewayConfig(db, gatewayId)).beds.find((b) => b.bedId === bedId);
    return c.json({ gatewayId, bedId, settings: bed?.alarms ?? null });
  });
  app.put('/:gatewayId/:bedId/alarm-settings', async (c) => {
    const { gatewayId, bedId } = c.req.param();
    if (!BedId.safeParse(bedId).success)
      return c.json(error('invalid_parameter', `bad bed id "${bedId}"`), 400);
    if (!(await getGateway(db, gatewayId)))
      return c.json(error('not_found', `no gateway ${gatewayId}`), 404);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json(error('invalid_body', 'the body must be JSON'), 400);
    }
    try {
      const settings = await setBedAlarmSettings(db, gatewayId, bedId, body);
      await publishGatewayConfig(broker, db, gatewayId);
      return c.json({ gatewayId, bedId, settings });
    } catch (problem) {
      const issues = (problem as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
      const message = issues
        ? issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; ')
        : (problem as Error).message;
      return c.json(error('invalid_settings', message), 400);
    }
  });
  return app;
}
