// Worker: builds the benchmark Observations of a range with their index rows, extracted by the
// server's own indexer (the FHIRPath of every official search parameter), off the main thread.
import { parentPort } from 'node:worker_threads';
import { indexRows } from '@wardgate/cloud/src/fhir/search/extract.ts';
import { benchObservation } from './observation-fixture.ts';

parentPort?.on(
  'message',
  ({ from, to, lastUpdated }: { from: number; to: number; lastUpdated: number }) => {
    const meta = { versionId: '1', lastUpdated: new Date(lastUpdated).toISOString() };
    const entries = [];
    for (let i = from; i < to; i++) {
      const id = `obs-${i}`;
      const resource = { ...benchObservation(i, id), meta };
      entries.push({ id, content: JSON.stringify(resource), rows: indexRows(resource) });
    }
    parentPort?.postMessage(entries);
  },
);
