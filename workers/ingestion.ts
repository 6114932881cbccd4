import { main } from './bootstrap.js';

main(['ingestion']);
