import { main } from './bootstrap.js';

main(['quality']);
