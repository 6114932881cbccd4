/** One task queue per domain: workers of each scale out independently. */
export const TaskQueue = {
  ingestion: 'spokeflow-ingestion',
  quality: 'spokeflow-quality',
  knowledge: 'spokeflow-knowledge',
  notifications: 'spokeflow-notifications',
} as const;

export type Domain = keyof typeof TaskQueue;
export const DOMAINS = Object.keys(TaskQueue) as Domain[];
