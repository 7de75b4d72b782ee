// The HTML report and its file writer.

export { type FaultWindow, faultWindows, type NemesisEvent } from "./faults.js";
export { type ReportOptions, renderReport } from "./render.js";
export { type WrittenReport, writeReport } from "./write.js";
