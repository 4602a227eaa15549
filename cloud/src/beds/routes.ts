import { BedId } from '@wardgate/shared';
import { type Context, Hono } from 'hono';
import { accessOf } from '../access/index.ts';
import type { Action } from '../access/roles.ts';
import type { CloudBroker } from '../broker/broker.ts';
import type { Db } from '../db/database.ts';
import { getGateway } from '../gateways/registry.ts';
import { apiErrors } from '../http/json-body.ts';
import {
  currentAssignments,
  gatewayConfig,
  publishGatewayConfig,
  setBedAlarmSettings,
} from './assignments.ts';

const error = (code: string, message: string) => ({ error: { code, message } });

/**
 * `/api/beds/:gatewayId/:bedId/alarm-settings`: a bed's alarm limit profile and overrides. A PUT
 * stores them and republishes the gateway's retained config, so the ward's alarm engine uses
 * them within moments (and after any restart).
 */
export function bedsApp(db: Db, broker: CloudBroker): Hono {
  const app = new Hono();
  /**
   * A bed's alarm limits are part of its patient's care: a nurse of the ward, whoever reaches
   * the patient lying in it, or an organisation-wide principal with the Flag permission.
   */
  const authorize = async (c: Context, action: Action) => {
    const { gatewayId, bedId } = c.req.param() as { gatewayId: string; bedId: string };
    const access = accessOf(c);
    const op = access.record(
      action === 'read' ? 'read' : 'update',
      `beds/${gatewayId}/${bedId}/alarm-settings`,
    );
    const occupant = (await currentAssignments(db, gatewayId)).find((a) => a.bedId === bedId);
    if (occupant) access.requireWardOrPatient(gatewayId, occupant.patientId, 'Flag', action, op);
    else access.requireWardOrPatient(gatewayId, '', 'Flag', action);
  };
  app.onError((error, c) => apiErrors(error, c));
  app.get('/:gatewayId/:bedId/alarm-settings', async (c) => {
    await authorize(c, 'read');
    const { gatewayId, bedId } = c.req.param();
    if (!(await getGateway(db, gatewayId)))
      return c.json(error('not_found', `no gateway ${gatewayId}`), 404);
    const bed = (await gatewayConfig(db, gatewayId)).beds.find((b) => b.bedId === bedId);
    return c.json({ gatewayId, bedId, settings: bed?.alarms ?? null });
  });
  app.put('/:gatewayId/:bedId/alarm-settings', async (c) => {
    await authorize(c, 'update');
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
