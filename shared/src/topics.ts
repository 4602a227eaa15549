import { z } from 'zod';

export const TOPIC_PREFIX = 'wardgate/v1/gw';

/** Upstream streams with their own seq and ack. `status` is a retained snapshot, not a stream. */
export const Stream = z.enum(['alarms', 'readings']);
export type Stream = z.infer<typeof Stream>;
/** Alarms first: a backlog of readings must never delay an alarm. */
export const STREAMS_IN_PRIORITY: readonly Stream[] = ['alarms', 'readings'];

export const GatewayId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'lowercase letters, digits and dashes, at most 31');
export type GatewayId = z.infer<typeof GatewayId>;

export type UpChannel = Stream | 'status';
export type DownChannel = 'ack' | 'config';

export const upTopic = (gatewayId: string, channel: UpChannel) =>
  `${TOPIC_PREFIX}/${gatewayId}/up/${channel}`;
export const downTopic = (gatewayId: string, channel: DownChannel) =>
  `${TOPIC_PREFIX}/${gatewayId}/down/${channel}`;

/** Everything a gateway may publish to, and subscribe to (for broker ACLs). */
export const gatewayUpPattern = (gatewayId: string) => `${TOPIC_PREFIX}/${gatewayId}/up/+`;
export const gatewayDownPattern = (gatewayId: string) => `${TOPIC_PREFIX}/${gatewayId}/down/+`;
/** What the cloud subscribes to. */
export const ALL_UP_PATTERN = `${TOPIC_PREFIX}/+/up/+`;

export type ParsedTopic =
  | { gatewayId: string; direction: 'up'; channel: UpChannel }
  | { gatewayId: string; direction: 'down'; channel: DownChannel };

export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}/${parts[2]}` !== TOPIC_PREFIX) return null;
  const [, , , gatewayId, direction, channel] = parts;
  if (!GatewayId.safeParse(gatewayId).success) return null;
  if (
    direction === 'up' &&
    (channel === 'alarms' || channel === 'readings' || channel === 'status')
  )
    return { gatewayId, direction, channel };
  if (direction === 'down' && (channel === 'ack' || channel === 'config'))
    return { gatewayId, direction, channel };
  return null;
}

/** cloud → edge on down/ack: every record of `stream` with seq ≤ upTo is committed in the cloud. */
export const Ack = z.object({
  stream: Stream,
  upTo: z.number().int().nonnegative(),
  /** The cloud's clock when it sent the ack (epoch ms): lets the gateway see its clock skew. */
  time: z.number().int().nonnegative().optional(),
});
export type Ack = z.infer<typeof Ack>;
