export {
  type AssignBedInput,
  assignBed,
  type BedAssignmentRow,
  BedDirectory,
  currentAssignments,
  gatewayConfig,
  type PatientResolver,
  publishGatewayConfig,
} from './beds/assignments.ts';
export { demoPatient, type SeedResult, seedDemo } from './beds/seed-demo.ts';
export { type BrokerCounters, type CloudBroker, startBroker } from './broker/broker.ts';
export { type Database, type Db, openDatabase } from './db/database.ts';
export * as schema from './db/schema.ts';
export {
  addGateway,
  type GatewayInfo,
  GatewayRegistry,
  getGateway,
  listGateways,
  type NewGateway,
  type PasswordCheck,
  revokeGateway,
  verifyGatewayPassword,
} from './gateways/registry.ts';
export { Ingest, type IngestCounters } from './ingest/ingest.ts';
export { type MqttSide, startMqttSide } from './ingest/service.ts';
export { type Cloud, type CloudOptions, cloudApp, startCloud } from './server.ts';
