export * from './errors.js';
export * from './model/index.js';
export * from './evaluate/index.js';
export * from './compile/index.js';
