import { main } from './bootstrap.js';

main(['knowledge']);
