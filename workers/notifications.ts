import { main } from './bootstrap.js';

main(['notifications']);
