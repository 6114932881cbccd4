export { syncWorkflow, syncProgressQuery } from './sync.js';
