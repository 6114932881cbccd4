import { parentPort, workerData } from 'node:worker_threads';
import type { FeatureExtractionPipeline } from '@huggingface/transformers';
import { embedFlat, INPUT_ERROR, LOAD_ERROR, loadModel, type ModelJob } from './model-runtime.js';

// Runs on its own thread: tokenising and the model's glue code stay off the activity's event
// loop, which keeps heartbeating and talking to the stores. Jobs are async (the model is), so this
// serves them itself rather than through serveJobs, one at a time in arrival order.
if (parentPort && (workerData as { module?: string } | undefined)?.module?.includes('model-thread')) {
  const port = parentPort;
  let model: Promise<FeatureExtractionPipeline> | undefined;
  let queue = Promise.resolve();
  port.on('message', ({ id, job }: { id: number; job: ModelJob }) => {
    queue = queue.then(async () => {
      let extractor: FeatureExtractionPipeline;
      try {
        model ??= loadModel(job.modelsDir, job.name);
        extractor = await model;
      } catch (err) {
        model = undefined; // the next job tries the load again
        port.postMessage({ id, error: `${LOAD_ERROR}${err instanceof Error ? err.message : String(err)}` });
        return;
      }
      try {
        const reply = await embedFlat(extractor, job.texts);
        port.postMessage({ id, result: reply }, [reply.data.buffer as ArrayBuffer]);
      } catch (err) {
        port.postMessage({ id, error: `${INPUT_ERROR}${err instanceof Error ? err.message : String(err)}` });
      }
    });
  });
}
