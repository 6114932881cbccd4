import { DOMAINS } from '../common/task-queues.js';
import { main } from './bootstrap.js';
import { DOMAIN_PLUGINS } from './plugins.js';

// Every domain that has landed, in one process: for a laptop, not for production.
main(DOMAINS.filter((d) => DOMAIN_PLUGINS[d] !== undefined));
