export { syncWorkflow, syncProgressQuery } from './sync.js';
export {
  backfillWorkflow,
  backfillProgressQuery,
  pauseBackfill,
  resumeBackfill,
  cancelBackfill,
  setBackfillConcurrency,
} from './backfill.js';
export { anomalyScanWorkflow, anomalyScanProgressQuery } from './anomaly-scan.js';
export { healthScoringWorkflow, healthScoringProgressQuery } from './health-scoring.js';
export { embeddingRefreshWorkflow, embeddingRefreshProgressQuery } from './embedding-refresh.js';
export { digestWorkflow, digestProgressQuery } from './digest.js';
export { pipelineWorkflow, pipelineProgressQuery, approvePipelineNode } from './pipeline/workflow.js';
export { qualityChecksWorkflow, qualityChecksProgressQuery } from './quality-checks.js';
