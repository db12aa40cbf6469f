export {
  HistoryFormatError, validateOperation, describeInput, describeOutput,
  type KvInput, type KvOkOutput, type KvOutput, type Operation,
} from './history.js';
export {
  decodeHistoryLines, encodeHistoryEvent, encodeOperations, mergeHistories, operationsFromEvents, operationsToEvents,
  type HistoryEvent,
} from './history-codec.js';
export {
  HistoryRecorder, monotonicClock,
  type Clock, type HistoryRecorderOptions, type HistorySink, type OperationToken,
} from './recorder.js';
export { FileHistorySink, readHistoryFiles } from './history-file.js';
export { kvRegisterModel, type Model, type RegisterState, type StepResult } from './model.js';
export { checkHistory, visitedStatesMaxDefault, type CheckOptions, type CheckResult } from './checker.js';
export { describeFailure, describeOperation, type DescribeOptions } from './describe.js';
