export * from './message.ts';
export * from './mllp.ts';
export * from './pcd01.ts';
