export * from './canonical-json.ts';
export * from './envelope.ts';
export * from './records.ts';
export * from './signing.ts';
export * from './status.ts';
export * from './terminology.ts';
export * from './topics.ts';
