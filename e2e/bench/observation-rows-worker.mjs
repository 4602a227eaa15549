// Worker entry: TypeScript through tsx (a worker does not inherit the main thread's loader).
import { register } from 'tsx/esm/api';

register();
await import('./observation-rows-worker.ts');
