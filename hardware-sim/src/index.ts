export * from './device.ts';
export * from './faults.ts';
export * from './monitor.ts';
export * from './oximeter.ts';
export * from './physiology.ts';
export * from './pump.ts';
export * from './ventilator.ts';
export * from './ward.ts';
