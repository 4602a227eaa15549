export * from './message.ts';
export * from './mllp.ts';
export * from './pcd01.ts';
export * from './pcd04.ts';
