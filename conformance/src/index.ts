export * from "./harness/leaks.js";
