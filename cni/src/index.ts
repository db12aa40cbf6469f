export { createLogger, type Logger } from './log/logger.js';
export { CniError, CniCode, type CniCodeValue } from './errors.js';
export * from './net/index.js';
export * from './nat/index.js';
