// What `import … from 'spokeflow'` offers: the plugins, the registry, config, clients and connections.
export * from './workers/plugins.js';
export { runWorkers, type BootstrapOptions } from './workers/bootstrap.js';
export * from './common/workflows.js';
export { loadConfig, sourceUrl, type SpokeflowConfig } from './runtime/config.js';
export { createClients, type Clients } from './runtime/clients.js';
export * from './runtime/temporal.js';
