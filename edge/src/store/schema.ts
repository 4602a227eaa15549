import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Readings waiting for (or kept after) the cloud's ack; seq is the stream's record number. */
/**
 * No secondary index: every index costs the ingest hot path about half its speed on a Pi-class
 * disk, and seq order is arrival order, so time-range reads scan a seq range.
 */
export const readings = sqliteTable('readings', {
  seq: integer('seq').primaryKey(),
  deviceId: text('device_id').notNull(),
  bedId: text('bed_id').notNull(),
  parameter: text('parameter').notNull(),
  value: real('value').notNull(),
  unit: text('unit').notNull(),
  deviceTime: integer('device_time').notNull(),
  gatewayTime: integer('gateway_time').notNull(),
  quality: text('quality').notNull(),
});

export const alarmEvents = sqliteTable(
  'alarm_events',
  {
    seq: integer('seq').primaryKey(),
    alarmId: text('alarm_id').notNull(),
    deviceId: text('device_id').notNull(),
    bedId: text('bed_id').notNull(),
    source: text('source').notNull(),
    condition: text('condition').notNull(),
    parameter: text('parameter'),
    priority: text('priority').notNull(),
    kind: text('kind').notNull(),
    transition: text('transition').notNull(),
    value: real('value'),
    limit: real('limit'),
    actor: text('actor'),
    message: text('message'),
    time: integer('time').notNull(),
  },
  (t) => [index('alarm_events_alarm').on(t.alarmId)],
);

/**
 * Per upstream stream: the last seq handed out and the highest seq the cloud acked. lastSeq lives
 * here, not in max(seq), because acked rows are pruned and a seq must never be reused.
 */
export const streams = sqliteTable('streams', {
  stream: text('stream').primaryKey(),
  lastSeq: integer('last_seq').notNull(),
  ackedUpTo: integer('acked_up_to').notNull(),
  ackedAt: integer('acked_at'),
});

/** Small documents the gateway keeps across restarts, e.g. the cloud's retained config. */
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  json: text('json').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
