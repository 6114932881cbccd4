import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FeatureExtractionPipeline } from '@huggingface/transformers';
import { siblingModule } from '../../runtime/package-paths.js';
import { createJobThread } from '../threads/job-thread.js';
import { EmbeddingInputError, type Embedder } from './embedder.js';
import { INPUT_ERROR, type ModelJob, type ModelReply } from './model-job.js';

export const LOCAL_MODEL = 'all-MiniLM-L6-v2';

/** What infra/local/stack.sh writes beside the model: the checksum of the weights it verified. */
interface InstalledModel {
  name: string;
  onnxSha256: string;
  packages: string;
}

function installedModel(modelsDir: string, name: string): InstalledModel {
  const file = path.join(modelsDir, name, 'spokeflow-model.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as InstalledModel;
  } catch (err) {
    throw new Error(
      `local embedding model missing (${file}): run \`bash infra/local/stack.sh up\`, which installs it (${(err as Error).message})`,
    );
  }
}

function split(reply: ModelReply): Float32Array[] {
  const n = reply.data.length / reply.dimensions;
  return Array.from({ length: n }, (_, i) => reply.data.subarray(i * reply.dimensions, (i + 1) * reply.dimensions));
}

/**
 * all-MiniLM-L6-v2 (int8 ONNX) through transformers.js, offline. On a thread of its own by
 * default, so the worker's event loop stays free for heartbeats and store I/O while it computes;
 * `thread: false` runs it on the calling thread (one-off scripts).
 */
export function createLocalEmbedder(options: { modelsDir: string; thread?: boolean }): Embedder {
  const { modelsDir } = options;
  let version: string | undefined;
  // Read on first use, so a worker without the model starts, and says what to run when asked to embed.
  const base = {
    model: LOCAL_MODEL,
    get modelVersion(): string {
      version ??= `onnx-int8-${installedModel(modelsDir, LOCAL_MODEL).onnxSha256.slice(0, 12)}`;
      return version;
    },
    dimensions: 384,
  };

  if (options.thread === false) {
    let extractor: Promise<FeatureExtractionPipeline> | undefined;
    return Object.assign(base, {
      async embed(texts: string[]): Promise<Float32Array[]> {
        if (texts.length === 0) return [];
        // Imported on first use: transformers.js and onnxruntime cost a worker that never embeds ~40 MiB.
        const { embedFlat, loadModel } = await import('./model-runtime.js');
        extractor ??= loadModel(modelsDir, LOCAL_MODEL);
        const model = await extractor;
        try {
          return split(await embedFlat(model, texts));
        } catch (err) {
          throw new EmbeddingInputError((err as Error).message);
        }
      },
      close: () => Promise.resolve(),
    });
  }

  const thread = createJobThread<ModelJob, ModelReply>(siblingModule('./model-thread', import.meta.url), 'embedding model');
  return Object.assign(base, {
    async embed(texts: string[]): Promise<Float32Array[]> {
      if (texts.length === 0) return [];
      try {
        return split(await thread.run({ modelsDir, name: LOCAL_MODEL, texts }));
      } catch (err) {
        const message = (err as Error).message;
        // Texts the model refused are the caller's to record; a failed load or a dead thread is not.
        if (message.includes(INPUT_ERROR)) throw new EmbeddingInputError(message);
        throw err;
      }
    },
    close: () => thread.close(),
  });
}
